/**
 * The metric interface of prequential evaluation, and the observations metrics read.
 *
 * A metric is anything with a name, `update(o)` and `value()`: that is all a user's own metric needs.
 * The built-in metrics are also *additive*: their state is a handful of sums `s = Σ_i w_i · c_i`, where
 * `c_i` is observation i's contribution (1 if correct, |y − ŷ|, …) and `w_i` its weight. That lets one
 * mechanism give every mode:
 *
 *   cumulative        w_i = 1                          update(o) = add(contribution(o), 1)
 *   sliding window    w_i = 1 for the last N, else 0   add(c, +1) on arrival, add(c, −1) when it leaves
 *   fading factor α   w_i = α^(t−i)                    scale(α), then add(c, 1)   (every s ← α·s + c)
 *
 * `contribution(o)` is computed once, when o arrives, and is all that is stored in a window. A metric
 * whose contribution depends on earlier observations (κ-temporal needs the previous truth) reads and
 * advances that *sequence state* in `contribution`, so the window reverts exactly what was added.
 * `scale` touches only the sums, never the sequence state (`scale(0)` empties the sums; windows use
 * it to rebuild their sums from the buffer and shed rounding drift).
 */

import { OptionError, showValue } from '../../../layers/options.js';

/** One scored classification: the predicted and true class indices (0-based), and optionally the predicted probabilities. */
export interface ClassObservation {
  readonly predicted: number;
  readonly truth: number;
  /** The predicted probability of each class (indexed by class); needed by log-loss only. */
  readonly probabilities?: ArrayLike<number>;
}

/** A predicted and a true class: what κ and macro-F1 store per observation. */
export interface ClassPair {
  readonly predicted: number;
  readonly truth: number;
}

/** One scored regression target: the predicted and the true value. Score several targets with one metric each. */
export interface RegressionObservation {
  readonly predicted: number;
  readonly truth: number;
}

/**
 * A metric: implement this for your own. `value()` is null while it is undefined (no observations yet,
 * or a ratio whose denominator is zero).
 *
 * @example
 * const hits = (): Metric<ClassObservation> => {
 *   let n = 0, hit = 0;
 *   return { name: 'hits', update: (o) => { n++; if (o.predicted === o.truth) hit++; }, value: () => (n === 0 ? null : hit) };
 * };
 */
export interface Metric<O> {
  readonly name: string;
  update(o: O): void;
  value(): number | null;
}

/**
 * A metric built from additive statistics (see the file comment): windows revert it, fading scales it.
 * `C` is what one observation contributes; windows store it.
 */
export interface AdditiveMetric<O, C = unknown> extends Metric<O> {
  /** What `o` adds to the sums; reads and advances any sequence state (e.g. the previous truth). */
  contribution(o: O): C;
  /** Every sum s ← s + weight · (c's share of s); weight −1 reverts an earlier add. */
  add(c: C, weight: number): void;
  /** Every sum s ← factor · s (sequence state untouched). */
  scale(factor: number): void;
}

/** Builds a fresh metric: the built-in metric functions (`accuracyMetric`, …) are factories. */
export type MetricFactory<O> = () => Metric<O>;

/** Whether `m` declares the additive methods, so window and fading wrappers can revert and scale it. */
export function isAdditive<O>(m: Metric<O>): m is AdditiveMetric<O> {
  return 'contribution' in m && typeof m.contribution === 'function' && 'add' in m && typeof m.add === 'function' && 'scale' in m && typeof m.scale === 'function';
}

/** Throws unless `k` is a class index (an integer ≥ 0); `what` names the field, e.g. `kappa: truth`. */
export function checkClass(what: string, k: number): void {
  if (!(Number.isSafeInteger(k) && k >= 0)) throw new RangeError(`${what} must be a class index (an integer ≥ 0), got ${k}`);
}

/** Throws unless the prediction and truth of `o` are class indices. */
export function checkClassObservation(name: string, o: ClassObservation): void {
  checkClass(`${name}: predicted`, o.predicted);
  checkClass(`${name}: truth`, o.truth);
}

/** Throws unless the prediction and truth of `o` are finite numbers (NaN never scores unnoticed). */
export function checkRegressionObservation(name: string, o: RegressionObservation): void {
  if (!Number.isFinite(o.predicted)) throw new RangeError(`${name}: predicted must be a finite number, got ${o.predicted}`);
  if (!Number.isFinite(o.truth)) throw new RangeError(`${name}: truth must be a finite number, got ${o.truth}`);
}

/** `a[k] += v`, growing `a` with zeros as classes appear. */
export function addAt(a: number[], k: number, v: number): void {
  while (a.length <= k) a.push(0);
  a[k] += v;
}

/** Every entry of `a` times `factor`, in place. */
export function scaleAll(a: number[], factor: number): void {
  for (let k = 0; k < a.length; k++) a[k] *= factor;
}

/** The error for a metric option that breaks its rule: `windowMetric: option "n" must be an integer ≥ 1, got 0`. */
export function metricOptionError(where: string, option: string, rule: string, value: unknown): OptionError {
  const detail = `must be ${rule}, got ${showValue(value)}`;
  return new OptionError(where, option, rule, value, detail, `${where}: option "${option}" ${detail}`);
}
