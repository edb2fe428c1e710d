/**
 * A metric with a fading factor α, as MOA's FadingFactorClassificationPerformanceEvaluator: before each
 * observation is added, every sum of the metric is multiplied by α,
 *
 *   s ← α · s + c_t        so that        s_t = Σ_{i ≤ t} α^(t−i) · c_i
 *
 * and a ratio of sums (accuracy = hits / W, …) weights observation i by α^(t−i): an exponential memory
 * of about 1 / (1 − α) observations (α = 0.999: the last ~1,000). MOA fades each of its estimators
 * this way; here every sum of a metric fades at every observation, including per-class counts of
 * classes absent from it (MOA's per-class precision fades only when the class is predicted).
 *
 * Only additive metrics (metric.ts, `scale`) can fade; any other metric is refused with an error
 * naming it.
 */
import { isAdditive, metricOptionError, type Metric, type MetricFactory } from './metric.js';

/** Throws unless `alpha` is a fading factor: a number in (0, 1). */
export function checkFadingFactor(where: string, alpha: number): void {
  if (!(Number.isFinite(alpha) && alpha > 0 && alpha < 1)) throw metricOptionError(where, 'alpha', 'a number in (0, 1)', alpha);
}

/**
 * The metric `make()` builds, with observation i of t weighted by α^(t−i).
 *
 * @example const faded = fadingMetric(kappaMetric, 0.999); faded.update(o); faded.value();
 */
export function fadingMetric<O>(make: MetricFactory<O>, alpha: number): Metric<O> {
  checkFadingFactor('fadingMetric', alpha);
  const metric = make();
  if (!isAdditive(metric)) {
    throw metricOptionError('fadingMetric', 'make', 'a factory of additive metrics (with contribution, add and scale)', metric.name);
  }
  return {
    name: metric.name,
    update(o) {
      const c = metric.contribution(o);
      metric.scale(alpha);
      metric.add(c, 1);
    },
    value: () => metric.value(),
    // The faded sums are the inner metric's: its state is the whole state.
    snapshot: () => metric.snapshot(),
    restore: (state) => metric.restore(state),
  };
}
