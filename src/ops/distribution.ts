/**
 * The distribution of a tensor's values in two passes over its buffer, with no copy and no sort:
 * count, min, max, mean and standard deviation, and percentiles estimated from a histogram — what a
 * dashboard plots as percentile bands over the steps (TensorBoard's "distributions").
 *
 * Pass 1 (float64 sums, shifted by the first finite value K so the variance does not cancel):
 *   n = #finite, min, max, S1 = Σ(v − K), S2 = Σ(v − K)²
 *   mean = K + S1/n,  std = √max(0, S2/n − (S1/n)²)          (population, ÷ n)
 * Pass 2: B equal bins over [min, max]; bin j = ⌊(v − min)·B/(max − min)⌋, the maximum in bin B−1.
 * Percentile p (linear interpolation between order statistics, numpy's default): rank r = p/100·(n−1);
 * in the bin holding rank r, whose c values are taken as spread evenly over it (at lo + (k+½)/c·w),
 * the estimate is lo + (r − before + ½)/c·w, clamped to [min, max]; p = 0 and 100 are min and max exactly.
 *
 * Accuracy: the estimate lies within one bin width w = (max − min)/B of the order statistics around
 * rank r: in [v₍⌊r⌋₎ − w, v₍⌈r⌉₎ + w] (test/ops/distribution.test.ts checks it against `percentilesNaive`).
 *
 * Non-finite values (NaN, ±Infinity) are counted in `nonFinite` and left out of everything else.
 * With `maxValues`, a longer tensor is summarized from an even subsample: every s-th value,
 * s = ⌈length / maxValues⌉ (the statistics are then the subsample's; its percentiles' ranks are off
 * by about 1/√maxValues of the whole for a tensor whose values are not ordered by position).
 * Layout: `x` is any flat Float32Array (weights, Σ-gradients, deltas), read only.
 */

/** TensorBoard's distribution percentiles: min, μ±1.5σ, μ±σ, μ±½σ and the median of a normal, max. */
export const TENSORBOARD_PERCENTILES: readonly number[] = [0, 6.68, 15.87, 30.85, 50, 69.15, 84.13, 93.32, 100];

/** Default histogram resolution of `distribution`. */
export const DISTRIBUTION_BINS = 1024;

export interface Distribution {
  /** Every `stride`-th value was looked at (1: all of them). */
  readonly stride: number;
  /** Finite values. */
  readonly count: number;
  /** NaN and ±Infinity values (left out of the rest). */
  readonly nonFinite: number;
  /** The statistics below are NaN when `count` is 0. */
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly std: number;
  /** One estimate per requested percentile, in the same order. */
  readonly percentiles: number[];
}

export interface DistributionOptions {
  /** Percentiles in [0, 100]; default TENSORBOARD_PERCENTILES. */
  readonly percentiles?: readonly number[];
  /** Multiply every statistic by this positive factor (e.g. 1/m to turn Σ-gradients into means). Default 1. */
  readonly scale?: number;
  /** Histogram counts, reused between calls (its length is the bin count B); default: a fresh DISTRIBUTION_BINS array. */
  readonly scratch?: Int32Array;
  /** Look at every s-th value only, s = ⌈length / maxValues⌉ (default: every value). */
  readonly maxValues?: number;
}

/**
 * The distribution of `x`'s finite values (see the file comment for the estimates and their accuracy).
 *
 * @example const d = distribution(layer.params[0].value, { scratch }); d.percentiles[4]; // ≈ median
 */
export function distribution(x: Float32Array, options: DistributionOptions = {}): Distribution {
  const ps = options.percentiles ?? TENSORBOARD_PERCENTILES;
  const scale = options.scale ?? 1;
  if (!(scale > 0 && Number.isFinite(scale))) throw new RangeError(`distribution: scale must be a positive finite number, got ${scale}`);
  for (const p of ps) if (!(p >= 0 && p <= 100)) throw new RangeError(`distribution: percentiles must be in [0, 100], got ${p}`);
  const maxValues = options.maxValues ?? Infinity;
  if (!(maxValues >= 1)) throw new RangeError(`distribution: maxValues must be at least 1, got ${maxValues}`);
  const stride = Math.max(1, Math.ceil(x.length / maxValues));
  const hist = options.scratch ?? new Int32Array(DISTRIBUTION_BINS);
  const nBins = hist.length;
  if (nBins < 1) throw new RangeError('distribution: scratch must hold at least one bin');

  // Pass 1: count, extremes and shifted sums.
  let n = 0;
  let nonFinite = 0;
  let min = Infinity;
  let max = -Infinity;
  let shift = 0;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < x.length; i += stride) {
    const v = x[i];
    if (v - v !== 0) {
      nonFinite++;
      continue;
    }
    if (n === 0) shift = v;
    n++;
    if (v < min) min = v;
    if (v > max) max = v;
    const d = v - shift;
    s1 += d;
    s2 += d * d;
  }
  if (n === 0) return { stride, count: 0, nonFinite, min: NaN, max: NaN, mean: NaN, std: NaN, percentiles: ps.map(() => NaN) };
  const mean = shift + s1 / n;
  const std = Math.sqrt(Math.max(0, s2 / n - (s1 / n) * (s1 / n)));
  const range = max - min;
  if (range === 0) return { stride, count: n, nonFinite, min: min * scale, max: max * scale, mean: mean * scale, std: std * scale, percentiles: ps.map(() => min * scale) };

  // Pass 2: the histogram.
  hist.fill(0);
  const toBin = nBins / range;
  for (let i = 0; i < x.length; i += stride) {
    const v = x[i];
    if (v - v !== 0) continue;
    const j = Math.floor((v - min) * toBin);
    hist[j < nBins ? j : nBins - 1]++;
  }

  const width = range / nBins;
  const percentiles = ps.map((p) => {
    if (p === 0) return min * scale;
    if (p === 100) return max * scale;
    const r = (p / 100) * (n - 1);
    let before = 0;
    let j = 0;
    while (j < nBins - 1 && before + hist[j] <= r) before += hist[j++];
    const c = hist[j];
    const v = min + j * width + ((r - before + 0.5) / c) * width;
    return Math.min(max, Math.max(min, v)) * scale;
  });
  return { stride, count: n, nonFinite, min: min * scale, max: max * scale, mean: mean * scale, std: std * scale, percentiles };
}

/**
 * The slow exact oracle: sort the finite values and interpolate linearly between order statistics
 * (rank p/100·(n−1)). Allocates and sorts a copy; for tests.
 *
 * @example percentilesNaive(Float32Array.of(1, 2, 3, 4), [50]); // [2.5]
 */
export function percentilesNaive(x: Float32Array, percentiles: readonly number[]): number[] {
  const sorted = Array.from(x).filter(Number.isFinite).sort((a, b) => a - b);
  const n = sorted.length;
  return percentiles.map((p) => {
    if (n === 0) return NaN;
    const r = (p / 100) * (n - 1);
    const lo = Math.floor(r);
    const hi = Math.ceil(r);
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (r - lo);
  });
}
