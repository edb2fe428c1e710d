import { describe, expect, it } from 'vitest';
import { describeGenerator, generateRows } from '../../../../src/streams/sources/generators/generateRows.js';

describe('sea', () => {
  it('every row satisfies its concept: label 0 exactly when attrib1 + attrib2 ≤ 8, 9, 7, 9.5 (functions 1–4); attributes in [0, 10)', () => {
    const thresholds: Record<number, number> = { 1: 8, 2: 9, 3: 7, 4: 9.5 };
    const options = { rows: 20_000, driftAt: [4000, 8000, 12_000, 16_000], seed: 5 };
    const { concepts } = describeGenerator('sea', options);
    expect(concepts).toEqual([1, 2, 3, 4, 1]);
    const seen = new Set<number>();
    let wrong = 0;
    let outOfRange = 0;
    for (const row of generateRows('sea', options)) {
      const theta = thresholds[concepts[row.concept]];
      seen.add(concepts[row.concept]);
      if (row.label !== (row.x[0] + row.x[1] <= theta ? 0 : 1)) wrong++;
      if (!row.x.every((v) => v >= 0 && v < 10)) outOfRange++;
    }
    expect({ wrong, outOfRange }).toEqual({ wrong: 0, outOfRange: 0 });
    expect([...seen].sort()).toEqual([1, 2, 3, 4]);
  });

  it('--concepts 3,1: the first segment uses θ = 7, the second θ = 8', () => {
    const rows = [...generateRows('sea', { rows: 4000, driftAt: [2000], concepts: [3, 1], seed: 6 })];
    const disagree = (theta: number, part: typeof rows) => part.filter((r) => r.label !== (r.x[0] + r.x[1] <= theta ? 0 : 1)).length;
    expect(disagree(7, rows.slice(0, 2000))).toBe(0);
    expect(disagree(8, rows.slice(2000))).toBe(0);
    // And the other threshold would be wrong for some of them (the check has teeth).
    expect(disagree(8, rows.slice(0, 2000))).toBeGreaterThan(50);
  });
});
