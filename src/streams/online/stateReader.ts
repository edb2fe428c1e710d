/**
 * Reading an online run's state back from data (a checkpoint's `extra`), checked field by field: a
 * StateReader walks a StateValue and hands out typed fields, and every mistake is one error naming
 * the path (`online state: learners[0].learner.optimizer.t must be a number`). Nothing is cast:
 * what comes out has the type it was checked to have.
 */
import type { JsonObject, JsonValue } from '../../layers/modelFile.js';
import type { OptimizerKind } from '../../ops/optimizers.js';
import type { StateValue } from '../types.js';
import type { MetricState } from './metrics/metric.js';

/** A state that does not have the layout the reader expects. */
export class OnlineStateError extends Error {
  constructor(
    /** Where, e.g. `learners[0].recent`. */
    readonly path: string,
    detail: string,
  ) {
    super(`online state: ${path === '' ? '' : `${path} `}${detail}`);
    this.name = 'OnlineStateError';
  }
}

type Record_ = { readonly [key: string]: StateValue | undefined };

const isRecord = (v: StateValue | undefined): v is Record_ => typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);

/** The fields of one record of a state, each read with its type checked. */
export class StateReader {
  private readonly record: Record_;

  constructor(
    readonly path: string,
    value: StateValue | undefined,
  ) {
    if (!isRecord(value)) throw new OnlineStateError(path, 'must be a record');
    this.record = value;
  }

  private at(key: string): string {
    return this.path === '' ? key : `${this.path}.${key}`;
  }

  private fail(key: string, what: string): never {
    throw new OnlineStateError(this.at(key), `must be ${what}`);
  }

  /** The record's keys (those with a value). */
  keys(): string[] {
    return Object.keys(this.record).filter((k) => this.record[k] !== undefined);
  }

  has(key: string): boolean {
    return this.record[key] !== undefined && this.record[key] !== null;
  }

  num(key: string): number {
    const v = this.record[key];
    return typeof v === 'number' ? v : this.fail(key, 'a number');
  }

  count(key: string): number {
    const v = this.num(key);
    return Number.isSafeInteger(v) && v >= 0 ? v : this.fail(key, 'a non-negative integer');
  }

  bool(key: string): boolean {
    const v = this.record[key];
    return typeof v === 'boolean' ? v : this.fail(key, 'true or false');
  }

  str(key: string): string {
    const v = this.record[key];
    return typeof v === 'string' ? v : this.fail(key, 'a string');
  }

  f32(key: string): Float32Array {
    const v = this.record[key];
    return v instanceof Float32Array ? v : this.fail(key, 'a Float32Array');
  }

  f64(key: string): Float64Array {
    const v = this.record[key];
    return v instanceof Float64Array ? v : this.fail(key, 'a Float64Array');
  }

  i32(key: string): Int32Array {
    const v = this.record[key];
    return v instanceof Int32Array ? v : this.fail(key, 'an Int32Array');
  }

  u32(key: string): Uint32Array {
    const v = this.record[key];
    return v instanceof Uint32Array ? v : this.fail(key, 'a Uint32Array');
  }

  /** A nested record. */
  obj(key: string): StateReader {
    return new StateReader(this.at(key), this.record[key]);
  }

  list(key: string): readonly StateValue[] {
    const v = this.record[key];
    return Array.isArray(v) ? v : this.fail(key, 'a list');
  }

  /** A list of records. */
  objs(key: string): StateReader[] {
    return this.list(key).map((v, i) => new StateReader(`${this.at(key)}[${i}]`, v));
  }

  strs(key: string): string[] {
    return this.list(key).map((v, i) => (typeof v === 'string' ? v : this.fail(`${key}[${i}]`, 'a string')));
  }

  nums(key: string): number[] {
    return this.list(key).map((v, i) => (typeof v === 'number' ? v : this.fail(`${key}[${i}]`, 'a number')));
  }

  bools(key: string): boolean[] {
    return this.list(key).map((v, i) => (typeof v === 'boolean' ? v : this.fail(`${key}[${i}]`, 'true or false')));
  }

  f32s(key: string): Float32Array[] {
    return this.list(key).map((v, i) => (v instanceof Float32Array ? v : this.fail(`${key}[${i}]`, 'a Float32Array')));
  }

  /** A list of lists of Float32Arrays (an optimizer's slots per parameter). */
  f32Lists(key: string): Float32Array[][] {
    return this.list(key).map((v, i) => {
      if (!Array.isArray(v)) return this.fail(`${key}[${i}]`, 'a list');
      return v.map((a: StateValue, k: number) => (a instanceof Float32Array ? a : this.fail(`${key}[${i}][${k}]`, 'a Float32Array')));
    });
  }

  /** Plain JSON data (a detector snapshot): no typed arrays. */
  json(key: string): JsonValue {
    return toJson(this.record[key], this.at(key));
  }

  /** A metric state: numbers, booleans, null, lists and records of them. */
  metric(key: string): MetricState {
    return toMetricState(this.record[key], this.at(key));
  }

  optimizerKind(key: string): OptimizerKind {
    const v = this.str(key);
    return v === 'sgd' || v === 'momentum' || v === 'adam' ? v : this.fail(key, 'sgd, momentum or adam');
  }
}

function toJson(v: StateValue | undefined, path: string): JsonValue {
  if (v === null || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'string') return v;
  if (v === undefined || ArrayBuffer.isView(v)) throw new OnlineStateError(path, 'must be plain JSON data');
  if (Array.isArray(v)) return v.map((x, i) => toJson(x, `${path}[${i}]`));
  const out: Record<string, JsonValue> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJson(x, `${path}.${k}`);
  return out;
}

function toMetricState(v: StateValue | undefined, path: string): MetricState {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (v === undefined || typeof v === 'string' || ArrayBuffer.isView(v)) throw new OnlineStateError(path, 'must be numbers, booleans, lists and records of them');
  if (Array.isArray(v)) return v.map((x, i) => toMetricState(x, `${path}[${i}]`));
  const out: Record<string, MetricState> = {};
  for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toMetricState(x, `${path}.${k}`);
  return out;
}

/** A JSON object field (a detector snapshot's `params`, `state`). */
export function jsonObject(v: JsonValue, path: string): JsonObject {
  if (v === null || typeof v !== 'object' || isJsonList(v)) throw new OnlineStateError(path, 'must be a record');
  return v;
}

// NOTE: Array.isArray does not narrow a readonly array type; this guard does.
const isJsonList = (v: JsonValue): v is readonly JsonValue[] => Array.isArray(v);
