/**
 * κ-temporal: κ against the no-change classifier, which predicts that each row has the previous row's
 * true class (Žliobaitė et al. 2015, "Evaluation methods and decision theory for classification of
 * streaming data with temporal dependence"; MOA's BasicClassificationPerformanceEvaluator, "Kappa
 * Temporal Statistic"). Below 0, the learner does worse than repeating the last label.
 *
 *   p0  = Σ_i w_i [ŷ_i = y_i] / W                the learner's accuracy
 *   pnc = Σ_i w_i [y_{i−1} = y_i] / W            the no-change classifier's accuracy, y_{−1} = 0
 *   κt  = (p0 − pnc) / (1 − pnc)
 *
 * The previous truth is sequence state: `contribution` compares o.truth with the truth of the
 * observation before it *in the stream* and then remembers o.truth, so a window stores each
 * observation's no-change hit and reverts exactly that. As in MOA, the no-change prediction for the
 * very first observation is class 0.
 *
 * Sums: W, hits, noChangeHits (additive, metric.ts). Null while W = 0 and when pnc = 1 (the truth never
 * changed: κt is 0/0).
 */
import { checkClassObservation, readMetricState, type AdditiveMetric, type ClassObservation } from './metric.js';
import { KAPPA_UNDEFINED_BELOW } from './kappaMetric.js';

/** One observation's share: whether the learner, and the no-change classifier, were right. */
export interface KappaTemporalContribution {
  readonly hit: number;
  readonly noChangeHit: number;
}

/**
 * A fresh κ-temporal metric (a MetricFactory).
 *
 * @example const m = kappaTemporalMetric(); for (const o of scored) m.update(o); m.value();
 */
export function kappaTemporalMetric(): AdditiveMetric<ClassObservation, KappaTemporalContribution> {
  let W = 0;
  let hits = 0;
  let noChangeHits = 0;
  let previousTruth = 0;
  const contribution = (o: ClassObservation): KappaTemporalContribution => {
    checkClassObservation('kappa_t', o);
    const c = { hit: o.predicted === o.truth ? 1 : 0, noChangeHit: previousTruth === o.truth ? 1 : 0 };
    previousTruth = o.truth;
    return c;
  };
  const add = (c: KappaTemporalContribution, weight: number): void => {
    W += weight;
    hits += weight * c.hit;
    noChangeHits += weight * c.noChangeHit;
  };
  return {
    name: 'kappa_t',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      hits *= factor;
      noChangeHits *= factor;
    },
    update: (o) => add(contribution(o), 1),
    snapshot: () => ({ W, hits, noChangeHits, previousTruth }),
    restore(state) {
      ({ W, hits, noChangeHits, previousTruth } = readMetricState('kappa_t', { W: 0, hits: 0, noChangeHits: 0, previousTruth: 0 }, state));
    },
    value() {
      if (!(W > 0)) return null;
      const p0 = hits / W;
      const pnc = noChangeHits / W;
      return 1 - pnc > KAPPA_UNDEFINED_BELOW ? (p0 - pnc) / (1 - pnc) : null;
    },
  };
}
