/**
 * Mean absolute error, weighted: MAE = Σ_i w_i |y_i − ŷ_i| / Σ_i w_i.
 *
 * Sums: W, Σ w·|e| (additive, metric.ts). Null while W = 0.
 */
import { checkRegressionObservation, readMetricState, type AdditiveMetric, type RegressionObservation } from './metric.js';

/**
 * A fresh MAE metric (a MetricFactory).
 *
 * @example const m = maeMetric(); m.update({ predicted: 2, truth: 3 }); m.value(); // 1
 */
export function maeMetric(): AdditiveMetric<RegressionObservation, number> {
  let W = 0;
  let sum = 0;
  const contribution = (o: RegressionObservation): number => {
    checkRegressionObservation('mae', o);
    return Math.abs(o.truth - o.predicted);
  };
  const add = (absError: number, weight: number): void => {
    W += weight;
    sum += weight * absError;
  };
  return {
    name: 'mae',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      sum *= factor;
    },
    update: (o) => add(contribution(o), 1),
    value: () => (W > 0 ? sum / W : null),
    snapshot: () => ({ W, sum }),
    restore(state) {
      ({ W, sum } = readMetricState('mae', { W: 0, sum: 0 }, state));
    },
  };
}
