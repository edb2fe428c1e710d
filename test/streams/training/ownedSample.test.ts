/**
 * ownedSample, and the shuffle window that uses it: rows that are views of a larger buffer (as
 * fromCsv's parser thread hands them out) are held as copies of their own, with the same values;
 * rows whose arrays are whole buffers are held as they are.
 */
import { lastValueFrom, from, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ownedSample } from '../../../src/streams/training/ownedSample.js';
import { ShuffleState, shuffle } from '../../../src/streams/training/shuffle.js';
import type { Sample } from '../../../src/streams/types.js';

/** n rows of 3 features and 2 targets, all views of one buffer per field. */
function viewRows(n: number): Sample[] {
  const xs = Float32Array.from({ length: 3 * n }, (_, i) => i + 0.5);
  const ts = Float32Array.from({ length: 2 * n }, (_, i) => i % 2);
  return Array.from({ length: n }, (_, i) => ({
    x: xs.subarray(3 * i, 3 * i + 3),
    target: ts.subarray(2 * i, 2 * i + 2),
    label: 0,
    origin: { source: 'v', line: i + 2, record: i, endOffset: 0 },
  }));
}

const isWhole = (a: Float32Array): boolean => a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;

describe('ownedSample', () => {
  it('copies a view into arrays of its own, with the same values and everything else kept', () => {
    const [, s] = viewRows(3);
    const o = ownedSample({ ...s, kept: ['a'] });
    expect(o).not.toBe(s);
    expect(isWhole(o.x) && isWhole(o.target)).toBe(true);
    expect(Array.from(o.x)).toEqual([3.5, 4.5, 5.5]);
    expect(Array.from(o.target)).toEqual([0, 1]);
    expect(o.origin).toBe(s.origin);
    expect(o.kept).toEqual(['a']);
  });

  it('keeps a sample whose arrays are whole buffers as it is', () => {
    const s: Sample = { x: new Float32Array([1, 2]), target: new Float32Array([0]), label: -1, origin: { source: 's', line: 2, record: 0, endOffset: 3 } };
    expect(ownedSample(s)).toBe(s);
  });
});

describe('shuffle holds its window as owned rows', () => {
  it('the window of views holds copies, and emits the same values in the same order as with owned rows', async () => {
    const rows = viewRows(40);
    const owned = rows.map((s) => ({ ...s, x: s.x.slice(), target: s.target.slice() }));
    const state = new ShuffleState();
    let windowChecked = 0;
    const out = await lastValueFrom(
      from(rows).pipe(shuffle({ window: 8, seed: 3, state }), toArray()),
    );
    const window = state.snapshot()?.window ?? [];
    for (const s of window) if (isWhole(s.x) && isWhole(s.target)) windowChecked++;
    expect(windowChecked).toBe(window.length);
    const reference = await lastValueFrom(from(owned).pipe(shuffle({ window: 8, seed: 3 }), toArray()));
    expect(out.map((s) => [s.origin.record, Array.from(s.x)])).toEqual(reference.map((s) => [s.origin.record, Array.from(s.x)]));
    expect(out.every((s) => isWhole(s.x))).toBe(true);
  });
});
