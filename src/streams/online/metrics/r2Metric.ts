/**
 * R², the coefficient of determination, weighted:
 *
 *   ȳ = Σ_i w_i y_i / W,   SS_res = Σ_i w_i (y_i − ŷ_i)²,   SS_tot = Σ_i w_i (y_i − ȳ)²
 *   R² = 1 − SS_res / SS_tot
 *
 * SS_tot comes from sums taken about a reference K, the first truth the metric saw (sequence state):
 * with d_i = y_i − K, SS_tot = Σ w d² − (Σ w d)² / W. Shifting by K keeps the subtraction from
 * cancelling away the spread of truths far from 0 (a sum of y² would), and makes it exactly 0 when
 * every truth equals K.
 *
 * Null while W = 0, and when the truths are constant — SS_tot ≤ 1e-10 · Σ w d², which covers the
 * rounding left by a window's add/revert pairs — since R² is then 0/0 (River returns 0 there and
 * scikit-learn 0 or 1; deltaflow says it is undefined).
 *
 * Sums: W, Σ w d, Σ w d², SS_res (additive, metric.ts).
 */
import { checkRegressionObservation, readMetricState, type AdditiveMetric, type RegressionObservation } from './metric.js';

/** SS_tot at or below this fraction of Σ w d² counts as constant truths. */
export const R2_CONSTANT_BELOW = 1e-10;

/** One observation's share: its truth about the reference K, that squared, and its squared error. */
export interface R2Contribution {
  readonly d: number;
  readonly d2: number;
  readonly e2: number;
}

/**
 * A fresh R² metric (a MetricFactory).
 *
 * @example const m = r2Metric(); for (const [p, y] of [[1, 1], [2, 3]]) m.update({ predicted: p, truth: y }); m.value(); // 0.5
 */
export function r2Metric(): AdditiveMetric<RegressionObservation, R2Contribution> {
  let W = 0;
  let sumD = 0;
  let sumD2 = 0;
  let ssRes = 0;
  let K: number | null = null;
  const contribution = (o: RegressionObservation): R2Contribution => {
    checkRegressionObservation('r2', o);
    if (K === null) K = o.truth;
    const d = o.truth - K;
    return { d, d2: d * d, e2: (o.truth - o.predicted) ** 2 };
  };
  const add = (c: R2Contribution, weight: number): void => {
    W += weight;
    sumD += weight * c.d;
    sumD2 += weight * c.d2;
    ssRes += weight * c.e2;
  };
  return {
    name: 'r2',
    contribution,
    add,
    scale(factor) {
      W *= factor;
      sumD *= factor;
      sumD2 *= factor;
      ssRes *= factor;
    },
    update: (o) => add(contribution(o), 1),
    // K (null before the first truth) as a list of zero or one value.
    snapshot: () => ({ W, sumD, sumD2, ssRes, K: K === null ? [] : [K] }),
    restore(state) {
      const s = readMetricState('r2', { W: 0, sumD: 0, sumD2: 0, ssRes: 0, K: [] }, state);
      ({ W, sumD, sumD2, ssRes } = s);
      K = s.K.length === 0 ? null : s.K[0];
    },
    value() {
      if (!(W > 0)) return null;
      const ssTot = sumD2 - (sumD * sumD) / W;
      if (!(ssTot > R2_CONSTANT_BELOW * sumD2)) return null;
      return 1 - Math.max(0, ssRes) / ssTot;
    },
  };
}
