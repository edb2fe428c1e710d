import { describe, expect, it } from 'vitest';
import { isSealedBuffer, sealBuffer } from '../../../src/ops/sealedBuffers.js';
import { alignedRows } from '../../../src/streams/sources/sampleBlocks.js';

describe('sealed buffers and rows per block', () => {
  it('a buffer is sealed only once its source seals it', () => {
    const a = new ArrayBuffer(8);
    expect(isSealedBuffer(a)).toBe(false);
    sealBuffer(a);
    expect(isSealedBuffer(a)).toBe(true);
    expect(isSealedBuffer(new ArrayBuffer(8))).toBe(false);
  });

  it('rows per block: as many as fit, a multiple of alignRows when one fits, exactly alignRows up to 4× the bytes', () => {
    // 100-byte rows in 1,000 bytes: 10 fit.
    expect(alignedRows(100, 1000, 4096, 1)).toBe(10);
    expect(alignedRows(100, 1000, 4096, 1, 1)).toBe(10);
    expect(alignedRows(100, 1000, 4096, 1, 3)).toBe(9);
    expect(alignedRows(100, 1000, 4096, 1, 10)).toBe(10);
    expect(alignedRows(100, 1000, 4096, 1, 32)).toBe(32); // 3,200 bytes ≤ 4 × 1,000
    expect(alignedRows(100, 1000, 4096, 1, 41)).toBe(10); // 4,100 bytes > 4 × 1,000: not aligned
    expect(alignedRows(100, 1000, 20, 1, 32)).toBe(10); // more than maxRows
    // The bounds hold first: at least minRows, at most maxRows.
    expect(alignedRows(5000, 1000, 4096, 16)).toBe(16);
    expect(alignedRows(1, 1e6, 4096, 1)).toBe(4096);
    expect(alignedRows(1, 1e6, 4096, 1, 3000)).toBe(3000);
  });
});
