/**
 * Partitioned rows merged against a slow obvious oracle: publish --partitions N puts row i of the file in
 * partition i mod N at position ⌊i / N⌋, so merged row i must be partition (i mod N)'s row ⌊i / N⌋. At the
 * end of the data an uneven tail (not publish's layout) is an error naming the partitions' sizes.
 */
import { describe, expect, it } from 'vitest';
import { mergeRounds, type PartitionRows } from '../../../src/streams/distributed/mergeRounds.js';
import type { Sample } from '../../../src/streams/types.js';

const row = (i: number): Sample => ({
  x: new Float32Array([i]),
  target: new Float32Array([1]),
  label: 0,
  origin: { source: 'file', line: i + 2, record: i, endOffset: i + 1 },
});

/** publish's layout of rows [from, to) over n partitions, each asked for `per` rows (fewer at the end). */
const published = (from: number, to: number, n: number, per: number, atEnd: boolean): PartitionRows[] =>
  Array.from({ length: n }, (_, p) => {
    const rows: Sample[] = [];
    for (let i = from; i < to; i++) if (i % n === p && rows.length < per) rows.push(row(i));
    return { rows, isEnd: atEnd && rows.length < per };
  });

/** The oracle: row i of the merge is partition (i mod n)'s row ⌊i / n⌋, while that row exists. */
const oracle = (parts: readonly PartitionRows[]): number[] => {
  const n = parts.length;
  const total = parts.reduce((k, g) => k + g.rows.length, 0);
  const out: number[] = [];
  for (let i = 0; i < total; i++) out.push(parts[i % n].rows[Math.floor(i / n)].origin.record);
  return out;
};

describe('mergeRounds', () => {
  for (const [n, per, from, to] of [
    [2, 4, 0, 8],
    [3, 5, 30, 45],
    [3, 5, 30, 43],
    [4, 1, 0, 3],
    [1, 6, 0, 4],
  ] as const) {
    it(`interleaves ${n} partitions as the file's order (rows ${from}..${to}, ${per} asked of each)`, () => {
      const atEnd = to - from < n * per;
      const parts = published(from, to, n, per, atEnd);
      const merged = mergeRounds(parts, per, 'rows');
      expect(merged.rows.map((s) => s.origin.record)).toEqual(oracle(parts));
      expect(merged.rows.map((s) => s.origin.record)).toEqual(Array.from({ length: to - from }, (_, k) => from + k));
      expect(merged.isEnd).toBe(atEnd);
    });
  }

  it('is not at the end while every partition gave all it was asked for', () => {
    expect(mergeRounds(published(0, 6, 3, 2, false), 2, 'rows').isEnd).toBe(false);
  });

  it('an uneven end is an error naming the sizes, never a skip', () => {
    // Partition 1 holds two rows more than partition 0: a gap in the file's order.
    const parts: PartitionRows[] = [
      { rows: [row(0)], isEnd: true },
      { rows: [row(1), row(3), row(5)], isEnd: false },
    ];
    expect(() => mergeRounds(parts, 4, 'rows:{p}')).toThrow('partitions of rows:{p} end unevenly (rows 1, 3 in the last round): not the layout of deltaflow publish --partitions 2');
    // A later partition longer than an earlier one is not publish's layout either.
    const later: PartitionRows[] = [
      { rows: [row(0)], isEnd: true },
      { rows: [row(1), row(3)], isEnd: true },
    ];
    expect(() => mergeRounds(later, 4, 'rows')).toThrow(/end unevenly \(rows 1, 2 /);
    // A short partition before a full one.
    const short: PartitionRows[] = [
      { rows: [row(0)], isEnd: true },
      { rows: [row(1), row(3)], isEnd: false },
    ];
    expect(() => mergeRounds(short, 2, 'rows')).toThrow(/end unevenly \(rows 1, 2 /);
  });

  it('a full partition beside a short one ends with the data (a 3-row file, 2 asked of each)', () => {
    const parts: PartitionRows[] = [
      { rows: [row(0), row(2)], isEnd: false },
      { rows: [row(1)], isEnd: true },
    ];
    const merged = mergeRounds(parts, 2, 'rows');
    expect(merged.rows.map((s) => s.origin.record)).toEqual([0, 1, 2]);
    expect(merged.isEnd).toBe(true);
  });
});
