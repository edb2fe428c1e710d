/**
 * Metrics by name, for command lines and configuration: `accuracy,kappa,kappa-t,f1,logloss` for
 * classification, `mae,rmse,r2` for regression. `kappa-t` is accepted for `kappa_t` (the metric's
 * name, and its key in a metric set).
 */
import { accuracyMetric } from './accuracyMetric.js';
import { kappaMetric } from './kappaMetric.js';
import { kappaTemporalMetric } from './kappaTemporalMetric.js';
import { logLossMetric } from './logLossMetric.js';
import { macroF1Metric } from './macroF1Metric.js';
import { maeMetric } from './maeMetric.js';
import { metricOptionError, type ClassObservation, type MetricFactory, type RegressionObservation } from './metric.js';
import { r2Metric } from './r2Metric.js';
import { rmseMetric } from './rmseMetric.js';

export const CLASSIFICATION_METRICS: Readonly<Record<string, MetricFactory<ClassObservation>>> = {
  accuracy: accuracyMetric,
  kappa: kappaMetric,
  kappa_t: kappaTemporalMetric,
  f1: macroF1Metric,
  logloss: logLossMetric,
};

export const REGRESSION_METRICS: Readonly<Record<string, MetricFactory<RegressionObservation>>> = {
  mae: maeMetric,
  rmse: rmseMetric,
  r2: r2Metric,
};

const ALIASES: Readonly<Record<string, string>> = { 'kappa-t': 'kappa_t' };

/** The canonical name of `raw` (an alias resolved); own keys only, so `constructor` is no metric. */
const canonical = (raw: string): string => (Object.hasOwn(ALIASES, raw) ? ALIASES[raw] : raw);

const listed = (table: Readonly<Record<string, unknown>>): string => Object.keys(table).join(', ');

/**
 * The metric names of a comma-separated list, canonical (`kappa-t` → `kappa_t`), each known and given once.
 *
 * @example metricNames('accuracy,kappa-t'); // ['accuracy', 'kappa_t']
 */
export function metricNames(text: string): string[] {
  const names = text.split(',').map((s) => s.trim());
  const out: string[] = [];
  for (const raw of names) {
    const name = canonical(raw);
    if (!Object.hasOwn(CLASSIFICATION_METRICS, name) && !Object.hasOwn(REGRESSION_METRICS, name)) {
      const rule = `one of: ${listed(CLASSIFICATION_METRICS)} (classification); ${listed(REGRESSION_METRICS)} (regression)`;
      throw metricOptionError('metrics', 'name', rule, raw);
    }
    if (out.includes(name)) throw metricOptionError('metrics', 'name', 'given once', raw);
    out.push(name);
  }
  return out;
}

/**
 * The classification metric factories for `names` (from metricNames); a regression metric is an error.
 *
 * @example metricSet({ metrics: classificationMetrics(metricNames('accuracy,kappa')), window: 500 });
 */
export function classificationMetrics(names: readonly string[]): MetricFactory<ClassObservation>[] {
  return names.map((raw) => {
    const name = canonical(raw);
    if (!Object.hasOwn(CLASSIFICATION_METRICS, name)) throw metricOptionError('metrics', 'name', `a classification metric (${listed(CLASSIFICATION_METRICS)})`, raw);
    return CLASSIFICATION_METRICS[name];
  });
}

/**
 * The regression metric factories for `names` (from metricNames); a classification metric is an error.
 *
 * @example metricSet({ metrics: regressionMetrics(['rmse', 'r2']), fading: 0.999 });
 */
export function regressionMetrics(names: readonly string[]): MetricFactory<RegressionObservation>[] {
  return names.map((raw) => {
    if (!Object.hasOwn(REGRESSION_METRICS, raw)) throw metricOptionError('metrics', 'name', `a regression metric (${listed(REGRESSION_METRICS)})`, raw);
    return REGRESSION_METRICS[raw];
  });
}
