/**
 * Root mean squared error, weighted: RMSE = √( Σ_i w_i (y_i − ŷ_i)² / Σ_i w_i ).
 *
 * Sums: W, Σ w·e² (additive, metric.ts). Null while W = 0.
 */
import { checkRegressionObservation, readMetricState, type AdditiveMetric, type RegressionObservation } from './metric.js';

/**
 * A fresh RMSE metric (a MetricFactory).
 *
 * @example const m = rmseMetric(); m.update({ predicted: 0, truth: 3 }); m.update({ predicted: 0, truth: 4 }); m.value(); // √12.5
 */
export function rmseMetric(): AdditiveMetric<RegressionObservation, number> {
  let W = 0;
  let sum = 0;
  const contribution = (o: RegressionObservation): number => {
    checkRegressionObservation('rmse', o);
    return (o.truth - o.predicted) ** 2;
  };
  const add = (squaredError: number, weight: number): void => {
    W += weight;
    sum += weight * squaredError;
  };
  return {
    name: 'rmse',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      sum *= factor;
    },
    update: (o) => add(contribution(o), 1),
    // NOTE: max(0, …) because a window's add/revert pairs can leave −1e-17 where 0 is meant.
    value: () => (W > 0 ? Math.sqrt(Math.max(0, sum / W)) : null),
    snapshot: () => ({ W, sum }),
    restore(state) {
      ({ W, sum } = readMetricState('rmse', { W: 0, sum: 0 }, state));
    },
  };
}
