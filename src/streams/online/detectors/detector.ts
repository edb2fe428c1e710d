/**
 * The shape every drift detector shares: feed it one number at a time, read back a signal.
 *
 *   update(x) → { warning, drift }      x: the 0/1 error of a prediction, a loss, or any monitored value
 *
 * - `drift` is true on the one update at which the detector decides that the distribution of x changed.
 *   The detector has then already reacted the way its reference implementation (MOA, River) does:
 *   ADWIN drops the older part of its window, KSWIN keeps only its newest values, and Page-Hinkley,
 *   DDM, EDDM and HDDM-A restart their statistics from nothing. The next update belongs to the new
 *   concept.
 * - `warning` is true while the detector sees a change coming that it does not yet call a drift (DDM,
 *   EDDM, HDDM-A). ADWIN, Page-Hinkley and KSWIN have no warning zone and never warn. `warning` and
 *   `drift` are never both true.
 *
 * The state of every detector is plain numbers (and flat arrays of numbers), so `snapshot()` is a JSON
 * value and `restore(snapshot)` continues exactly where the snapshot was taken, bit for bit.
 */
import type { JsonObject } from '../../../layers/modelFile.js';

/** What one update says. The same three frozen objects are returned every time, never a new one. */
export interface DriftSignal {
  readonly warning: boolean;
  readonly drift: boolean;
}

/** No change seen. */
export const STABLE: DriftSignal = Object.freeze({ warning: false, drift: false });
/** A change may be starting: a learner could begin training a replacement. */
export const WARNING: DriftSignal = Object.freeze({ warning: true, drift: false });
/** The distribution changed; the detector has already reset itself. */
export const DRIFT: DriftSignal = Object.freeze({ warning: false, drift: true });

/**
 * A detector's whole state as a JSON value: its registry name, the parameters it was built with, and
 * its state (numbers and flat arrays of numbers).
 */
export interface DetectorSnapshot extends JsonObject {
  readonly detector: string;
  readonly params: JsonObject;
  readonly state: JsonObject;
}

/** An online change detector over a stream of numbers. */
export interface DriftDetector {
  /** The registry name: `adwin`, `page-hinkley`, `ddm`, `eddm`, `hddm-a` or `kswin`. */
  readonly name: string;
  /** The parameters in effect, defaults filled in. */
  readonly params: JsonObject;
  /** Take in the next value; throws a DriftInputError for a value outside the detector's domain. */
  update(x: number): DriftSignal;
  /** Forget everything: the detector is as freshly built. */
  reset(): void;
  /** The whole state, as a JSON value. */
  snapshot(): DetectorSnapshot;
  /** Continue from `snapshot` (taken from a detector of the same name and parameters). */
  restore(snapshot: DetectorSnapshot): void;
}

/** A value a detector cannot take: not finite, or outside its domain (0/1 for DDM and EDDM, [0, 1] for HDDM-A). */
export class DriftInputError extends RangeError {
  constructor(
    readonly detector: string,
    /** What the detector accepts, e.g. `0 or 1 (an error indicator)`. */
    readonly rule: string,
    readonly value: number,
    /** Position in the stream, when known (detectDrift sets it). */
    readonly index?: number,
  ) {
    super(`detector ${detector}: ${index === undefined ? 'input' : `input ${index}`} must be ${rule}, got ${value}`);
    this.name = 'DriftInputError';
  }

  /** The same error, naming the position `index` in the stream. */
  at(index: number): DriftInputError {
    return new DriftInputError(this.detector, this.rule, this.value, index);
  }
}

/** Throws unless x is a finite number. */
export function checkFinite(detector: string, x: number): void {
  if (!Number.isFinite(x)) throw new DriftInputError(detector, 'a finite number', x);
}

/** Throws unless x is 0 or 1. */
export function checkBit(detector: string, x: number): void {
  if (x !== 0 && x !== 1) throw new DriftInputError(detector, '0 or 1 (an error indicator)', x);
}

/** Throws unless 0 ≤ x ≤ 1. */
export function checkUnit(detector: string, x: number): void {
  if (!(x >= 0 && x <= 1)) throw new DriftInputError(detector, 'in [0, 1]', x);
}
