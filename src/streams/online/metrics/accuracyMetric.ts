/**
 * Accuracy: the weighted fraction of observations whose predicted class is the true one.
 *
 *   accuracy = Σ_i w_i [ŷ_i = y_i] / Σ_i w_i
 *
 * Sums: `W = Σ w_i`, `hits = Σ w_i [ŷ_i = y_i]` (additive, metric.ts). Null while W = 0.
 */
import { checkClassObservation, readMetricState, type AdditiveMetric, type ClassObservation } from './metric.js';

/**
 * A fresh accuracy metric (a MetricFactory).
 *
 * @example const m = accuracyMetric(); m.update({ predicted: 1, truth: 1 }); m.value(); // 1
 */
export function accuracyMetric(): AdditiveMetric<ClassObservation, number> {
  let W = 0;
  let hits = 0;
  const contribution = (o: ClassObservation): number => {
    checkClassObservation('accuracy', o);
    return o.predicted === o.truth ? 1 : 0;
  };
  const add = (hit: number, weight: number): void => {
    W += weight;
    hits += weight * hit;
  };
  return {
    name: 'accuracy',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      hits *= factor;
    },
    update: (o) => add(contribution(o), 1),
    value: () => (W > 0 ? hits / W : null),
    snapshot: () => ({ W, hits }),
    restore(state) {
      ({ W, hits } = readMetricState('accuracy', { W: 0, hits: 0 }, state));
    },
  };
}
