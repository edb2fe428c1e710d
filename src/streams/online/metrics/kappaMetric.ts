/**
 * Cohen's κ: agreement between predictions and truths beyond the agreement expected by chance from
 * their class frequencies alone (Cohen 1960; MOA's BasicClassificationPerformanceEvaluator, "Kappa
 * Statistic").
 *
 *   p0 = Σ_i w_i [ŷ_i = y_i] / W                      observed agreement (the accuracy)
 *   pc = Σ_k (P_k / W) · (T_k / W)                     chance agreement, P_k = Σ_i w_i [ŷ_i = k], T_k = Σ_i w_i [y_i = k]
 *   κ  = (p0 − pc) / (1 − pc)
 *
 * Sums: W, hits, P_k, T_k (additive, metric.ts; the class arrays grow as classes appear). Null while
 * W = 0, and when pc = 1 (one class only, always predicted: κ is 0/0).
 */
import { addAt, checkClassObservation, readMetricState, refill, scaleAll, type AdditiveMetric, type ClassObservation, type ClassPair } from './metric.js';

/** Chance agreement this close to 1 leaves κ undefined (a single class, always predicted). */
export const KAPPA_UNDEFINED_BELOW = 1e-12;

/**
 * A fresh Cohen's κ metric (a MetricFactory).
 *
 * @example const m = kappaMetric(); m.update({ predicted: 0, truth: 0 }); m.update({ predicted: 1, truth: 1 }); m.value(); // 1
 */
export function kappaMetric(): AdditiveMetric<ClassObservation, ClassPair> {
  let W = 0;
  let hits = 0;
  const P: number[] = [];
  const T: number[] = [];
  const contribution = (o: ClassObservation): ClassPair => {
    checkClassObservation('kappa', o);
    return { predicted: o.predicted, truth: o.truth };
  };
  const add = (c: ClassPair, weight: number): void => {
    W += weight;
    if (c.predicted === c.truth) hits += weight;
    addAt(P, c.predicted, weight);
    addAt(T, c.truth, weight);
  };
  return {
    name: 'kappa',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      hits *= factor;
      scaleAll(P, factor);
      scaleAll(T, factor);
    },
    update: (o) => add(contribution(o), 1),
    snapshot: () => ({ W, hits, P: [...P], T: [...T] }),
    restore(state) {
      const s = readMetricState('kappa', { W: 0, hits: 0, P: [], T: [] }, state);
      ({ W, hits } = s);
      refill(P, s.P);
      refill(T, s.T);
    },
    value() {
      if (!(W > 0)) return null;
      const p0 = hits / W;
      let pc = 0;
      for (let k = 0; k < Math.min(P.length, T.length); k++) pc += (P[k] / W) * (T[k] / W);
      return 1 - pc > KAPPA_UNDEFINED_BELOW ? (p0 - pc) / (1 - pc) : null;
    },
  };
}
