/**
 * Where the fast scanner (fastCsv.ts) writes good rows: the parser thread's ring slots
 * (csvWorker.ts), or blocks of rows on the subscriber's thread (sampleBlocks.ts).
 */

/**
 * Where a reader has the fast scanner write each good row's numbers: the features at `x[xAt …]`,
 * the targets at `target[targetAt …]` (zeroed by the scanner first). `placed` then takes the row's facts in place
 * of the Sample; a bad row goes to the sink as usual (its partly written numbers are never read).
 * Before each record the scanner asks `isReady` (and waits on `whenReady` when it is not), then reads
 * the place's fields: they move after every outcome.
 */
export interface RowPlacer {
  readonly x: Float32Array;
  readonly xAt: number;
  readonly target: Float32Array;
  readonly targetAt: number;
  /** Whether the place for a row of `nX` features and `nTarget` targets is there now (it may open one). */
  isReady(nX: number, nTarget: number): boolean;
  /** Resolves when `isReady` may be true: the caller asks it again. */
  whenReady(): Promise<void>;
  placed(line: number, record: number, endOffset: number, label: number, id: string | null, kept: readonly string[] | null): void | Promise<void>;
}
