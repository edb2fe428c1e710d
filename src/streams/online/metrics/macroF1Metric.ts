/**
 * Macro-F1: the unweighted mean over classes of each class's F1 score (River's MacroF1).
 *
 *   TP_k = Σ_i w_i [ŷ_i = k ∧ y_i = k],  P_k = Σ_i w_i [ŷ_i = k],  T_k = Σ_i w_i [y_i = k]
 *   precision_k = TP_k / P_k,  recall_k = TP_k / T_k,  F1_k = 2·precision_k·recall_k / (precision_k + recall_k)
 *                                                          = 2·TP_k / (P_k + T_k)
 *   macro-F1 = (1 / |K|) Σ_{k ∈ K} F1_k,  K = the classes with P_k > 0 or T_k > 0
 *
 * Which classes count: as River, only the classes that occur — as a truth or as a prediction — among the
 * observations counted (the window's observations in window mode; with a fading factor a class once
 * seen keeps a positive weight, so it always counts). A class never seen does not count: it neither
 * lowers nor raises the mean. A class only ever predicted (never true), or only ever true (never
 * predicted), has F1 = 0 — River's zero-division rule (precision or recall 0 when its denominator is 0)
 * gives the same. This differs from MOA, which averages over all classes of the stream header and
 * reports the F1 of the mean precision and mean recall.
 *
 * Sums: W, TP_k, P_k, T_k (additive, metric.ts). Null while W = 0.
 */
import { addAt, checkClassObservation, readMetricState, refill, scaleAll, type AdditiveMetric, type ClassObservation, type ClassPair } from './metric.js';

/**
 * A fresh macro-F1 metric (a MetricFactory).
 *
 * @example const m = macroF1Metric(); m.update({ predicted: 0, truth: 0 }); m.update({ predicted: 0, truth: 1 }); m.value(); // (2/3 + 0) / 2
 */
export function macroF1Metric(): AdditiveMetric<ClassObservation, ClassPair> {
  let W = 0;
  const TP: number[] = [];
  const P: number[] = [];
  const T: number[] = [];
  const contribution = (o: ClassObservation): ClassPair => {
    checkClassObservation('f1', o);
    return { predicted: o.predicted, truth: o.truth };
  };
  const add = (c: ClassPair, weight: number): void => {
    W += weight;
    addAt(P, c.predicted, weight);
    addAt(T, c.truth, weight);
    addAt(TP, c.truth, c.predicted === c.truth ? weight : 0);
  };
  return {
    name: 'f1',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      scaleAll(TP, factor);
      scaleAll(P, factor);
      scaleAll(T, factor);
    },
    update: (o) => add(contribution(o), 1),
    snapshot: () => ({ W, TP: [...TP], P: [...P], T: [...T] }),
    restore(state) {
      const s = readMetricState('f1', { W: 0, TP: [], P: [], T: [] }, state);
      W = s.W;
      refill(TP, s.TP);
      refill(P, s.P);
      refill(T, s.T);
    },
    value() {
      if (!(W > 0)) return null;
      let sum = 0;
      let nClasses = 0;
      for (let k = 0; k < Math.max(P.length, T.length); k++) {
        const pk = P[k] ?? 0;
        const tk = T[k] ?? 0;
        if (!(pk > 0 || tk > 0)) continue;
        nClasses++;
        sum += (2 * (TP[k] ?? 0)) / (pk + tk);
      }
      return nClasses > 0 ? sum / nClasses : null;
    },
  };
}
