/** Every built-in metric with its slow reference, for the mode tests. */
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import { kappaMetric } from '../../../../src/streams/online/metrics/kappaMetric.js';
import { kappaTemporalMetric } from '../../../../src/streams/online/metrics/kappaTemporalMetric.js';
import { logLossMetric } from '../../../../src/streams/online/metrics/logLossMetric.js';
import { macroF1Metric } from '../../../../src/streams/online/metrics/macroF1Metric.js';
import { maeMetric } from '../../../../src/streams/online/metrics/maeMetric.js';
import type { ClassObservation, MetricFactory, RegressionObservation } from '../../../../src/streams/online/metrics/metric.js';
import { r2Metric } from '../../../../src/streams/online/metrics/r2Metric.js';
import { rmseMetric } from '../../../../src/streams/online/metrics/rmseMetric.js';
import { refAccuracy, refKappa, refKappaTemporal, refLogLoss, refMacroF1, refMae, refR2, refRmse, type Reference } from './reference.js';

export const CLASSIFICATION_CASES: readonly [string, MetricFactory<ClassObservation>, Reference<ClassObservation>][] = [
  ['accuracy', accuracyMetric, refAccuracy],
  ['kappa', kappaMetric, refKappa],
  ['kappa_t', kappaTemporalMetric, refKappaTemporal],
  ['f1', macroF1Metric, refMacroF1],
  ['logloss', logLossMetric, refLogLoss],
];

export const REGRESSION_CASES: readonly [string, MetricFactory<RegressionObservation>, Reference<RegressionObservation>][] = [
  ['mae', maeMetric, refMae],
  ['rmse', rmseMetric, refRmse],
  ['r2', r2Metric, refR2],
];
