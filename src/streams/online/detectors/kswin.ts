/**
 * KSWIN, the Kolmogorov-Smirnov WINdowing detector of Raab, Heusinger & Schleif, "Reactive soft
 * prototype computing for concept drift streams" (Neurocomputing 416, 2020), with the parameters and
 * the test of River's `drift.KSWIN`.
 *
 * KSWIN keeps the last `windowSize` (n) values Ψ. Once Ψ is full, every update compares
 *
 *   R = the newest `statSize` (r) values of Ψ
 *   W = r values drawn uniformly without replacement from the older n − r values of Ψ
 *
 * with the two-sample Kolmogorov-Smirnov test, and signals a drift when
 *
 *   p-value(D) ≤ alpha  and  D > 0.1,     D = max_v |F_R(v) − F_W(v)|
 *
 * (River's rule, with the exact p-value scipy's `ks_2samp` gives two samples of equal size r; the
 * paper states the asymptotic form D > sqrt(−ln(alpha) / r)). Both samples have r values, so D = h/r
 * for an integer h and the exact p-value is the Gnedenko–Korolyuk sum
 *
 *   P(D ≥ h/r) = 2 Σ_{j ≥ 1, jh ≤ r} (−1)^{j+1} C(2r, r − jh) / C(2r, r),
 *
 * tabulated once for h = 0 … r. With ties (0/1 errors) the test is conservative, as scipy's is.
 *
 * After a drift Ψ keeps only R, its newest r values (the paper's reaction); testing resumes once Ψ is
 * full again. The draw of W comes from a seeded generator (sfc32, src/ops/random.ts): the draw is a
 * partial Fisher–Yates shuffle of the indices 0 … n − r − 1, r steps of `rng.int`. The generator's state
 * is part of the snapshot; `reset()` reseeds it.
 *
 * NOTE: River (the version read) clears Ψ entirely and reseeds its generator on the update after a
 * drift; deltaflow keeps R, as the paper describes, and lets the generator run on.
 *
 * Input: any finite number.
 *
 * Parameters (defaults: River `KSWIN`):
 *   alpha       0.005   the test's level, in (0, 1)
 *   statSize    30      r, in [1, 100000]
 *   windowSize  100     n, in [2r, 1000000]
 *   seed        0       seeds the draw of W (River's default is unseeded)
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { createRng, rngFromState, type Rng } from '../../../ops/random.js';
import { DRIFT, STABLE, checkFinite, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface KswinOptions {
  /** The test's level; default 0.005. */
  readonly alpha?: number;
  /** r, the size of both samples; default 30. */
  readonly statSize?: number;
  /** n, the window, at least 2r; default 100. */
  readonly windowSize?: number;
  /** Seed of the draw of the older sample; default 0. */
  readonly seed?: number;
}

type KswinState = {
  /** Ψ as a ring buffer of n slots: the oldest value at `start`, `count` values in all. */
  window: number[];
  start: number;
  count: number;
  /** The last test's p-value (1 before the first test). */
  pValue: number;
  /** The generator's four uint32 words (filled in by snapshot()). */
  rng: number[];
};

function initialState(windowSize: number): KswinState {
  return { window: new Array<number>(windowSize).fill(0), start: 0, count: 0, pValue: 1, rng: [0, 0, 0, 0] };
}

/**
 * The exact two-sided p-values P(D ≥ h/r), h = 0 … r, for two samples of r values each
 * (Gnedenko–Korolyuk; see the file comment).
 *
 * @example ksPValues(30)[18] // P(D ≥ 0.6) for two samples of 30
 */
export function ksPValues(r: number): Float64Array {
  // ratio[k] = C(2r, r − k) / C(2r, r) = Π_{i=1..k} (r − k + i) / (r + i), built as ratio[k−1] · (r − k + 1) / (r + k).
  const ratio = new Float64Array(r + 1);
  ratio[0] = 1;
  for (let k = 1; k <= r; k++) ratio[k] = (ratio[k - 1] * (r - k + 1)) / (r + k);
  const p = new Float64Array(r + 1);
  p[0] = 1;
  for (let h = 1; h <= r; h++) {
    let sum = 0;
    for (let j = 1; j * h <= r; j++) sum += (j % 2 === 1 ? 1 : -1) * ratio[j * h];
    p[h] = Math.min(1, Math.max(0, 2 * sum));
  }
  return p;
}

const NAME = 'kswin';

/**
 * KSWIN over a stream of numbers; drift when the newest values' distribution departs from the older ones'.
 *
 * @example const kswin = new Kswin({ alpha: 0.005, seed: 7 }); if (kswin.update(loss).drift) console.log('p =', kswin.pValue);
 */
export class Kswin implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly alpha: number;
  private readonly statSize: number;
  private readonly windowSize: number;
  private readonly seed: number;
  private readonly pValues: Float64Array;
  /** Work buffers, not state: the index pool of the draw and the two sorted samples. */
  private readonly pool: Int32Array;
  private readonly older: Float64Array;
  private readonly newest: Float64Array;
  private s: KswinState;
  private rng: Rng;

  constructor(options: KswinOptions = {}) {
    const o = detectorOptions(NAME, options);
    this.alpha = o.real('alpha', 0.005, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.statSize = o.int('statSize', 30, { min: 1, max: 100_000 });
    this.windowSize = o.int('windowSize', 100, { min: 2 * this.statSize, max: 1_000_000, minLabel: `2·statSize = ${2 * this.statSize}` });
    this.seed = o.int('seed', 0, { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER });
    this.params = o.done();
    this.pValues = ksPValues(this.statSize);
    this.pool = new Int32Array(this.windowSize - this.statSize);
    this.older = new Float64Array(this.statSize);
    this.newest = new Float64Array(this.statSize);
    this.s = initialState(this.windowSize);
    this.rng = createRng(this.seed);
  }

  /** The p-value of the last test (1 before the first). */
  get pValue(): number {
    return this.s.pValue;
  }

  update(x: number): DriftSignal {
    checkFinite(NAME, x);
    const s = this.s;
    const n = this.windowSize;
    const r = this.statSize;
    if (s.count < n) {
      s.window[(s.start + s.count) % n] = x;
      s.count++;
      if (s.count < n) return STABLE;
    } else {
      s.window[s.start] = x;
      s.start = (s.start + 1) % n;
    }
    // Draw W: r distinct positions among the n − r oldest (partial Fisher–Yates over the pool).
    const pool = this.pool;
    const window = s.window;
    for (let i = 0; i < pool.length; i++) pool[i] = i;
    for (let i = 0; i < r; i++) {
      const j = i + this.rng.int(pool.length - i);
      const t = pool[i];
      pool[i] = pool[j];
      pool[j] = t;
      const at = s.start + pool[i];
      this.older[i] = window[at < n ? at : at - n];
    }
    for (let i = 0; i < r; i++) {
      const at = s.start + n - r + i;
      this.newest[i] = window[at < n ? at : at - n];
    }
    const h = ksDistance(this.older, this.newest);
    s.pValue = this.pValues[h];
    if (s.pValue > this.alpha || h / r <= 0.1) return STABLE;
    // R in arrival order (this.newest is sorted by now).
    const kept = Array.from({ length: r }, (_, i) => s.window[(s.start + n - r + i) % n]);
    s.window.fill(0);
    kept.forEach((v, i) => (s.window[i] = v));
    s.start = 0;
    s.count = r;
    return DRIFT;
  }

  reset(): void {
    this.s = initialState(this.windowSize);
    this.rng = createRng(this.seed);
  }

  snapshot(): DetectorSnapshot {
    this.s.rng = this.rng.state();
    return snapshotOf(NAME, this.params, this.s);
  }

  restore(snapshot: DetectorSnapshot): void {
    const n = this.windowSize;
    const s = readSnapshot(NAME, this.params, initialState(n), snapshot);
    requireState(NAME, s.window.length === n, 'state.window', `must hold ${n} numbers, got ${s.window.length}`);
    requireState(NAME, Number.isInteger(s.start) && s.start >= 0 && s.start < n, 'state.start', `must be an integer in [0, ${n}), got ${s.start}`);
    requireState(NAME, Number.isInteger(s.count) && s.count >= 0 && s.count <= n, 'state.count', `must be an integer in [0, ${n}], got ${s.count}`);
    requireState(NAME, s.rng.length === 4 && s.rng.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32), 'state.rng', `must be 4 uint32 integers, got [${s.rng.join(', ')}]`);
    this.rng = rngFromState(s.rng);
    this.s = s;
  }
}

/**
 * r · D for two samples of r values each: sorts both in place, then walks them together, stepping past
 * every copy of the smaller value on both sides before comparing the counts (so ties count once).
 */
function ksDistance(a: Float64Array, b: Float64Array): number {
  sortInPlace(a);
  sortInPlace(b);
  const r = a.length;
  let i = 0;
  let j = 0;
  let h = 0;
  while (i < r && j < r) {
    const v = a[i] <= b[j] ? a[i] : b[j];
    while (i < r && a[i] === v) i++;
    while (j < r && b[j] === v) j++;
    const d = i > j ? i - j : j - i;
    if (d > h) h = d;
  }
  return h;
}

/** Ascending sort; insertion sort for the small samples KSWIN uses (the typed-array sort costs ~2 µs on 30 values). */
function sortInPlace(a: Float64Array): void {
  if (a.length > 64) {
    a.sort();
    return;
  }
  for (let i = 1; i < a.length; i++) {
    const v = a[i];
    let j = i - 1;
    while (j >= 0 && a[j] > v) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = v;
  }
}
