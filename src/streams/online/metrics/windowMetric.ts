/**
 * A metric over a sliding window: the last `n` observations only.
 *
 * Additive metrics (metric.ts) keep a ring buffer of the window's contributions: each arrival adds its
 * contribution with weight +1, and the contribution leaving the window is added again with weight −1,
 * so one update costs O(1) whatever `n`. Adding and subtracting floats leaves rounding behind, so every
 * `n` arrivals the sums are rebuilt from the buffer (`scale(0)`, then the n contributions re-added):
 * the error never grows beyond that of one window's sums, for an amortized extra O(1) per update.
 *
 * Any other metric (only `update` and `value`) falls back to recomputing: the window keeps the last
 * `n` observations and `value()` replays them, oldest first, into a fresh metric from `make` (O(n) per
 * `value()` after a change). A metric with sequence state then sees the window as if the stream began
 * at its oldest observation.
 *
 * Buffer layout: `buffer[(head + j) % n]` is the j-th oldest entry, j = 0 … count−1.
 *
 * Snapshot (additive metrics only): `{ metric, contributions, sinceRebuild }` — the inner metric's
 * sums, the window's contributions oldest first, and the arrivals since the last rebuild; restoring
 * it continues bit for bit. The recomputing fallback holds observations of any shape, so it cannot
 * be snapshotted.
 */
import { isAdditive, metricOptionError, restoreError, type Metric, type MetricFactory, type MetricState } from './metric.js';

/** Throws unless `n` is a window size: an integer ≥ 1. */
export function checkWindowSize(where: string, n: number): void {
  if (!(Number.isSafeInteger(n) && n >= 1)) throw metricOptionError(where, 'n', 'an integer ≥ 1', n);
}

/** The entries of a ring buffer, oldest first. */
function* oldestFirst<T>(buffer: readonly T[], head: number, count: number): Generator<T> {
  for (let j = 0; j < count; j++) yield buffer[(head + j) % buffer.length];
}

/**
 * The metric `make()` builds, over the last `n` observations.
 *
 * @example const last500 = windowMetric(accuracyMetric, 500); last500.update(o); last500.value();
 */
export function windowMetric<O>(make: MetricFactory<O>, n: number): Metric<O> {
  checkWindowSize('windowMetric', n);
  const metric = make();
  let head = 0;
  let count = 0;
  if (isAdditive(metric)) {
    const buffer: unknown[] = new Array<unknown>(n);
    let sinceRebuild = 0;
    return {
      name: metric.name,
      update(o) {
        const c = metric.contribution(o);
        if (count === n) {
          metric.add(buffer[head], -1);
          buffer[head] = c;
          head = (head + 1) % n;
        } else {
          buffer[(head + count) % n] = c;
          count++;
        }
        metric.add(c, 1);
        if (++sinceRebuild >= n) {
          sinceRebuild = 0;
          metric.scale(0);
          for (const old of oldestFirst(buffer, head, count)) metric.add(old, 1);
        }
      },
      value: () => metric.value(),
      snapshot: () => ({ metric: metric.snapshot(), contributions: [...oldestFirst(buffer, head, count)] as MetricState[], sinceRebuild }),
      restore(state) {
        const s = state !== null && typeof state === 'object' && !Array.isArray(state) ? (state as Readonly<Record<string, MetricState>>) : {};
        const contributions = s.contributions;
        const since = s.sinceRebuild;
        if (!Array.isArray(contributions) || contributions.length > n) throw restoreError(`${metric.name} (window ${n})`, `contributions must be a list of at most ${n}`);
        if (typeof since !== 'number' || !(Number.isSafeInteger(since) && since >= 0 && since < n)) throw restoreError(`${metric.name} (window ${n})`, `sinceRebuild must be an integer in [0, ${n})`);
        metric.restore(s.metric ?? null);
        contributions.forEach((c, j) => (buffer[j] = c));
        head = 0;
        count = contributions.length;
        sinceRebuild = since;
      },
    };
  }
  const buffer: O[] = new Array<O>(n);
  let cached: number | null = null;
  let isStale = false;
  return {
    name: metric.name,
    update(o) {
      if (count === n) {
        buffer[head] = o;
        head = (head + 1) % n;
      } else {
        buffer[(head + count) % n] = o;
        count++;
      }
      isStale = true;
    },
    value() {
      if (isStale) {
        const fresh = make();
        for (const o of oldestFirst(buffer, head, count)) fresh.update(o);
        cached = fresh.value();
        isStale = false;
      }
      return cached;
    },
  };
}
