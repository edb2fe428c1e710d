/**
 * Several metrics, each in the modes asked for, updated together and read as one flat record.
 *
 * Keys: `<name>` for the cumulative value, `<name>_window` over the last `window` observations,
 * `<name>_fading` with the fading factor — grouped by metric, in the order given, e.g.
 * `accuracy, accuracy_window, accuracy_fading, kappa, …`. A value is null while it is undefined
 * (metric.ts). `keys` lists them up front (a CSV header); `values()` returns a new record each call.
 *
 * `snapshot()` is `{ count, metrics: { <key>: state } }`, every entry's own snapshot (metric.ts); it
 * throws a MetricStateError naming a metric that has none (a user's metric without `snapshot`, or
 * one that is not additive over a window). `restore` continues from it bit for bit.
 */
import { fadingMetric } from './fadingMetric.js';
import { metricOptionError, restoreError, MetricStateError, type Metric, type MetricFactory, type MetricState } from './metric.js';
import { windowMetric } from './windowMetric.js';

export interface MetricSetOptions<O> {
  /** The metrics, as factories: `accuracyMetric`, `kappaMetric`, … or your own. Names must differ. */
  readonly metrics: readonly MetricFactory<O>[];
  /** Report the cumulative values (default true). */
  readonly cumulative?: boolean;
  /** Also report each metric over the last `window` observations. */
  readonly window?: number;
  /** Also report each metric with this fading factor α ∈ (0, 1). */
  readonly fading?: number;
}

export interface MetricSet<O> {
  /** The record's keys, in order. */
  readonly keys: readonly string[];
  /** Observations seen so far. */
  readonly count: number;
  update(o: O): void;
  values(): Record<string, number | null>;
  /** Every metric's state (see the file comment). */
  snapshot(): MetricState;
  /** Continue from a snapshot of a set built with the same options. */
  restore(state: MetricState): void;
}

/**
 * A metric set.
 *
 * @example
 * const set = metricSet({ metrics: [accuracyMetric, kappaMetric], window: 500, fading: 0.999 });
 * set.update({ predicted: 1, truth: 1 });
 * set.values(); // { accuracy: 1, accuracy_window: 1, accuracy_fading: 1, kappa: null, … }
 */
export function metricSet<O>(options: MetricSetOptions<O>): MetricSet<O> {
  const { metrics, cumulative = true, window, fading } = options;
  if (metrics.length === 0) throw metricOptionError('metricSet', 'metrics', 'a non-empty list of metric factories', []);
  if (!cumulative && window === undefined && fading === undefined) {
    throw metricOptionError('metricSet', 'cumulative', 'true when neither window nor fading is given', cumulative);
  }
  const entries: { key: string; metric: Metric<O> }[] = [];
  const names: string[] = [];
  for (const make of metrics) {
    const first = make();
    if (names.includes(first.name)) throw metricOptionError('metricSet', 'metrics', 'metrics with distinct names', first.name);
    names.push(first.name);
    if (cumulative) entries.push({ key: first.name, metric: first });
    if (window !== undefined) entries.push({ key: `${first.name}_window`, metric: windowMetric(make, window) });
    if (fading !== undefined) entries.push({ key: `${first.name}_fading`, metric: fadingMetric(make, fading) });
  }
  let count = 0;
  return {
    keys: entries.map((e) => e.key),
    get count() {
      return count;
    },
    update(o) {
      for (const e of entries) e.metric.update(o);
      count++;
    },
    values() {
      const record: Record<string, number | null> = {};
      for (const e of entries) record[e.key] = e.metric.value();
      return record;
    },
    snapshot() {
      const metrics: Record<string, MetricState> = {};
      for (const e of entries) {
        if (e.metric.snapshot === undefined) throw new MetricStateError(e.key, 'cannot take its state: it has no snapshot() (a metric of your own needs snapshot and restore; over a window it must be additive) — a run holding it cannot be checkpointed');
        metrics[e.key] = e.metric.snapshot();
      }
      return { count, metrics };
    },
    restore(state) {
      const s = state !== null && typeof state === 'object' && !Array.isArray(state) ? (state as Readonly<Record<string, MetricState>>) : {};
      const metrics = s.metrics;
      if (typeof s.count !== 'number' || !Number.isSafeInteger(s.count) || s.count < 0) throw restoreError('metricSet', 'count must be a non-negative integer');
      if (metrics === null || typeof metrics !== 'object' || Array.isArray(metrics)) throw restoreError('metricSet', 'metrics must be a record by key');
      const record = metrics as Readonly<Record<string, MetricState>>;
      const saved = Object.keys(record);
      if (saved.join(',') !== entries.map((e) => e.key).join(',')) throw restoreError('metricSet', `the state holds ${saved.join(', ')}, this set ${entries.map((e) => e.key).join(', ')}`);
      for (const e of entries) {
        if (e.metric.restore === undefined) throw restoreError(e.key, 'it has no restore()');
        e.metric.restore(record[e.key]);
      }
      count = s.count;
    },
  };
}
