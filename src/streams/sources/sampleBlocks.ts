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
import { sealBuffer } from '../../ops/sealedBuffers.js';
import type { RowOrigin, Sample } from '../types.js';

/**
 * Rows per block: as many as fit in `bytes` at `rowBytes` each (1 to `maxRows`), made a multiple of
 * `alignRows` when one fits — or exactly `alignRows` when that takes at most 4 × `bytes` — so that
 * batches of `alignRows` rows read in file order each lie in one block.
 */
export function alignedRows(rowBytes: number, bytes: number, maxRows: number, minRows: number, alignRows = 1): number {
  const fit = Math.max(minRows, Math.min(maxRows, Math.floor(bytes / rowBytes)));
  if (alignRows <= 1) return fit;
  if (alignRows <= fit) return fit - (fit % alignRows);
  return alignRows <= maxRows && alignRows * rowBytes <= 4 * bytes ? alignRows : fit;
}

/** About this many bytes of features and targets per block. */
export const BLOCK_BYTES = 128 * 1024;

const EMPTY = new Float32Array(0);

/** Rows per block for rows of `nX` features and `nTarget` targets: 16 to 4,096, a multiple of `alignRows` where one fits (alignedRows). */
export function blockRows(nX: number, nTarget: number, alignRows = 1): number {
  return alignedRows(4 * Math.max(1, nX + nTarget), BLOCK_BYTES, 4096, 16, alignRows);
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
    /** fromCsv `alignRows`. */
    private readonly alignRows = 1,
  ) {}

  isReady(nX: number, nTarget: number): boolean {
    if (nX !== this.nX || nTarget !== this.nTarget || this.xAt + nX > this.x.length || this.targetAt + nTarget > this.target.length) {
      const rows = blockRows(nX, nTarget, this.alignRows);
      this.nX = nX;
      this.nTarget = nTarget;
      this.x = new Float32Array(rows * nX);
      this.target = new Float32Array(rows * nTarget);
      sealBuffer(this.x.buffer);
      sealBuffer(this.target.buffer);
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
