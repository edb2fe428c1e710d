/**
 * Regression targets on a large scale: with `--normalize zscore|minmax` the TARGETS are transformed
 * like the features, `y' = (y − a) / b` per target column (zscore a = mean, b = std; minmax a = min,
 * b = max − min), from the same first pass over the training file. The model learns y'; every value
 * that reaches the user is mapped back, `y = a + b · y'` (predict's values, evaluate's loss and RMSE,
 * online's loss). With `--normalize none` nothing here touches the stream.
 *
 * This lives in the CLI layer: the library's fromCsv reads the raw targets; a `map` over its Samples
 * makes new Samples with transformed copies of the targets (the originals are not mutated).
 */
import { map, take, type Observable, type OperatorFunction } from 'rxjs';
import { meanSquaredError } from '../../src/ops/loss.js';
import { fromCsv, type CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import type { Loss } from '../../src/streams/training/lossHead.js';
import type { Sample } from '../../src/streams/types.js';
import { CliError } from './args.js';
import type { Normalization } from './meta.js';

/** Per-column statistics of one pass. */
export interface ColumnStats {
  readonly mean: number[];
  readonly std: number[];
  readonly min: number[];
  readonly max: number[];
}

/** Welford's running mean and variance, with min and max, over vectors of a fixed length. */
class Accumulator {
  n = 0;
  private mean = new Float64Array(0);
  private m2 = new Float64Array(0);
  private min = new Float64Array(0);
  private max = new Float64Array(0);

  add(v: Float32Array): void {
    if (this.n === 0) {
      this.mean = new Float64Array(v.length);
      this.m2 = new Float64Array(v.length);
      this.min = new Float64Array(v.length).fill(Infinity);
      this.max = new Float64Array(v.length).fill(-Infinity);
    }
    this.n++;
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const d = x - this.mean[i];
      this.mean[i] += d / this.n;
      this.m2[i] += d * (x - this.mean[i]);
      if (x < this.min[i]) this.min[i] = x;
      if (x > this.max[i]) this.max[i] = x;
    }
  }

  stats(): ColumnStats {
    const n = this.n;
    return { mean: Array.from(this.mean), std: Array.from(this.m2, (s) => Math.sqrt(s / n)), min: Array.from(this.min), max: Array.from(this.max) };
  }
}

function accumulate(source: Observable<Sample>): Promise<{ features: ColumnStats; targets: ColumnStats; rows: number }> {
  const xs = new Accumulator();
  const ys = new Accumulator();
  return new Promise((resolve, reject) => {
    source.subscribe({
      next: ({ x, target }) => {
        xs.add(x);
        ys.add(target);
      },
      error: reject,
      complete: () => resolve({ features: xs.stats(), targets: ys.stats(), rows: xs.n }),
    });
  });
}

/**
 * Feature and target statistics of one pass over `path` (the features after `scale`, as fromCsv
 * gives them; `options.normalize` is ignored). The same figures as the library's featureStats for the
 * features, plus the targets'.
 */
export function dataStats(path: string, options: CsvSourceOptions): Promise<{ features: ColumnStats; targets: ColumnStats; rows: number }> {
  const { normalize: _ignored, ...rest } = options;
  return accumulate(fromCsv(path, rest));
}

const isUsable = (d: number): boolean => Number.isFinite(d) && d > 1e-12;

/** The target transform of `kind` from target statistics; a constant target column is an error. */
export function targetNormalization(kind: 'zscore' | 'minmax', stats: ColumnStats, targets: readonly string[], file: string): Normalization {
  const b = kind === 'zscore' ? stats.std : stats.max.map((mx, j) => mx - stats.min[j]);
  const constant = b.findIndex((d) => !isUsable(d));
  if (constant >= 0) {
    throw new CliError(
      `${file}: the target column "${targets[constant]}" is constant (every row ${stats.min[constant]}), so --normalize ${kind} cannot scale it; drop the column from --label or use --normalize none`,
    );
  }
  return { kind, a: kind === 'zscore' ? stats.mean : stats.min, b };
}

/** Samples with targets `(y − a) / b` (new Samples and target arrays); the identity when `norm` is null. */
export function normalizeTargets(norm: Normalization | null): OperatorFunction<Sample, Sample> {
  if (norm === null) return (source) => source;
  const { a, b } = norm;
  return map((s: Sample): Sample => {
    const target = new Float32Array(s.target.length);
    for (let j = 0; j < target.length; j++) target[j] = (s.target[j] - a[j]) / b[j];
    return { ...s, target };
  });
}

/** Model outputs `[m, k]` (normalized targets) back in target units: `a + b · y'`. */
export function denormalizeOutputs(norm: Normalization | null, out: Float32Array, m: number, k: number): Float64Array {
  const values = Float64Array.from(out.subarray(0, m * k));
  if (norm === null) return values;
  for (let i = 0; i < m * k; i++) values[i] = norm.a[i % k] + norm.b[i % k] * values[i];
  return values;
}

/**
 * Mean squared error on normalized outputs and targets whose REPORTED cost is in target units,
 * ½‖b ⊙ (a' − y')‖² = ½‖a − y‖², while δ^L stays the normalized a' − y' (what the model learns from).
 */
export function targetUnitsMse(norm: Normalization): Loss {
  return {
    name: 'meanSquaredError',
    compute(output, target, m, n, deltaOut) {
      const { delta } = meanSquaredError(output, target, m, n, deltaOut);
      let loss = 0;
      for (let i = 0; i < m * n; i++) {
        const d = norm.b[i % n] * delta[i];
        loss += 0.5 * d * d;
      }
      return { loss, delta };
    },
  };
}

/** Above this |mean| or std a regression target wants `--normalize zscore`. */
export const LARGE_TARGET = 1e3;
/** Above this |mean| or std a feature is on a large scale for a network with unit-scale initial weights. */
export const LARGE_FEATURE = 10;
/** Features whose standard deviations differ by more than this factor, the wider beyond 1, are on unequal scales. */
export const UNEQUAL_FEATURES = 100;

const fmt = (v: number): string => (Math.abs(v) >= 1e7 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toPrecision(4) : Number(v.toPrecision(4)).toLocaleString('en-US'));

/** What a first look at the data suggests: `--normalize zscore` for large-scale targets and for large or unequal features. */
export interface ScaleHints {
  readonly targets: string | null;
  readonly features: string | null;
}

/**
 * Hints for data trained raw, from the first `rows` rows of `path` (bad rows skipped; any failure gives
 * no hint: the training pass reports it). `targets` are the regression target names (none for
 * classification), `features` the feature names; pass only what may be hinted at.
 */
export async function scaleHints(path: string, options: CsvSourceOptions, names: { readonly targets: readonly string[]; readonly features: readonly string[] | null }, rows = 1000): Promise<ScaleHints> {
  const { normalize: _ignored, onSkip: _quiet, ...rest } = options;
  let stats: { features: ColumnStats; targets: ColumnStats };
  try {
    const result = await accumulate(fromCsv(path, { ...rest, onBadRow: 'skip', maxBadFraction: 1, allowEmpty: true }).pipe(take(rows)));
    if (result.rows === 0) return { targets: null, features: null };
    stats = result;
  } catch {
    return { targets: null, features: null };
  }
  const targets = names.targets.length === 0 ? null : largeTarget(stats.targets, names.targets);
  const features = names.features === null ? null : largeFeatures(stats.features, names.features);
  return { targets: targets === null ? null : targetHint(targets, features), features: features === null || targets !== null ? null : featureHint(features) };
}

/** The first target on a large scale, described; null when none is. */
function largeTarget(stats: ColumnStats, targets: readonly string[]): string | null {
  const j = stats.mean.findIndex((m, i) => Math.abs(m) > LARGE_TARGET || stats.std[i] > LARGE_TARGET);
  return j < 0 ? null : `the target "${targets[j]}" is on a large scale (mean ${fmt(stats.mean[j])}, std ${fmt(stats.std[j])} in the first rows)`;
}

/** Features on a large or unequal scale, described; null when they are not. */
function largeFeatures(stats: ColumnStats, features: readonly string[]): string | null {
  const size = stats.mean.map((m, i) => Math.max(Math.abs(m), stats.std[i]));
  const largest = size.reduce((best, v, i) => (v > size[best] ? i : best), 0);
  const spread = stats.std.map((d, i) => ({ d, i })).filter(({ d }) => d > 1e-12);
  const widest = spread.reduce((a, b) => (b.d > a.d ? b : a), spread[0] ?? { d: 0, i: 0 });
  const narrowest = spread.reduce((a, b) => (b.d < a.d ? b : a), spread[0] ?? { d: 0, i: 0 });
  const isLarge = size[largest] > LARGE_FEATURE;
  // NOTE: only when some feature spreads beyond the unit scale. Features already within it (pixels
  // under --scale 1/255) are learned well raw, and a nearly constant one among them (a border pixel
  // that is rarely lit) is sparse, not on another scale.
  const isUnequal = spread.length > 1 && widest.d > 1 && widest.d > UNEQUAL_FEATURES * narrowest.d;
  if (!isLarge && !isUnequal) return null;
  const describe = (i: number): string => `"${features[i]}": mean ${fmt(stats.mean[i])}, std ${fmt(stats.std[i])}`;
  const shown = isLarge ? describe(largest) : `${describe(widest.i)}; ${describe(narrowest.i)}`;
  return `the features are on ${isLarge ? 'a large scale' : 'unequal scales'} (${shown} in the first rows)`;
}

function targetHint(target: string, features: string | null): string {
  const what = features === null ? target : `${target}, and ${features.replace(/^the /, '')}`;
  return `hint: ${what}; trained raw it may not be learned — pass --normalize zscore to standardize features and targets (predictions stay in target units)`;
}

function featureHint(features: string): string {
  return `hint: ${features}; a network learns them poorly raw — pass --normalize zscore to standardize them (the statistics go in the model file; evaluate and predict apply them)`;
}
