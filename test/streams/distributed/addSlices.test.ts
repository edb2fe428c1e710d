/**
 * The coordinator's reduce against a slow obvious oracle: every gradient element is the float64 sum of
 * the slices' values in slice order, rounded to float32 once; loss and correct add in slice order; the
 * outputs land at their slices' rows. A float32 running sum would give other bits, and the test shows it.
 */
import { describe, expect, it } from 'vitest';
import { addSlices, type SliceResult } from '../../../src/streams/distributed/addSlices.js';

/** A small deterministic generator (mulberry32), so the cases are the same on every run. */
const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

const slicesOf = (seed: number, m: number, n: number, P: number, nOut: number): { results: SliceResult[]; starts: number[] } => {
  const r = rng(seed);
  const rows = Math.ceil(m / n);
  const results: SliceResult[] = [];
  const starts: number[] = [];
  for (let start = 0; start < m; start += rows) {
    const k = Math.min(rows, m - start);
    // Magnitudes spread over many binades, so the order and the rounding of the sum matter.
    const grads = Float32Array.from({ length: P }, () => (r() - 0.5) * 10 ** Math.floor(r() * 8 - 4));
    const output = Float32Array.from({ length: k * nOut }, () => r());
    results.push({ grads, lossSum: r() * 100, correct: Math.floor(r() * k), output });
    starts.push(start);
  }
  return { results, starts };
};

/** The oracle: element by element, slice by slice, in plain float64 numbers; one Math.fround. */
const oracle = (results: readonly SliceResult[], starts: readonly number[], m: number, nOut: number) => {
  const P = results[0].grads.length;
  const grads: number[] = [];
  for (let e = 0; e < P; e++) {
    let s = results[0].grads[e];
    for (let k = 1; k < results.length; k++) s = s + results[k].grads[e];
    grads.push(Math.fround(s));
  }
  let lossSum = results[0].lossSum;
  let correct = results[0].correct;
  for (let k = 1; k < results.length; k++) {
    lossSum = lossSum + results[k].lossSum;
    correct = correct + results[k].correct;
  }
  const output: number[] = new Array<number>(m * nOut).fill(Number.NaN);
  results.forEach((res, k) => {
    for (let i = 0; i < res.output.length; i++) output[starts[k] * nOut + i] = res.output[i];
  });
  return { grads, lossSum, correct, output };
};

const bitsOf = (a: ArrayLike<number>): number[] => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('addSlices', () => {
  for (const [m, n, P, nOut] of [
    [64, 2, 301, 10],
    [61, 3, 97, 4],
    [5, 5, 17, 1],
    [7, 1, 33, 2],
  ] as const) {
    it(`equals the oracle bit for bit (m ${m}, ${n} slices, P ${P}, nOut ${nOut})`, () => {
      const { results, starts } = slicesOf(m * 1000 + n, m, n, P, nOut);
      const got = addSlices(results, starts, m, nOut);
      const want = oracle(results, starts, m, nOut);
      expect(bitsOf(got.grads)).toEqual(bitsOf(want.grads));
      expect(got.lossSum).toBe(want.lossSum);
      expect(got.correct).toBe(want.correct);
      expect(Array.from(got.output)).toEqual(want.output);
    });
  }

  it('rounds once: a float32 running sum gives other bits on the same slices', () => {
    const g = (v: number[]): SliceResult => ({ grads: new Float32Array(v), lossSum: 0, correct: 0, output: new Float32Array(0) });
    // 1 + 2^-24 + 2^-24: float32 rounds each partial sum back to 1; float64 keeps 2^-23 and rounds to 1 + 2^-23.
    const results = [g([1]), g([2 ** -24]), g([2 ** -24])];
    const got = addSlices(results, [0, 0, 0], 0, 1);
    let f32 = Math.fround(1);
    for (const r of results.slice(1)) f32 = Math.fround(f32 + r.grads[0]);
    expect(got.grads[0]).toBe(1 + 2 ** -23);
    expect(f32).toBe(1);
  });

  it('keeps the slice order: the same slices in another order give other bits', () => {
    const g = (v: number): SliceResult => ({ grads: new Float32Array([v]), lossSum: 0, correct: 0, output: new Float32Array(0) });
    // In float64, (2^60 + 1) − 2^60 = 0 but (2^60 − 2^60) + 1 = 1.
    expect(addSlices([g(2 ** 60), g(1), g(-(2 ** 60))], [0, 0, 0], 0, 1).grads[0]).toBe(0);
    expect(addSlices([g(2 ** 60), g(-(2 ** 60)), g(1)], [0, 0, 0], 0, 1).grads[0]).toBe(1);
  });

  it('names a missing slice', () => {
    const { results, starts } = slicesOf(3, 8, 2, 5, 1);
    expect(() => addSlices([results[0], null], starts, 8, 1)).toThrow('addSlices: slice 1 is missing');
    expect(() => addSlices([null, results[1]], starts, 8, 1)).toThrow('addSlices: slice 0 is missing');
  });
});
