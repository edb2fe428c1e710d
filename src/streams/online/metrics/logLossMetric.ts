/**
 * Log-loss (cross-entropy of the predicted distribution at the true class), weighted mean:
 *
 *   logloss = Σ_i w_i · (−ln clip(p_i[y_i])) / Σ_i w_i,   clip(p) = min(max(p, 1e-15), 1)
 *
 * The probability is clipped to [1e-15, 1] as scikit-learn and River do, so a confident wrong
 * prediction costs at most −ln(1e-15) ≈ 34.5 instead of infinity, and a probability rounded above 1
 * costs 0. The other classes' probabilities are not read (nor renormalized). An observation without
 * `probabilities`, a truth outside them, or a probability that is not a finite number is an error.
 *
 * Sums: W, Σ w·loss (additive, metric.ts). Null while W = 0.
 */
import { checkClassObservation, readMetricState, type AdditiveMetric, type ClassObservation } from './metric.js';

/** The smallest probability log-loss takes: −ln(1e-15) ≈ 34.54 is the most one observation costs. */
export const LOG_LOSS_EPSILON = 1e-15;

/**
 * A fresh log-loss metric (a MetricFactory).
 *
 * @example const m = logLossMetric(); m.update({ predicted: 1, truth: 1, probabilities: [0.2, 0.8] }); m.value(); // −ln 0.8
 */
export function logLossMetric(): AdditiveMetric<ClassObservation, number> {
  let W = 0;
  let sum = 0;
  const contribution = (o: ClassObservation): number => {
    checkClassObservation('logloss', o);
    const p = o.probabilities;
    if (p === undefined) throw new RangeError('logloss: the observation has no probabilities');
    if (o.truth >= p.length) throw new RangeError(`logloss: truth ${o.truth} has no probability (${p.length} given)`);
    const pTrue = p[o.truth];
    if (!Number.isFinite(pTrue)) throw new RangeError(`logloss: the probability of class ${o.truth} must be a finite number, got ${pTrue}`);
    return -Math.log(Math.min(Math.max(pTrue, LOG_LOSS_EPSILON), 1));
  };
  const add = (loss: number, weight: number): void => {
    W += weight;
    sum += weight * loss;
  };
  return {
    name: 'logloss',
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
      ({ W, sum } = readMetricState('logloss', { W: 0, sum: 0 }, state));
    },
  };
}
