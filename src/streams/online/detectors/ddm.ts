/**
 * DDM, the Drift Detection Method of Gama, Medas, Castillo & Rodrigues, "Learning with drift
 * detection" (SBIA 2004), as MOA's `moa.classifiers.core.driftdetection.DDM` computes it.
 *
 * DDM watches a learner's error rate. After the t-th 0/1 error since the last reset:
 *
 *   p_t = (errors so far) / t          s_t = sqrt(p_t (1 − p_t) / t)
 *   (p_min, s_min) = (p_t, s_t) whenever p_t + s_t ≤ p_min + s_min   (tracked once t + 1 ≥ minInstances)
 *   warning when p_t + s_t > p_min + warningLevel · s_min            (once t + 1 ≥ minInstances)
 *   drift   when p_t + s_t > p_min + driftLevel · s_min              (once t + 1 > minInstances)
 *
 * The paper reads the levels 2 and 3 as about 95 % and 99 % confidence, under the normal approximation
 * of the binomial, which is why it waits for 30 examples. The `t + 1` is MOA's timing (its counter
 * starts at 1 and is raised before the tests), kept so detections land on the same rows as MOA's.
 * After a drift all statistics restart (MOA resets on the next input, which gives the same signals).
 *
 * NOTE: MOA updates p_t incrementally (p += (x − p) / t); deltaflow counts errors, so p_t is exact and
 * may differ from MOA's in the last bit. As in MOA, a start without a single error leaves
 * p_min + s_min = 0, so the first error after it is a drift.
 *
 * Input: 0 (right) or 1 (wrong); anything else is a DriftInputError.
 *
 * Parameters (defaults: the paper and MOA `DDM`; River's `drift.binary.DDM` has the same numbers):
 *   minInstances  30   examples before the test
 *   warningLevel  2    in (0, driftLevel]
 *   driftLevel    3    > 0 (MOA's outcontrolLevel)
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { DRIFT, STABLE, WARNING, checkBit, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface DdmOptions {
  /** Examples before the test (MOA's timing); default 30. */
  readonly minInstances?: number;
  /** Standard deviations above the minimum for a drift; default 3. */
  readonly driftLevel?: number;
  /** Standard deviations above the minimum for a warning, at most driftLevel; default 2. */
  readonly warningLevel?: number;
}

type DdmState = {
  /** Examples since the last reset. */
  t: number;
  /** Errors among them. */
  errors: number;
  pMin: number;
  sMin: number;
  /** p_min + s_min (MAX_VALUE until first set, as in MOA). */
  psMin: number;
};

function initialState(): DdmState {
  return { t: 0, errors: 0, pMin: Number.MAX_VALUE, sMin: Number.MAX_VALUE, psMin: Number.MAX_VALUE };
}

const NAME = 'ddm';

/**
 * DDM over a stream of 0/1 errors.
 *
 * @example const ddm = new Ddm(); const { warning, drift } = ddm.update(predicted === label ? 0 : 1);
 */
export class Ddm implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly minInstances: number;
  private readonly driftLevel: number;
  private readonly warningLevel: number;
  private s = initialState();

  constructor(options: DdmOptions = {}) {
    const o = detectorOptions(NAME, options);
    this.minInstances = o.int('minInstances', 30, { min: 1, max: Infinity });
    this.driftLevel = o.real('driftLevel', 3, { min: 0, max: Infinity, minOpen: true });
    this.warningLevel = o.real('warningLevel', 2, { min: 0, max: this.driftLevel, minOpen: true, maxLabel: `driftLevel = ${this.driftLevel}` });
    this.params = o.done();
  }

  update(x: number): DriftSignal {
    checkBit(NAME, x);
    const s = this.s;
    s.t++;
    s.errors += x;
    const p = s.errors / s.t;
    const sd = Math.sqrt((p * (1 - p)) / s.t);
    if (s.t + 1 < this.minInstances) return STABLE;
    if (p + sd <= s.psMin) {
      s.pMin = p;
      s.sMin = sd;
      s.psMin = p + sd;
    }
    if (s.t + 1 > this.minInstances && p + sd > s.pMin + this.driftLevel * s.sMin) {
      this.reset();
      return DRIFT;
    }
    return p + sd > s.pMin + this.warningLevel * s.sMin ? WARNING : STABLE;
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
    this.s = s;
  }
}
