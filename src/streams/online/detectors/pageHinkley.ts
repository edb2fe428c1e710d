/**
 * Page-Hinkley: the sequential test of E. S. Page, "Continuous inspection schemes" (Biometrika 1954),
 * with a fading factor, as MOA's `moa.classifiers.core.driftdetection.PageHinkleyDM` computes it.
 *
 * It detects an INCREASE of the mean of x (a rising error rate or loss; negate x to watch for a
 * decrease). After the t-th value since the last reset:
 *
 *   x̄_t = x̄_{t−1} + (x_t − x̄_{t−1}) / t                      running mean
 *   m_t = α · m_{t−1} + (x_t − x̄_t − δ)                         faded cumulative deviation
 *   M_t = min(M_{t−1}, m_t)                                      its running minimum (M_0 = MAX_VALUE)
 *   drift when PH_t = m_t − M_t > λ, tested once t + 1 ≥ minInstances
 *
 * `t + 1 ≥ minInstances` is MOA's timing (its counter starts at 1 and is raised before the test), so
 * with the default 30 the first test is on the 29th value; deltaflow keeps it so that detections land
 * on the same rows as MOA's. After a drift all statistics restart (MOA resets on the next input, which
 * gives the same signals). There is no warning zone.
 *
 * Input: any finite number (the 0/1 error, a loss). δ and λ are in the units of x.
 *
 * Parameters (defaults: MOA `PageHinkleyDM`; River's `drift.PageHinkley` has the same numbers, λ being
 * its `threshold`):
 *   minInstances  30          no test before this many values (MOA's timing above)
 *   delta         0.005       δ, the magnitude of change tolerated, ≥ 0
 *   lambda        50          λ, the detection threshold, > 0
 *   alpha         1 − 0.0001  α, the fading factor of m_t, in (0, 1]; 1 is Page's test without fading
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { DRIFT, STABLE, checkFinite, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface PageHinkleyOptions {
  /** No test before this many values (MOA's timing); default 30. */
  readonly minInstances?: number;
  /** δ, the magnitude of change tolerated; default 0.005. */
  readonly delta?: number;
  /** λ, the threshold on m_t − M_t; default 50. */
  readonly lambda?: number;
  /** α, the fading factor in (0, 1]; default 1 − 0.0001. */
  readonly alpha?: number;
}

type PageHinkleyState = {
  /** Values since the last reset. */
  t: number;
  /** x̄_t. */
  mean: number;
  /** m_t. */
  sum: number;
  /** M_t. */
  min: number;
};

function initialState(): PageHinkleyState {
  return { t: 0, mean: 0, sum: 0, min: Number.MAX_VALUE };
}

const NAME = 'page-hinkley';

/**
 * Page-Hinkley test for an increase of the mean.
 *
 * @example const ph = new PageHinkley({ lambda: 50 }); const { drift } = ph.update(loss);
 */
export class PageHinkley implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly minInstances: number;
  private readonly delta: number;
  private readonly lambda: number;
  private readonly alpha: number;
  private s = initialState();

  constructor(options: PageHinkleyOptions = {}) {
    const o = detectorOptions(NAME, options);
    this.minInstances = o.int('minInstances', 30, { min: 0, max: Infinity });
    this.delta = o.real('delta', 0.005, { min: 0, max: Infinity });
    this.lambda = o.real('lambda', 50, { min: 0, max: Infinity, minOpen: true });
    this.alpha = o.real('alpha', 1 - 0.0001, { min: 0, max: 1, minOpen: true });
    this.params = o.done();
  }

  /** PH_t = m_t − M_t, the statistic compared with λ (0 before the first value). */
  get statistic(): number {
    return this.s.t === 0 ? 0 : this.s.sum - this.s.min;
  }

  update(x: number): DriftSignal {
    checkFinite(NAME, x);
    const s = this.s;
    s.t++;
    s.mean += (x - s.mean) / s.t;
    s.sum = this.alpha * s.sum + (x - s.mean - this.delta);
    if (s.sum <= s.min) s.min = s.sum;
    if (s.t + 1 < this.minInstances || s.sum - s.min <= this.lambda) return STABLE;
    this.reset();
    return DRIFT;
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
    this.s = s;
  }
}
