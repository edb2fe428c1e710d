import { describe, expect, it } from 'vitest';
import { debiasedEma, debiasedEmaNaive } from '../../src/ops/smoothing.js';
import { createRng } from '../../src/ops/random.js';

describe('debiasedEma', () => {
  it('w 0.5 on 1, 2, 3: 1, 5/3, 17/7 (worked by hand)', () => {
    const s = debiasedEma([1, 2, 3], 0.5);
    expect(s[0]).toBeCloseTo(1, 12);
    expect(s[1]).toBeCloseTo(5 / 3, 12);
    expect(s[2]).toBeCloseTo(17 / 7, 12);
  });

  it('the first point is the value itself, whatever the weight (debiased)', () => {
    expect(debiasedEma([4], 0.99)[0]).toBeCloseTo(4, 12);
  });

  it('w 0 returns the series; a constant series stays constant', () => {
    expect(debiasedEma([3, -1, 2], 0)).toEqual([3, -1, 2]);
    debiasedEma([2, 2, 2, 2], 0.9).forEach((v) => expect(v).toBeCloseTo(2, 12));
  });

  it('null stays null and NaN passes through, neither moving the average', () => {
    const s = debiasedEma([1, null, NaN, 3], 0.5);
    expect(s[1]).toBeNull();
    expect(s[2]).toBeNaN();
    expect(s[3]).toBeCloseTo(debiasedEma([1, 3], 0.5)[1] ?? NaN, 12);
  });

  it('refuses a weight outside [0, 1)', () => {
    expect(() => debiasedEma([1], 1)).toThrow('debiasedEma: weight must be in [0, 1), got 1');
  });

  it('oracle: equals the weighted mean computed afresh at every point (seeded series, several weights)', () => {
    const rng = createRng(3);
    for (const w of [0, 0.3, 0.6, 0.9, 0.99]) {
      const values = Array.from({ length: 300 }, (_, i) => (i % 17 === 5 ? null : rng.normal() + i / 100));
      const fast = debiasedEma(values, w);
      const slow = debiasedEmaNaive(values, w);
      fast.forEach((v, i) => {
        if (v === null) expect(slow[i]).toBeNull();
        else expect(Math.abs(v - (slow[i] ?? NaN))).toBeLessThan(1e-9 * Math.max(1, Math.abs(v)));
      });
    }
  });
});
