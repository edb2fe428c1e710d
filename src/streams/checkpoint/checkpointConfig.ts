/**
 * The training config a checkpoint must match on resume (docs/checkpoints.md, "Reading"): its
 * canonical JSON, the SHA-256 of that text stored in every checkpoint (`configHash`), and the
 * field-by-field differences listed when a resume is refused (`diffConfigs`).
 *
 * Canonical JSON sorts object keys at every level and has no spaces, so equal configs give equal
 * text — and equal hashes — whatever order their keys were written in.
 */
import { createHash } from 'node:crypto';
import { CheckpointError, type Difference } from './checkpointError.js';

/** Plain JSON data, e.g. a training config. `undefined` properties are treated as absent. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue | undefined };

/** An object literal (or `Object.create(null)`), as opposed to arrays, typed arrays and class instances. */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object') return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/**
 * JSON with object keys sorted at every level and no spaces, so equal configs give equal text.
 * `undefined` properties are dropped; non-finite numbers and non-JSON values are an INVALID error.
 *
 * @example canonicalJson({ lr: 0.1, batch: 32 }) // '{"batch":32,"lr":0.1}'
 */
export function canonicalJson(value: unknown, where = 'config'): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CheckpointError('INVALID', where, `${where} is ${value}: a config holds finite numbers only`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v, i) => (v === undefined ? 'null' : canonicalJson(v, `${where}[${i}]`))).join(',')}]`;
  }
  if (isPlainObject(value)) {
    const keys = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k], `${where}.${k}`)}`).join(',')}}`;
  }
  throw new CheckpointError('INVALID', where, `${where} is not JSON data (${describeType(value)})`);
}

/** A value's type for messages: `undefined`, `function`, `Map`, `Float32Array`, … */
export function describeType(v: unknown): string {
  if (v === undefined) return 'undefined';
  if (typeof v !== 'object' || v === null) return typeof v;
  return v.constructor?.name ?? 'object';
}

/** SHA-256 (hex) of the canonical JSON of a training config. @example configHash({ lr: 0.1 }) */
export function configHash(config: JsonValue): string {
  return createHash('sha256').update(Buffer.from(canonicalJson(config), 'utf8')).digest('hex');
}

function showConfigValue(v: unknown): string {
  if (v === undefined) return '(absent)';
  const text = canonicalJson(v);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * The leaves where two configs differ, walking objects by key and arrays by index.
 *
 * @example diffConfigs({ lr: 0.05 }, { lr: 0.1 }) // [{ path: 'lr', checkpoint: '0.05', now: '0.1' }]
 */
export function diffConfigs(checkpoint: unknown, now: unknown, path = ''): Difference[] {
  const child = (key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`);
  if (isPlainObject(checkpoint) && isPlainObject(now)) {
    const keys = [...new Set([...Object.keys(checkpoint), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => diffConfigs(checkpoint[k], now[k], child(k)));
  }
  if (Array.isArray(checkpoint) && Array.isArray(now)) {
    const n = Math.max(checkpoint.length, now.length);
    const out: Difference[] = [];
    for (let i = 0; i < n; i++) out.push(...diffConfigs(checkpoint[i], now[i], child(i)));
    return out;
  }
  if (checkpoint === undefined && now === undefined) return [];
  const a = showConfigValue(checkpoint);
  const b = showConfigValue(now);
  return a === b ? [] : [{ path: path === '' ? '(config)' : path, checkpoint: a, now: b }];
}
