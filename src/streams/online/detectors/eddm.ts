/**
 * EDDM, the Early Drift Detection Method of Baena-García, del Campo-Ávila, Fidalgo, Bifet, Gavaldà &
 * Morales-Bueno, "Early drift detection method" (ECML PKDD workshop on knowledge discovery from data
 * streams, 2006), as MOA's `moa.classifiers.core.driftdetection.EDDM` computes it.
 *
 * EDDM watches the DISTANCE between consecutive errors (in examples), which shrinks when a learner
 * starts to fail; the paper finds this earlier than DDM's error rate for slow, gradual change. At each
 * error (x = 1), the k-th since the last reset, t examples after it:
 *
 *   d_k = t − t_{k−1}       (t_0 = 0: the first distance counts from the reset)
 *   p'_k, s'_k = mean and (population) standard deviation of d_1 … d_k   (Welford)
 *   (p' + 2s')_max = p'_k + 2s'_k whenever it grows, once t + 1 > minInstances
 *   otherwise, with q = (p'_k + 2s'_k) / (p' + 2s')_max, once t + 1 > minInstances and k > minErrors:
 *     drift   when q < beta
 *     warning when q < alpha
 *
 * A right prediction (x = 0) only counts: it leaves the warning as it was (MOA's semantics), so a
 * warning lasts until the next error decides again. `t + 1` is MOA's timing (its counter starts at 1),
 * and "k > minErrors" means the test starts at the 31st error with the default 30: the paper's "30
 * errors before searching for drift". After a drift all statistics restart.
 *
 * Input: 0 (right) or 1 (wrong); anything else is a DriftInputError.
 *
 * Parameters (defaults: the paper and MOA `EDDM`, where they are constants; River's
 * `drift.binary.EDDM` has the same numbers):
 *   alpha         0.95   warning threshold on q, in (0, 1)
 *   beta          0.90   drift threshold on q, in (0, alpha]
 *   minErrors     30     errors before the test
 *   minInstances  30     examples before the test (MOA's FDDM_MINNUMINSTANCES)
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { DRIFT, STABLE, WARNING, checkBit, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface EddmOptions {
  /** Warning when (p' + 2s') falls below this fraction of its maximum; default 0.95. */
  readonly alpha?: number;
  /** Drift when it falls below this fraction, at most alpha; default 0.90. */
  readonly beta?: number;
  /** Errors before the test; default 30. */
  readonly minErrors?: number;
  /** Examples before the test (MOA's timing); default 30. */
  readonly minInstances?: number;
}

type EddmState = {
  /** Examples since the last reset. */
  t: number;
  /** Errors since the last reset (k). */
  errors: number;
  /** The example count t at the last error. */
  lastErrorAt: number;
  /** p'_k, the mean distance. */
  mean: number;
  /** Σ (d − p')², Welford's running sum of squares. */
  m2: number;
  /** (p' + 2s')_max; 0 until first set. */
  m2sMax: number;
  /** The warning, held between errors. */
  isWarning: boolean;
};

function initialState(): EddmState {
  return { t: 0, errors: 0, lastErrorAt: 0, mean: 0, m2: 0, m2sMax: 0, isWarning: false };
}

const NAME = 'eddm';

/**
 * EDDM over a stream of 0/1 errors.
 *
 * @example const eddm = new Eddm(); const { warning, drift } = eddm.update(isWrong ? 1 : 0);
 */
export class Eddm implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly alpha: number;
  private readonly beta: number;
  private readonly minErrors: number;
  private readonly minInstances: number;
  private s = initialState();

  constructor(options: EddmOptions = {}) {
    const o = detectorOptions(NAME, options);
    this.alpha = o.real('alpha', 0.95, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.beta = o.real('beta', 0.9, { min: 0, max: this.alpha, minOpen: true, maxLabel: `alpha = ${this.alpha}` });
    this.minErrors = o.int('minErrors', 30, { min: 0, max: Infinity });
    this.minInstances = o.int('minInstances', 30, { min: 0, max: Infinity });
    this.params = o.done();
  }

  update(x: number): DriftSignal {
    checkBit(NAME, x);
    const s = this.s;
    s.t++;
    if (x === 0) return s.isWarning ? WARNING : STABLE;
    s.isWarning = false;
    s.errors++;
    const d = s.t - s.lastErrorAt;
    s.lastErrorAt = s.t;
    const oldMean = s.mean;
    s.mean += (d - s.mean) / s.errors;
    s.m2 += (d - s.mean) * (d - oldMean);
    const m2s = s.mean + 2 * Math.sqrt(s.m2 / s.errors);
    const isTested = s.t + 1 > this.minInstances;
    if (m2s > s.m2sMax) {
      if (isTested) s.m2sMax = m2s;
      return STABLE;
    }
    const q = m2s / s.m2sMax;
    if (isTested && s.errors > this.minErrors && q < this.beta) {
      this.reset();
      return DRIFT;
    }
    s.isWarning = isTested && s.errors > this.minErrors && q < this.alpha;
    return s.isWarning ? WARNING : STABLE;
  }

  reset(): void {
    this.s = initialState();
  }

  snapshot(): DetectorSnapshot {
    return snapshotOf(NAME, this.params, this.s);
  }

  restore(snapshot: DetectorSnapshot): void {
    const s = readSnapshot(NAME, this.params, initialState(), snapshot);
    requireState(NAME, Number.isSafeInteger(s.t) && s.t >= 0, 'state.t', `must be a non-negative integer, got ${s.t}`);
    requireState(NAME, Number.isSafeInteger(s.errors) && s.errors >= 0 && s.errors <= s.t, 'state.errors', `must be an integer in [0, t = ${s.t}], got ${s.errors}`);
    requireState(NAME, Number.isSafeInteger(s.lastErrorAt) && s.lastErrorAt >= 0 && s.lastErrorAt <= s.t, 'state.lastErrorAt', `must be an integer in [0, t = ${s.t}], got ${s.lastErrorAt}`);
    this.s = s;
  }
}
