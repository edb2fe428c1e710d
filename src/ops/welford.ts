/**
 * Running per-feature mean and variance (Welford 1962; the update B. P. Welford, "Note on a method for
 * calculating corrected sums of squares and products", Technometrics 4(3), 1962), in float64:
 *
 *   n ← n + 1,  d = x − mean,  mean ← mean + d / n,  m2 ← m2 + d · (x − mean)
 *   variance = m2 / n (population),  std = √variance
 *
 * and the standardization it gives, `x' = (x − mean) / std`, with std taken as 1 while it is 0
 * (a feature seen once, or constant so far). Layout: `mean` and `m2` hold one value per feature.
 */

/** Per-feature running moments: n rows seen, the means and the sums of squared deviations. */
export interface Moments {
  n: number;
  readonly mean: Float64Array;
  readonly m2: Float64Array;
}

/** Zero moments for `features` features. */
export function createMoments(features: number): Moments {
  return { n: 0, mean: new Float64Array(features), m2: new Float64Array(features) };
}

/** Add one row `x` (one value per feature) to the moments, in place. */
export function welfordUpdate(moments: Moments, x: ArrayLike<number>): void {
  const { mean, m2 } = moments;
  const n = ++moments.n;
  for (let i = 0; i < mean.length; i++) {
    const v = x[i];
    const d = v - mean[i];
    mean[i] += d / n;
    m2[i] += d * (v - mean[i]);
  }
}

/** The population standard deviation of feature i, or 1 while it is 0 (so standardizing never divides by 0). */
export function stdOf(moments: Moments, i: number): number {
  const s = moments.n === 0 ? 0 : Math.sqrt(moments.m2[i] / moments.n);
  return s > 1e-12 ? s : 1;
}

/** `out[i] = (x[i] − mean[i]) / std[i]`, computed in float64 and stored as float32; returns `out`. */
export function standardize(moments: Moments, x: ArrayLike<number>, out: Float32Array = new Float32Array(x.length)): Float32Array {
  for (let i = 0; i < out.length; i++) out[i] = (x[i] - moments.mean[i]) / stdOf(moments, i);
  return out;
}
