/**
 * The fast scanner's RowPlacer (fastCsv.ts) on the subscriber's own thread — fromCsv without a
 * parser thread: good rows are scanned into blocks of rows, and each Sample's `x` and `target` are
 * views of its block. So a row costs no array allocation of its own: two per block, of about
 * BLOCK_BYTES. A holder of rows for long keeps them in arrays of their own (training/ownedSample.ts).
 *
 *   block.x       [rows × nX]       row i at [i·nX, (i+1)·nX)
 *   block.target  [rows × nTarget]
 *
 * A bad row is scanned into the place of the next row too, and that place is simply reused.
 */
import type { RowPlacer } from './rowPlacer.js';
import type { RowOrigin, Sample } from '../types.js';

/** About this many bytes of features and targets per block. */
export const BLOCK_BYTES = 128 * 1024;

const EMPTY = new Float32Array(0);

/** Rows per block for rows of `nX` features and `nTarget` targets: 16 to 4,096. */
export function blockRows(nX: number, nTarget: number): number {
  return Math.max(16, Math.min(4096, Math.floor(BLOCK_BYTES / (4 * Math.max(1, nX + nTarget)))));
}

export class SampleBlocks implements RowPlacer {
  x: Float32Array = EMPTY;
  xAt = 0;
  target: Float32Array = EMPTY;
  targetAt = 0;
  private nX = -1;
  private nTarget = -1;

  constructor(
    private readonly source: string,
    /** Where each good row goes, as a Sample. */
    private readonly sink: (sample: Sample, record: number) => void | Promise<void>,
  ) {}

  isReady(nX: number, nTarget: number): boolean {
    if (nX !== this.nX || nTarget !== this.nTarget || this.xAt + nX > this.x.length || this.targetAt + nTarget > this.target.length) {
      const rows = blockRows(nX, nTarget);
      this.nX = nX;
      this.nTarget = nTarget;
      this.x = new Float32Array(rows * nX);
      this.target = new Float32Array(rows * nTarget);
      this.xAt = 0;
      this.targetAt = 0;
    }
    return true;
  }

  whenReady(): Promise<void> {
    return Promise.resolve();
  }

  placed(line: number, record: number, endOffset: number, label: number, id: string | null, kept: readonly string[] | null): void | Promise<void> {
    const { nX, nTarget, xAt, targetAt } = this;
    const x = this.x.subarray(xAt, xAt + nX);
    const target = this.target.subarray(targetAt, targetAt + nTarget);
    this.xAt = xAt + nX;
    this.targetAt = targetAt + nTarget;
    const origin: RowOrigin = id === null ? { source: this.source, line, record, endOffset } : { source: this.source, line, record, endOffset, id };
    return this.sink(kept === null ? { x, target, label, origin } : { x, target, label, origin, kept }, record);
  }
}
