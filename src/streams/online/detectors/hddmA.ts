/**
 * HDDM-A, the A-test of Frías-Blanco, del Campo-Ávila, Ramos-Jiménez, Morales-Bueno, Ortiz-Díaz &
 * Caballero-Mota, "Online and non-parametric drift detection methods based on Hoeffding's bounds"
 * (IEEE TKDE 27(3), 2015), as MOA's `moa.classifiers.core.driftdetection.HDDM_A_Test` and River's
 * `drift.binary.HDDM_A` compute it.
 *
 * HDDM-A compares the mean of all values since the last reset, Z̄_t (t values, sum C_t), with the
 * mean of the prefix up to a cut point, X̄_cut (cut values, sum C_cut). The cut is the prefix whose
 * Hoeffding upper bound is lowest so far:
 *
 *   ε(n) = sqrt(ln(1/δ_D) / (2n))
 *   cut ← t  whenever  C_cut/cut + ε(cut) ≥ C_t/t + ε(t)          (the first value sets it)
 *
 * and the one-sided test for an increase of the mean, at confidence δ, is
 *
 *   m = (t − cut) / (cut · t)                                       (= 1/cut − 1/t)
 *   increase when  Z̄_t − X̄_cut ≥ sqrt(m/2 · ln(2/δ))               (never when cut = t)
 *
 * drift at δ = driftConfidence, else warning at δ = warningConfidence. With `twoSided`, a second cut
 * tracks the highest lower bound (cut ← t whenever C_cut/cut − ε(cut) ≤ C_t/t − ε(t)) and a decrease
 * of the mean signals too, as River's `two_sided_test` does. After a drift all statistics restart
 * (MOA in the same update, River on the next; the signals are the same).
 *
 * NOTE: the bound is ln(2/δ) in the test and ln(1/δ) for the cut point, exactly as both MOA and River
 * write it.
 *
 * Input: values in [0, 1] (the 0/1 error, or a loss scaled to [0, 1]); Hoeffding's inequality needs
 * the range, so anything else is a DriftInputError.
 *
 * Parameters (defaults: MOA `HDDM_A_Test`, River `HDDM_A`):
 *   driftConfidence    0.001   δ_D, in (0, 1)
 *   warningConfidence  0.005   δ_W, in [driftConfidence, 1)
 *   twoSided           false   also signal decreases (MOA's typeOfTest "Two-sided", River's two_sided_test)
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { DRIFT, STABLE, WARNING, checkUnit, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface HddmAOptions {
  /** δ_D, the confidence of a drift; default 0.001. */
  readonly driftConfidence?: number;
  /** δ_W, the confidence of a warning, at least δ_D; default 0.005. */
  readonly warningConfidence?: number;
  /** Also signal decreases of the mean; default false. */
  readonly twoSided?: boolean;
}

type HddmAState = {
  /** Values since the last reset, and their sum. */
  n: number;
  c: number;
  /** The cut for increases: its length and sum (0, 0 before the first value). */
  nMin: number;
  cMin: number;
  /** The cut for decreases. */
  nMax: number;
  cMax: number;
};

function initialState(): HddmAState {
  return { n: 0, c: 0, nMin: 0, cMin: 0, nMax: 0, cMax: 0 };
}

const NAME = 'hddm-a';

/**
 * HDDM-A over a stream of values in [0, 1].
 *
 * @example const hddm = new HddmA({ driftConfidence: 0.001 }); const { warning, drift } = hddm.update(isWrong ? 1 : 0);
 */
export class HddmA implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly isTwoSided: boolean;
  /** ln(1/δ_D), for the cut points. */
  private readonly logCut: number;
  /** ln(2/δ_D) and ln(2/δ_W), for the tests. */
  private readonly logDrift: number;
  private readonly logWarning: number;
  private s = initialState();

  constructor(options: HddmAOptions = {}) {
    const o = detectorOptions(NAME, options);
    const driftConfidence = o.real('driftConfidence', 0.001, { min: 0, max: 1, minOpen: true, maxOpen: true });
    const warningConfidence = o.real('warningConfidence', 0.005, { min: driftConfidence, max: 1, maxOpen: true, minLabel: `driftConfidence = ${driftConfidence}` });
    this.isTwoSided = o.bool('twoSided', false);
    this.params = o.done();
    this.logCut = Math.log(1 / driftConfidence);
    this.logDrift = Math.log(2 / driftConfidence);
    this.logWarning = Math.log(2 / warningConfidence);
  }

  update(x: number): DriftSignal {
    checkUnit(NAME, x);
    const s = this.s;
    s.n++;
    s.c += x;
    if (s.nMin === 0) {
      s.nMin = s.n;
      s.cMin = s.c;
    }
    if (s.nMax === 0) {
      s.nMax = s.n;
      s.cMax = s.c;
    }
    const epsN = Math.sqrt((1 / (2 * s.n)) * this.logCut);
    if (s.cMin / s.nMin + Math.sqrt((1 / (2 * s.nMin)) * this.logCut) >= s.c / s.n + epsN) {
      s.nMin = s.n;
      s.cMin = s.c;
    }
    if (s.cMax / s.nMax - Math.sqrt((1 / (2 * s.nMax)) * this.logCut) <= s.c / s.n - epsN) {
      s.nMax = s.n;
      s.cMax = s.c;
    }
    const incr = s.c / s.n - s.cMin / s.nMin;
    const decr = s.cMax / s.nMax - s.c / s.n;
    if (this.isChanged(incr, s.nMin, this.logDrift) || (this.isTwoSided && this.isChanged(decr, s.nMax, this.logDrift))) {
      this.reset();
      return DRIFT;
    }
    const isWarning = this.isChanged(incr, s.nMin, this.logWarning) || (this.isTwoSided && this.isChanged(decr, s.nMax, this.logWarning));
    return isWarning ? WARNING : STABLE;
  }

  reset(): void {
    this.s = initialState();
  }

  snapshot(): DetectorSnapshot {
    return snapshotOf(NAME, this.params, this.s);
  }

  restore(snapshot: DetectorSnapshot): void {
    const s = readSnapshot(NAME, this.params, initialState(), snapshot);
    for (const key of ['n', 'nMin', 'nMax'] as const) {
      requireState(NAME, Number.isSafeInteger(s[key]) && s[key] >= 0 && s[key] <= s.n, `state.${key}`, `must be an integer in [0, n = ${s.n}], got ${s[key]}`);
    }
    this.s = s;
  }

  /** The test: does a mean difference `diff` against a cut of `cut` values reach sqrt(m/2 · ln(2/δ))? */
  private isChanged(diff: number, cut: number, log2OverDelta: number): boolean {
    const n = this.s.n;
    if (cut === n) return false;
    const m = ((n - cut) / cut) * (1 / n);
    return diff >= Math.sqrt((m / 2) * log2OverDelta);
  }
}
