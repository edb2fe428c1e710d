/**
 * Snapshots of drift detectors: `{ detector, params, state }`, a JSON value.
 *
 * A detector keeps its state in one flat object of numbers, booleans and arrays of numbers (its
 * `initial…State()` function is the one description of it). `snapshotOf` copies that object;
 * `readSnapshot` checks a snapshot against a fresh initial state — same detector, same parameters,
 * the same fields with the same types, every number finite — and returns a copy. Detectors with
 * invariants beyond types (ADWIN's bucket rows, KSWIN's ring buffer) check them after.
 *
 * Numbers survive `JSON.stringify`/`JSON.parse` exactly (shortest round-trip form), so a snapshot
 * written to a checkpoint file and read back continues bit for bit.
 */
import type { JsonObject, JsonValue } from '../../../layers/modelFile.js';
import { showValue } from '../../../layers/options.js';
import type { DetectorSnapshot } from './detector.js';

/** A detector's state: plain numbers, booleans and flat arrays of numbers. */
export type FlatState = Record<string, number | boolean | number[]>;

/** A snapshot that does not fit the detector it is restored into. */
export class DetectorSnapshotError extends Error {
  constructor(
    readonly detector: string,
    /** The field at fault, e.g. `state.width` or `params`. */
    readonly field: string,
    detail: string,
  ) {
    super(`detector ${detector}: cannot restore snapshot: ${field === '' ? '' : `${field} `}${detail}`);
    this.name = 'DetectorSnapshotError';
  }
}

/** The snapshot of a detector named `name` with `params` in `state` (arrays copied). */
export function snapshotOf(name: string, params: JsonObject, state: FlatState): DetectorSnapshot {
  return { detector: name, params: { ...params }, state: structuredClone(state) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function sameJson(a: JsonValue | undefined, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Why `value` cannot stand where `like` stands, or null when it can. */
function mismatch(like: number | boolean | number[], value: unknown): string | null {
  if (typeof like === 'boolean') return typeof value === 'boolean' ? null : `must be true or false, got ${showValue(value)}`;
  if (typeof like === 'number') return typeof value === 'number' && Number.isFinite(value) ? null : `must be a finite number, got ${showValue(value)}`;
  if (!Array.isArray(value)) return `must be an array of finite numbers, got ${showValue(value)}`;
  const bad = value.findIndex((v) => typeof v !== 'number' || !Number.isFinite(v));
  return bad < 0 ? null : `[${bad}] must be a finite number, got ${showValue(value[bad])}`;
}

function fitsState<T extends FlatState>(template: T, value: Record<string, unknown>): value is T {
  return Object.keys(template).every((key) => mismatch(template[key], value[key]) === null);
}

/**
 * The state in `snapshot`, checked against `template` (a fresh initial state) and copied. Throws a
 * DetectorSnapshotError naming the first field that does not fit.
 */
export function readSnapshot<T extends FlatState>(name: string, params: JsonObject, template: T, snapshot: unknown): T {
  const fail = (field: string, detail: string): never => {
    throw new DetectorSnapshotError(name, field, detail);
  };
  if (!isRecord(snapshot)) return fail('', `expected an object { detector, params, state }, got ${showValue(snapshot)}`);
  if (snapshot.detector !== name) return fail('detector', `is ${showValue(snapshot.detector)}, expected "${name}"`);
  if (!sameJson(params, snapshot.params)) {
    return fail('params', `${showValue(snapshot.params)} differ from this detector's ${showValue(params)}`);
  }
  const state = snapshot.state;
  if (!isRecord(state)) return fail('state', `must be an object, got ${showValue(state)}`);
  const expected = Object.keys(template);
  const extra = Object.keys(state).find((key) => !expected.includes(key));
  if (extra !== undefined) return fail(`state.${extra}`, `is not a field of this detector (fields: ${expected.join(', ')})`);
  for (const key of expected) {
    const why = mismatch(template[key], state[key]);
    if (why !== null) return fail(`state.${key}`, why);
  }
  if (!fitsState(template, state)) return fail('state', 'does not fit');
  return structuredClone(state);
}

/** Throws a DetectorSnapshotError for `field` unless `isOk`. */
export function requireState(name: string, isOk: boolean, field: string, detail: string): void {
  if (!isOk) throw new DetectorSnapshotError(name, field, detail);
}
