/**
 * Loss heads: the cost of a batch and the output delta δ^L = ∂C/∂(layer output) per sample.
 *
 * Equations (MATH.md):
 *   (1.2) mean squared error C = ½ ‖a − y‖², δ = a − y
 *         (the σ' factor of (1.3) is applied by the activation layer below, not here)
 *   (4.2) softmax + cross-entropy C = −Σ_k y_k log p_k, p = softmax(z), δ = p − y,
 *         with log p_k = z_k − logΣexp(z) computed by log-sum-exp (max-subtracted), so logits of
 *         ±1e4 still give a finite cost and delta.
 *
 * Layout: m × n row-major (one sample per row). `loss` is the SUM over the batch of per-sample
 * costs, accumulated in float64; `delta` is per sample and NOT divided by m (the averaging step
 * divides, MATH.md 1.6). Both functions overwrite `deltaOut` (allocated when omitted).
 */
import { ShapeError } from './tensor.js';

/** Sum over the batch of per-sample costs, and δ^L per sample (m × n). */
export interface LossResult {
  readonly loss: number;
  readonly delta: Float32Array;
}

function checkLoss(where: string, x: Float32Array, target: Float32Array, m: number, n: number, deltaOut: Float32Array | undefined): void {
  if (x.length !== m * n) throw new ShapeError(where, [m, n], [x.length], 'prediction');
  if (target.length !== m * n) throw new ShapeError(where, [m, n], [target.length], 'target');
  if (deltaOut !== undefined && deltaOut.length !== m * n) throw new ShapeError(where, [m, n], [deltaOut.length], 'deltaOut');
}

/**
 * (4.2) Softmax + cross-entropy on logits z (m × n) against target rows that are probability
 * vectors (one-hot for class labels). Returns Σ_x C_x and δ = p − y. Overwrites `deltaOut`.
 *
 * @example const { loss, delta } = softmaxCrossEntropy(logits, oneHot, batch, 10);
 */
export function softmaxCrossEntropy(z: Float32Array, target: Float32Array, m: number, n: number, deltaOut?: Float32Array): LossResult {
  checkLoss('softmaxCrossEntropy', z, target, m, n, deltaOut);
  const delta = deltaOut ?? new Float32Array(m * n);
  let loss = 0;
  for (let i = 0; i < m; i++) {
    const row = i * n;
    let max = -Infinity;
    for (let k = 0; k < n; k++) if (z[row + k] > max) max = z[row + k];
    let sumExp = 0;
    for (let k = 0; k < n; k++) sumExp += Math.exp(z[row + k] - max);
    const logSumExp = max + Math.log(sumExp);
    for (let k = 0; k < n; k++) {
      const logP = z[row + k] - logSumExp;
      const y = target[row + k];
      // NOTE: skip y = 0 so a −Infinity logit does not turn 0·(−∞) into NaN.
      if (y !== 0) loss -= y * logP;
      delta[row + k] = Math.exp(logP) - y;
    }
  }
  return { loss, delta };
}

/**
 * (1.2) Mean squared error: Σ_x ½‖a^x − y^x‖² and δ = a − y (a, y are m × n). Overwrites `deltaOut`.
 *
 * @example const { loss, delta } = meanSquaredError(a, y, batch, outputs);
 */
export function meanSquaredError(a: Float32Array, target: Float32Array, m: number, n: number, deltaOut?: Float32Array): LossResult {
  checkLoss('meanSquaredError', a, target, m, n, deltaOut);
  const delta = deltaOut ?? new Float32Array(m * n);
  let loss = 0;
  for (let i = 0; i < m * n; i++) {
    const d = a[i] - target[i];
    loss += 0.5 * d * d;
    delta[i] = d;
  }
  return { loss, delta };
}
