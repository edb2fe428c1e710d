/**
 * Smoothing of a noisy series (per-step losses) the way TensorBoard smooths its scalars: an
 * exponential moving average, debiased so the first points are not pulled towards 0.
 *
 *   a₀ = 0;  aₜ = w·aₜ₋₁ + (1 − w)·vₜ;  sₜ = aₜ / (1 − wᵗ)            (t counts the finite values so far)
 *   equivalently sₜ = Σᵢ₌₁ᵗ wᵗ⁻ⁱ(1 − w)·vᵢ / (1 − wᵗ), a weighted mean whose weights sum to 1.
 *
 * A missing value (null) stays missing and a non-finite one is passed through as it is; neither
 * moves the average. w = 0 returns the series unchanged; w must be in [0, 1).
 * This file has no imports: the dashboard page loads the compiled file as it is.
 */

/**
 * The debiased EMA of `values` with smoothing weight `weight`.
 *
 * @example debiasedEma([1, 2, 3], 0.5); // [1, 1.6667, 2.4286]
 */
export function debiasedEma(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  if (!(weight >= 0 && weight < 1)) throw new RangeError(`debiasedEma: weight must be in [0, 1), got ${weight}`);
  const out: (number | null)[] = new Array<number | null>(values.length);
  let a = 0;
  let wPower = 1;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out[i] = v;
      continue;
    }
    a = weight * a + (1 - weight) * v;
    wPower *= weight;
    out[i] = a / (1 - wPower);
  }
  return out;
}

/**
 * The slow oracle: the weighted mean of every finite value so far, computed afresh at each point.
 *
 * @example debiasedEmaNaive([1, 2, 3], 0.5); // [1, 1.6667, 2.4286]
 */
export function debiasedEmaNaive(values: ArrayLike<number | null>, weight: number): (number | null)[] {
  const out: (number | null)[] = [];
  const seen: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) {
      out.push(v);
      continue;
    }
    seen.push(v);
    const t = seen.length;
    let sum = 0;
    let weights = 0;
    for (let k = 1; k <= t; k++) {
      const c = weight ** (t - k) * (1 - weight);
      sum += c * seen[k - 1];
      weights += c;
    }
    out.push(weight === 0 ? v : sum / weights);
  }
  return out;
}
