/**
 * ADWIN: the ADaptive WINdowing change detector of Bifet & Gavaldà, "Learning from time-changing data
 * with adaptive windowing" (SIAM SDM 2007), in its ADWIN2 form with an exponential histogram — the
 * algorithm of MOA's `moa.classifiers.core.driftdetection.ADWIN` (used by `ADWINChangeDetector`) and
 * River's `drift.ADWIN`.
 *
 * ADWIN keeps a window W of the most recent values and drops its older part whenever two sub-windows
 * W = W0 · W1 (W0 older, sizes n0 + n1 = n) have means further apart than
 *
 *   ε_cut = sqrt(2 · (1/m) · σ²_W · δ'') + (2/3) · δ'' · (1/m)                       (paper §4, "Gener 2008" form in MOA)
 *   1/m   = 1/(n0 − L + 1) + 1/(n1 − L + 1)       L = minWindowLength
 *   δ''   = ln(2 · ln(n) / δ)                     σ²_W = variance of all of W
 *
 * checked only for n0 > L + 1 and n1 > L + 1, only at the boundaries between buckets, every `clock`
 * updates, and only once W holds more than `gracePeriod` values. On a cut the oldest bucket is dropped
 * and the scan starts again, until no boundary cuts. That shrinking is the detector's reaction to a
 * drift: ADWIN never resets, its window becomes the recent sub-window (MOA's `ADWINChangeDetector`
 * does the same).
 *
 * The window is an exponential histogram: row i holds up to `maxBuckets` (M) buckets of 2^i values
 * each, as the sum of their values and the sum of squared deviations about their own mean. A new value
 * is a bucket of 1 in row 0; when a row reaches M + 1 buckets its two oldest merge into one bucket of
 * the next row (Babcock et al. 2003 for the variance of the merge:
 *   V12 = V1 + V2 + n1·n2·(μ1 − μ2)² / (n1 + n2)).
 * So the window of n values costs O(M · log(n / M)) numbers, and cuts are tested at bucket boundaries
 * only: the exponential histogram sees a cut at most a bucket away from where an exact check of every
 * split would (test/streams/online/detectors/adwin.test.ts measures this).
 *
 * Input: any finite number. The guarantees of the paper (false positives at most δ per check while the
 * mean is constant) are proved for values in [0, 1], such as 0/1 errors.
 *
 * Parameters (defaults: MOA `ADWIN.java` and River `ADWIN`):
 *   delta            0.002   confidence δ, in (0, 1)
 *   clock            32      check for cuts every `clock` updates
 *   maxBuckets       5       M, buckets per row
 *   minWindowLength  5       L in ε_cut; sub-windows need more than L + 1 values (MOA's test)
 *   gracePeriod      10      no check until the window holds more than this many values
 *
 * NOTE: River's `adwin_c.pyx` tests sub-windows of at least L values and, in the version read, skips
 * each row's newest bucket; deltaflow follows MOA's ADWIN.java, the original authors' code.
 *
 * State layout (flat, for snapshots): row i's buckets sit at [i·(M+1), i·(M+1) + rowCounts[i]) of
 * `totals` and `variances`, oldest first; row 0 holds the newest, smallest buckets.
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { DRIFT, STABLE, checkFinite, type DetectorSnapshot, type DriftDetector, type DriftSignal } from './detector.js';
import { detectorOptions } from './detectorOptions.js';
import { readSnapshot, requireState, snapshotOf } from './detectorSnapshot.js';

export interface AdwinOptions {
  /** Confidence δ in (0, 1); default 0.002. */
  readonly delta?: number;
  /** Updates between checks for a cut; default 32. */
  readonly clock?: number;
  /** Buckets per row of the exponential histogram (M); default 5. */
  readonly maxBuckets?: number;
  /** L in ε_cut; sub-windows need more than L + 1 values; default 5. */
  readonly minWindowLength?: number;
  /** No check until the window holds more values than this; default 10. */
  readonly gracePeriod?: number;
}

type AdwinState = {
  /** Updates since construction or reset (the clock counts these). */
  time: number;
  /** n, values in the window. */
  width: number;
  /** Sum of the window's values. */
  total: number;
  /** Sum of squared deviations about the window mean; σ²_W = variance / width. */
  variance: number;
  /** Buckets in row i (each of 2^i values). */
  rowCounts: number[];
  /** Bucket sums, row-major with stride M + 1 (see the file comment). */
  totals: number[];
  /** Bucket sums of squared deviations, same layout. */
  variances: number[];
};

function initialState(maxBuckets: number): AdwinState {
  return {
    time: 0,
    width: 0,
    total: 0,
    variance: 0,
    rowCounts: [0],
    totals: new Array<number>(maxBuckets + 1).fill(0),
    variances: new Array<number>(maxBuckets + 1).fill(0),
  };
}

const NAME = 'adwin';

/**
 * ADWIN over a stream of numbers; drift when the window's older part has a different mean.
 *
 * @example const adwin = new Adwin({ delta: 0.002 }); for (const e of errors) if (adwin.update(e).drift) console.log('drift, window now', adwin.width);
 */
export class Adwin implements DriftDetector {
  readonly name = NAME;
  readonly params: JsonObject;
  private readonly delta: number;
  private readonly clock: number;
  private readonly maxBuckets: number;
  private readonly minWindowLength: number;
  private readonly gracePeriod: number;
  private s: AdwinState;

  constructor(options: AdwinOptions = {}) {
    const o = detectorOptions(NAME, options);
    this.delta = o.real('delta', 0.002, { min: 0, max: 1, minOpen: true, maxOpen: true });
    this.clock = o.int('clock', 32, { min: 1, max: Infinity });
    this.maxBuckets = o.int('maxBuckets', 5, { min: 1, max: 1000 });
    this.minWindowLength = o.int('minWindowLength', 5, { min: 1, max: Infinity });
    this.gracePeriod = o.int('gracePeriod', 10, { min: 0, max: Infinity });
    this.params = o.done();
    this.s = initialState(this.maxBuckets);
  }

  /** Values in the window now. */
  get width(): number {
    return this.s.width;
  }

  /** Mean of the window (0 while it is empty): ADWIN's estimate of the current mean. */
  get mean(): number {
    return this.s.width === 0 ? 0 : this.s.total / this.s.width;
  }

  update(x: number): DriftSignal {
    checkFinite(NAME, x);
    const s = this.s;
    s.time++;
    this.insert(x);
    if (s.time % this.clock !== 0 || s.width <= this.gracePeriod) return STABLE;
    let isDrift = false;
    while (this.dropIfCut()) isDrift = true;
    return isDrift ? DRIFT : STABLE;
  }

  reset(): void {
    this.s = initialState(this.maxBuckets);
  }

  snapshot(): DetectorSnapshot {
    return snapshotOf(NAME, this.params, this.s);
  }

  restore(snapshot: DetectorSnapshot): void {
    const s = readSnapshot(NAME, this.params, initialState(this.maxBuckets), snapshot);
    const stride = this.maxBuckets + 1;
    const rows = s.rowCounts.length;
    requireState(NAME, rows >= 1, 'state.rowCounts', 'must hold at least one row');
    requireState(NAME, s.totals.length === rows * stride && s.variances.length === rows * stride, 'state.totals',
      `and state.variances must hold ${rows} rows of ${stride} numbers, got ${s.totals.length} and ${s.variances.length}`);
    let width = 0;
    s.rowCounts.forEach((count, i) => {
      requireState(NAME, Number.isInteger(count) && count >= 0 && count <= this.maxBuckets, `state.rowCounts[${i}]`, `must be an integer in [0, ${this.maxBuckets}], got ${count}`);
      width += count * 2 ** i;
    });
    requireState(NAME, s.width === width, 'state.width', `must equal the values in the buckets (${width}), got ${s.width}`);
    requireState(NAME, Number.isInteger(s.time) && s.time >= 0, 'state.time', `must be a non-negative integer, got ${s.time}`);
    this.s = s;
  }

  /** Add x as a bucket of 1 in row 0; update n, the sum and the variance; merge full rows. */
  private insert(x: number): void {
    const s = this.s;
    s.width++;
    const n = s.width;
    if (n > 1) {
      // Adding x to n − 1 values of mean μ raises the squared deviations by (n − 1)(x − μ)² / n.
      const d = x - s.total / (n - 1);
      s.variance += ((n - 1) * d * d) / n;
    }
    s.total += x;
    s.totals[s.rowCounts[0]] = x;
    s.variances[s.rowCounts[0]] = 0;
    s.rowCounts[0]++;
    this.compress();
  }

  /** Merge the two oldest buckets of every row that holds M + 1, into the next row. */
  private compress(): void {
    const s = this.s;
    const stride = this.maxBuckets + 1;
    for (let i = 0; s.rowCounts[i] === this.maxBuckets + 1; i++) {
      if (i + 1 === s.rowCounts.length) {
        s.rowCounts.push(0);
        for (let k = 0; k < stride; k++) {
          s.totals.push(0);
          s.variances.push(0);
        }
      }
      const base = i * stride;
      const size = 2 ** i;
      const mu1 = s.totals[base] / size;
      const mu2 = s.totals[base + 1] / size;
      const next = (i + 1) * stride + s.rowCounts[i + 1];
      s.totals[next] = s.totals[base] + s.totals[base + 1];
      s.variances[next] = s.variances[base] + s.variances[base + 1] + (size * size * (mu1 - mu2) * (mu1 - mu2)) / (size + size);
      s.rowCounts[i + 1]++;
      this.shiftRow(i, 2);
    }
  }

  /** Remove the `k` oldest buckets of row i, zeroing the freed slots (so equal states snapshot equally). */
  private shiftRow(i: number, k: number): void {
    const s = this.s;
    const base = i * (this.maxBuckets + 1);
    const count = s.rowCounts[i];
    for (let j = k; j < count; j++) {
      s.totals[base + j - k] = s.totals[base + j];
      s.variances[base + j - k] = s.variances[base + j];
    }
    for (let j = count - k; j < count; j++) {
      s.totals[base + j] = 0;
      s.variances[base + j] = 0;
    }
    s.rowCounts[i] = count - k;
  }

  /**
   * Walk the bucket boundaries from the oldest: at the first split W0 · W1 whose means differ by more
   * than ε_cut, drop the oldest bucket and return true; false when no boundary cuts.
   */
  private dropIfCut(): boolean {
    const s = this.s;
    const stride = this.maxBuckets + 1;
    const minLength = this.minWindowLength;
    const dd = Math.log((2 * Math.log(s.width)) / this.delta);
    const v = s.variance / s.width;
    let n0 = 0;
    let n1 = s.width;
    let u0 = 0;
    let u1 = s.total;
    for (let i = s.rowCounts.length - 1; i >= 0; i--) {
      const size = 2 ** i;
      const base = i * stride;
      const count = s.rowCounts[i];
      for (let k = 0; k < count; k++) {
        const t = s.totals[base + k];
        n0 += size;
        n1 -= size;
        u0 += t;
        u1 -= t;
        if (i === 0 && k === count - 1) return false; // W1 would be empty
        if (n0 > minLength + 1 && n1 > minLength + 1) {
          const mRecip = 1 / (n0 - minLength + 1) + 1 / (n1 - minLength + 1);
          const epsilon = Math.sqrt(2 * mRecip * v * dd) + (2 / 3) * dd * mRecip;
          if (Math.abs(u0 / n0 - u1 / n1) > epsilon) {
            this.dropOldest();
            return true;
          }
        }
      }
    }
    return false;
  }

  /** Remove the oldest bucket (row last, slot 0) and its values from n, the sum and the variance. */
  private dropOldest(): void {
    const s = this.s;
    const last = s.rowCounts.length - 1;
    const base = last * (this.maxBuckets + 1);
    const size = 2 ** last;
    const t = s.totals[base];
    s.width -= size;
    s.total -= t;
    const mu = t / size;
    const rest = s.total / s.width;
    s.variance -= s.variances[base] + (size * s.width * (mu - rest) * (mu - rest)) / (size + s.width);
    this.shiftRow(last, 1);
    if (s.rowCounts[last] === 0 && last > 0) {
      s.rowCounts.pop();
      s.totals.length = base;
      s.variances.length = base;
    }
  }
}
