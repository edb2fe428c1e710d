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
 *
 * Restorable state (checkpoints): a metric may also give `snapshot()` — its whole state as plain data
 * (numbers, booleans, null, arrays and records of them) — and `restore(state)`, which continues from it
 * bit for bit. Every built-in metric does, and so do the window and fading wrappers and a metric set
 * (over additive metrics); a user's metric with only `update` and `value` still works everywhere, but
 * a run holding it cannot be checkpointed (snapshotting it is an error naming it).
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

/** A metric's state as plain data (see the file comment): what `snapshot` returns and `restore` takes. */
export type MetricState = number | boolean | null | readonly MetricState[] | { readonly [key: string]: MetricState };

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
  /** Optional: the whole state as plain data, so a checkpoint can hold it. */
  snapshot?(): MetricState;
  /** Optional: continue from a `snapshot()` of a metric built by the same factory. */
  restore?(state: MetricState): void;
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
  /** The sums and the sequence state. */
  snapshot(): MetricState;
  restore(state: MetricState): void;
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

/** A metric's flat state: numbers and arrays of numbers, by field (what every built-in metric keeps). */
export type FlatMetricState = Record<string, number | number[]>;

/** A metric whose state cannot be taken, or a state that does not fit the metric it is restored into. */
export class MetricStateError extends Error {
  constructor(
    readonly metric: string,
    detail: string,
  ) {
    super(`metric ${metric}: ${detail}`);
    this.name = 'MetricStateError';
  }
}

/** `metric NAME: cannot restore state: DETAIL`. */
export function restoreError(metric: string, detail: string): MetricStateError {
  return new MetricStateError(metric, `cannot restore state: ${detail}`);
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * `state` checked against `template` (a fresh state: the same fields, numbers where it has numbers,
 * arrays of finite numbers where it has arrays) and copied; throws a MetricStateError naming the
 * first field that does not fit.
 *
 * @example const s = readMetricState('accuracy', { W: 0, hits: 0 }, state);
 */
export function readMetricState<T extends FlatMetricState>(name: string, template: T, state: MetricState): T {
  if (state === null || typeof state !== 'object' || Array.isArray(state)) throw restoreError(name, `expected a record of ${Object.keys(template).join(', ')}`);
  const record = state as Readonly<Record<string, MetricState>>;
  const out: FlatMetricState = {};
  for (const [key, like] of Object.entries(template)) {
    const v = record[key];
    if (Array.isArray(like)) {
      if (!Array.isArray(v) || !v.every(isFiniteNumber)) throw restoreError(name, `${key} must be an array of finite numbers`);
      out[key] = [...(v as number[])];
    } else {
      if (!isFiniteNumber(v)) throw restoreError(name, `${key} must be a finite number`);
      out[key] = v;
    }
  }
  const extra = Object.keys(record).find((k) => !(k in template));
  if (extra !== undefined) throw restoreError(name, `${extra} is not a field of this metric (fields: ${Object.keys(template).join(', ')})`);
  return out as T;
}

/** Replaces the contents of `target` with `from` (a metric's per-class sums keep their array). */
export function refill(target: number[], from: readonly number[]): void {
  target.length = 0;
  target.push(...from);
}
