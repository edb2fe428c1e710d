import { describe, expect, it } from 'vitest';
import { meanSquaredError, softmaxCrossEntropy } from '../../src/ops/loss.js';
import { createRng } from '../../src/ops/random.js';

/** Float64 reference of Σ_x −Σ_k y_k log softmax(z)_k. */
function crossEntropy64(z: Float64Array, y: Float32Array, m: number, n: number): number {
  let total = 0;
  for (let i = 0; i < m; i++) {
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, z[i * n + k]);
    let s = 0;
    for (let k = 0; k < n; k++) s += Math.exp(z[i * n + k] - max);
    const lse = max + Math.log(s);
    for (let k = 0; k < n; k++) total -= y[i * n + k] * (z[i * n + k] - lse);
  }
  return total;
}

describe('softmaxCrossEntropy (4.2)', () => {
  it('δ = p − y equals the central finite difference of the summed loss (float64)', () => {
    const rng = createRng(21);
    const m = 3;
    const n = 5;
    const z = new Float32Array(m * n);
    for (let i = 0; i < z.length; i++) z[i] = 4 * rng.next() - 2;
    const y = new Float32Array(m * n);
    // a one-hot row, a soft probability row, another one-hot row
    y[0 * n + 2] = 1;
    y.set([0.1, 0.2, 0.3, 0.4, 0], 1 * n);
    y[2 * n + 4] = 1;
    const { loss, delta } = softmaxCrossEntropy(z, y, m, n);
    const z64 = Float64Array.from(z);
    expect(loss).toBeCloseTo(crossEntropy64(z64, y, m, n), 5);
    const h = 1e-5;
    for (let i = 0; i < z.length; i++) {
      const zp = z64.slice();
      const zm = z64.slice();
      zp[i] += h;
      zm[i] -= h;
      const numeric = (crossEntropy64(zp, y, m, n) - crossEntropy64(zm, y, m, n)) / (2 * h);
      expect(Math.abs(delta[i] - numeric), `index ${i}: analytic ${delta[i]}, numeric ${numeric}`).toBeLessThan(1e-5);
    }
  });

  it('gives a finite loss and δ for logits of ±1e4', () => {
    const z = Float32Array.from([1e4, -1e4, 0, -1e4, 1e4, 0]);
    const y = Float32Array.from([0, 1, 0, 0, 1, 0]);
    const { loss, delta } = softmaxCrossEntropy(z, y, 2, 3);
    // row 0: the target logit is 2e4 below the max, so its cost is 2e4; row 1 is right, cost ≈ 0
    expect(loss).toBeCloseTo(2e4, 6);
    for (const d of delta) expect(Number.isFinite(d)).toBe(true);
    expect(Array.from(delta)).toEqual([1, -1, 0, 0, 0, 0]);
  });

  it('the loss is the sum over the batch and δ is not divided by m', () => {
    const z = Float32Array.from([0, 0, 0, 0]);
    const y = Float32Array.from([1, 0, 0, 1]);
    const { loss, delta } = softmaxCrossEntropy(z, y, 2, 2);
    expect(loss).toBeCloseTo(2 * Math.log(2), 12);
    expect(Array.from(delta)).toEqual([-0.5, 0.5, 0.5, -0.5]);
  });

  it('throws a ShapeError naming the target when its length is wrong', () => {
    expect(() => softmaxCrossEntropy(new Float32Array(6), new Float32Array(5), 2, 3)).toThrow(
      'softmaxCrossEntropy: expected shape [2, 3], got [5] (target)',
    );
  });
});

describe('meanSquaredError (1.2)', () => {
  it('δ = a − y and loss = Σ ½(a − y)² over the batch, written into deltaOut', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const y = Float32Array.from([0, 2, 5, 3.5]);
    const deltaOut = new Float32Array(4).fill(7);
    const { loss, delta } = meanSquaredError(a, y, 2, 2, deltaOut);
    expect(delta).toBe(deltaOut);
    expect(Array.from(delta)).toEqual([1, 0, -2, 0.5]);
    expect(loss).toBeCloseTo(0.5 * (1 + 0 + 4 + 0.25), 12);
  });
});
