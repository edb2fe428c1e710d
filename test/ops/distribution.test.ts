import { describe, expect, it } from 'vitest';
import { distribution, percentilesNaive, TENSORBOARD_PERCENTILES } from '../../src/ops/distribution.js';
import { createRng } from '../../src/ops/random.js';

/** The order statistics around rank p/100·(n−1) of the sorted finite values. */
function around(x: Float32Array, p: number): [number, number] {
  const sorted = Array.from(x).filter(Number.isFinite).sort((a, b) => a - b);
  const r = (p / 100) * (sorted.length - 1);
  return [sorted[Math.floor(r)], sorted[Math.ceil(r)]];
}

describe('distribution', () => {
  it('1..5 with 4 bins: exact count, min, max, mean, population std; median in bin 2', () => {
    const d = distribution(Float32Array.of(5, 1, 4, 2, 3), { percentiles: [0, 50, 100], scratch: new Int32Array(4) });
    expect(d).toMatchObject({ stride: 1, count: 5, nonFinite: 0, min: 1, max: 5, mean: 3 });
    expect(d.std).toBeCloseTo(Math.sqrt(2), 12);
    // bins of width 1 over [1, 5]: {1}, {2}, {3}, {4, 5}; rank 2 is the only value of bin 2 → 3 + ½.
    expect(d.percentiles).toEqual([1, 3.5, 5]);
  });

  it('leaves NaN and ±Infinity out and counts them', () => {
    const d = distribution(Float32Array.of(NaN, 2, Infinity, 4, -Infinity), { percentiles: [0, 100] });
    expect(d).toMatchObject({ count: 2, nonFinite: 3, min: 2, max: 4, mean: 3, std: 1, percentiles: [2, 4] });
  });

  it('all values equal: every percentile is that value, std 0', () => {
    expect(distribution(new Float32Array(7).fill(-0.25))).toMatchObject({ min: -0.25, max: -0.25, std: 0, percentiles: TENSORBOARD_PERCENTILES.map(() => -0.25) });
  });

  it('no finite value: NaN statistics, count 0', () => {
    const d = distribution(Float32Array.of(NaN), { percentiles: [50] });
    expect(d.count).toBe(0);
    expect(d.nonFinite).toBe(1);
    expect([d.min, d.mean, d.percentiles[0]].every(Number.isNaN)).toBe(true);
  });

  it('scale multiplies every statistic (Σ-gradients ÷ m)', () => {
    const x = Float32Array.of(-3, 1, 6, 2, 10);
    const plain = distribution(x);
    const scaled = distribution(x, { scale: 0.25 });
    expect(scaled.mean).toBeCloseTo(plain.mean * 0.25, 12);
    expect(scaled.std).toBeCloseTo(plain.std * 0.25, 12);
    scaled.percentiles.forEach((v, i) => expect(v).toBeCloseTo(plain.percentiles[i] * 0.25, 12));
  });

  it('refuses a bad scale or percentile, naming it', () => {
    expect(() => distribution(Float32Array.of(1), { scale: 0 })).toThrow('distribution: scale must be a positive finite number, got 0');
    expect(() => distribution(Float32Array.of(1), { percentiles: [101] })).toThrow('distribution: percentiles must be in [0, 100], got 101');
  });

  it('oracle: each estimate lies within one bin width of its order statistics (seeded random tensors, several shapes of distribution)', () => {
    const rng = createRng(7);
    const ps = [...TENSORBOARD_PERCENTILES, 1, 25, 75, 99];
    const makers: Record<string, (n: number) => Float32Array> = {
      uniform: (n) => Float32Array.from({ length: n }, () => rng.next() * 2 - 1),
      normal: (n) => Float32Array.from({ length: n }, () => rng.normal()),
      heavyTail: (n) => Float32Array.from({ length: n }, () => rng.normal() ** 3 * 100),
      sparse: (n) => Float32Array.from({ length: n }, () => (rng.next() < 0.9 ? 0 : rng.normal())),
    };
    for (const [name, make] of Object.entries(makers)) {
      for (const [n, bins] of [[1, 16], [2, 16], [37, 8], [1000, 64], [20000, 1024]]) {
        const x = make(n);
        const d = distribution(x, { percentiles: ps, scratch: new Int32Array(bins) });
        const exact = percentilesNaive(x, ps);
        const w = (d.max - d.min) / bins;
        ps.forEach((p, i) => {
          const [lo, hi] = around(x, p);
          const ok = d.percentiles[i] >= lo - w - 1e-9 && d.percentiles[i] <= hi + w + 1e-9;
          if (!ok) throw new Error(`${name} n=${n} B=${bins} p=${p}: estimate ${d.percentiles[i]}, exact ${exact[i]}, order statistics [${lo}, ${hi}], bin width ${w}`);
        });
        expect(d.count).toBe(n);
      }
    }
  });

  it('maxValues: a long tensor is summarized from every s-th value, exactly as that subsample would be', () => {
    const rng = createRng(11);
    const x = Float32Array.from({ length: 10_001 }, () => rng.normal());
    x[3000] = NaN;
    const sub = distribution(x, { maxValues: 1000 });
    // s = ⌈10001 / 1000⌉ = 11: x[0], x[11], …, x[9999] — 910 values, x[3000] not among them.
    const every11 = x.filter((_, i) => i % 11 === 0);
    expect(sub).toEqual({ ...distribution(every11), stride: 11 });
    expect(sub.count).toBe(910);
    expect(distribution(x, { maxValues: 20_000 }).stride).toBe(1);
    expect(() => distribution(x, { maxValues: 0 })).toThrow('distribution: maxValues must be at least 1, got 0');
  });

  it('the naive oracle interpolates between order statistics: 1,2,3,4 → median 2.5, p25 1.75', () => {
    expect(percentilesNaive(Float32Array.of(4, 3, 2, 1), [0, 25, 50, 100])).toEqual([1, 1.75, 2.5, 4]);
  });
});
