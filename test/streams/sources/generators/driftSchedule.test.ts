import { describe, expect, it } from 'vitest';
import { conceptIndexAt, driftProbability } from '../../../../src/streams/sources/generators/driftSchedule.js';
import { generateRows } from '../../../../src/streams/sources/generators/generateRows.js';
import { expectPoissonBinomial } from './bounds.js';

/** MOA's ConceptDriftStream probability, written out for the band checks. */
const sigmoid = (t: number, p: number, w: number): number => 1 / (1 + Math.exp(-4 * (t - p) / w));

describe('driftProbability', () => {
  it('is MOA\'s sigmoid 1 / (1 + e^(−4(t − p)/W)): ½ at p, 1/(1 + e²) half a width before', () => {
    expect(driftProbability(1000, 1000, 200)).toBe(0.5);
    expect(driftProbability(900, 1000, 200)).toBeCloseTo(1 / (1 + Math.exp(2)), 15);
    expect(driftProbability(1100, 1000, 200)).toBeCloseTo(1 / (1 + Math.exp(-2)), 15);
    expect(driftProbability(0, 1e6, 10)).toBe(0);
  });

  it('is a step at p when abrupt (W = 0): row p is the first of the new concept', () => {
    expect([998, 999, 1000, 1001].map((t) => driftProbability(t, 1000, 0))).toEqual([0, 0, 1, 1]);
  });
});

describe('conceptIndexAt', () => {
  it('counts the drift points whose probability exceeds u', () => {
    expect(conceptIndexAt(50, 0.99, [100, 200], 0)).toBe(0);
    expect(conceptIndexAt(150, 0.99, [100, 200], 0)).toBe(1);
    expect(conceptIndexAt(200, 0, [100, 200], 0)).toBe(2);
    // Gradual: at the centre of the second change P_1 ≈ 1, P_2 = ½.
    expect(conceptIndexAt(200, 0.49, [100, 200], 20)).toBe(2);
    expect(conceptIndexAt(200, 0.51, [100, 200], 20)).toBe(1);
  });
});

describe('drift in a generated stream', () => {
  it('abrupt: rows before the drift point are concept 0, from it concept 1, exactly', () => {
    const concepts = [...generateRows('sea', { rows: 3000, driftAt: [1000, 2000], seed: 15 })].map((r) => r.concept);
    expect(concepts.slice(0, 1000).every((c) => c === 0)).toBe(true);
    expect(concepts.slice(1000, 2000).every((c) => c === 1)).toBe(true);
    expect(concepts.slice(2000).every((c) => c === 2)).toBe(true);
  });

  it('gradual (W = 1000 at 5000): the share of new-concept rows in each band of 250 rows follows the sigmoid (binomial bounds)', () => {
    const rows = [...generateRows('sea', { rows: 10_000, driftAt: [5000], width: 1000, seed: 16 })];
    for (let start = 3000; start < 7000; start += 250) {
      const band = rows.slice(start, start + 250);
      const ps = band.map((_, i) => sigmoid(start + i, 5000, 1000));
      expectPoissonBinomial(band.filter((r) => r.concept === 1).length, ps, `rows ${start}–${start + 249}`);
    }
    // Far from the change the stream is (almost surely) pure.
    expect(rows.slice(0, 1000).every((r) => r.concept === 0)).toBe(true);
    expect(rows.slice(9000).every((r) => r.concept === 1)).toBe(true);
  });

  it('two overlapping gradual changes: Pr(concept ≥ k) = P_k(t) for each, and every row satisfies the concept it came from', () => {
    const options = { rows: 4000, driftAt: [1800, 2200], width: 600, seed: 17 };
    const rows = [...generateRows('sea', options)];
    for (let start = 1400; start < 2600; start += 200) {
      const band = rows.slice(start, start + 200);
      for (const k of [1, 2]) {
        const ps = band.map((_, i) => sigmoid(start + i, options.driftAt[k - 1], 600));
        expectPoissonBinomial(band.filter((r) => r.concept >= k).length, ps, `concept ≥ ${k}, rows ${start}–${start + 199}`);
      }
    }
    const thresholds = [8, 9, 7];
    expect(rows.filter((r) => r.label !== (r.x[0] + r.x[1] <= thresholds[r.concept] ? 0 : 1))).toEqual([]);
  });
});
