import { describe, expect, it } from 'vitest';
import { activations, softmaxRows } from '../../src/ops/activations.js';
import { createRng } from '../../src/ops/random.js';

const f32 = (xs: number[]): Float32Array => Float32Array.from(xs);

describe('activations.sigma', () => {
  it('relu zeroes negatives, keeps positives, and propagates NaN', () => {
    const out = activations.relu.sigma(f32([-2, -0.5, 0, 0.5, 3, NaN]), new Float32Array(6));
    expect(Array.from(out)).toEqual([0, 0, 0, 0.5, 3, NaN]);
  });

  it('sigmoid is stable for |z| up to 1e30 and exact at 0', () => {
    const out = activations.sigmoid.sigma(f32([-1e30, -100, 0, 100, 1e30]), new Float32Array(5));
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(0, 30);
    expect(out[1]).toBeGreaterThanOrEqual(0);
    expect(out[2]).toBe(0.5);
    expect(out[3]).toBe(1);
    expect(out[4]).toBe(1);
    for (const v of out) expect(Number.isFinite(v)).toBe(true);
  });

  it('sigmoid matches 1/(1+e^−z) on moderate inputs', () => {
    const z = f32([-5, -1, -0.25, 0.25, 1, 5]);
    const out = activations.sigmoid.sigma(z, new Float32Array(6));
    z.forEach((v, i) => expect(out[i]).toBeCloseTo(1 / (1 + Math.exp(-v)), 6));
  });

  it('tanh matches Math.tanh and may run in place', () => {
    const z = f32([-3, -0.5, 0, 0.5, 3]);
    const want = Array.from(z, (v) => Math.fround(Math.tanh(v)));
    activations.tanh.sigma(z, z);
    expect(Array.from(z)).toEqual(want);
  });
});

describe('activations.sigmaPrimeTimes (4.1), derivative from the output a', () => {
  for (const name of ['relu', 'sigmoid', 'tanh'] as const) {
    it(`${name}: δa ⊙ σ'(z) equals the central finite difference of δa·σ(z)`, () => {
      const rng = createRng(3);
      const n = 50;
      const z = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        z[i] = 6 * rng.next() - 3;
        // keep relu's kink away from the finite-difference step
        if (name === 'relu' && Math.abs(z[i]) < 0.01) z[i] = 0.5;
      }
      const deltaA = new Float32Array(n);
      for (let i = 0; i < n; i++) deltaA[i] = 2 * rng.next() - 1;
      const act = activations[name];
      const a = act.sigma(z, new Float32Array(n));
      const got = act.sigmaPrimeTimes(deltaA, a, new Float32Array(n));
      const h = 1e-3;
      const fn: Record<typeof name, (x: number) => number> = {
        relu: (x) => Math.max(0, x),
        sigmoid: (x) => 1 / (1 + Math.exp(-x)),
        tanh: Math.tanh,
      };
      for (let i = 0; i < n; i++) {
        const numeric = (deltaA[i] * (fn[name](z[i] + h) - fn[name](z[i] - h))) / (2 * h);
        expect(Math.abs(got[i] - numeric), `index ${i}: analytic ${got[i]}, numeric ${numeric}`).toBeLessThan(1e-5);
      }
    });
  }

  it('relu passes δ where a > 0 and blocks it where a = 0, in place over δ', () => {
    const deltaA = f32([1, 2, 3, 4]);
    activations.relu.sigmaPrimeTimes(deltaA, f32([0, 0.5, 0, 2]), deltaA);
    expect(Array.from(deltaA)).toEqual([0, 2, 0, 4]);
  });
});

describe('softmaxRows (4.2)', () => {
  it('rows sum to 1 and match exp(z)/Σexp(z) for a hand example', () => {
    const p = softmaxRows(f32([0, Math.log(3), 1, 1]), 2, 2);
    expect(p[0]).toBeCloseTo(0.25, 6);
    expect(p[1]).toBeCloseTo(0.75, 6);
    expect(p[2]).toBeCloseTo(0.5, 6);
    expect(p[3]).toBeCloseTo(0.5, 6);
  });

  it('is finite for logits of ±1e4 thanks to max subtraction', () => {
    const p = softmaxRows(f32([1e4, -1e4, 1e4 - 1]), 1, 3);
    for (const v of p) expect(Number.isFinite(v)).toBe(true);
    expect(p[0] + p[1] + p[2]).toBeCloseTo(1, 6);
    expect(p[0] / p[2]).toBeCloseTo(Math.E, 4);
  });

  it('throws a ShapeError when z does not have m·n elements', () => {
    expect(() => softmaxRows(new Float32Array(5), 2, 3)).toThrow('softmaxRows: expected shape [2, 3], got [5] (z)');
  });
});
