/**
 * What travels through Redis between a coordinator and its workers, byte for byte.
 *
 * Stream entries hold a JSON header `h` and raw little-endian arrays (floats cross as their bits, never
 * as decimal text):
 *
 *   task    (coordinator → df:{J}:in:W)  h = TaskHeader, x f32 [rows, nIn], t f32 [rows, nOut], l i32 [rows]
 *   refusal (coordinator → df:{J}:in:W)  h = { kind: 'refused', reason }
 *   result  (worker → df:{J}:out)        h = ResultHeader, g f32 [P] (the slice's Σ-gradients, model order),
 *                                        s f64 [lossSum, correct | NaN], o f32 [rows, nOut] (the outputs)
 *   join    (worker → df:{J}:ctl)        h = JoinHeader
 *
 * Fencing: every task and result names the job (`uid`, new for every job created), the run epoch
 * (`epoch`, new for every coordinator start), the model version it is computed from (`version`), the
 * step, the slice and the attempt (a slice given to another worker gets attempt + 1). A result counts
 * only when all six match what the coordinator waits for; anything else is stale and dropped.
 */
import { endianness } from 'node:os';
import type { Reply } from '../sources/redis/redisConnection.js';
import type { RowOrigin, Sample } from '../types.js';

if (endianness() !== 'LE') throw new Error('deltaflow distributed training sends floats little-endian; this host is big-endian');

/** Job identity stamped on every task and result. */
export interface Fence {
  /** The job's uid (a fresh random id per job name created). */
  readonly uid: string;
  /** The run epoch: the coordinator's INCR of df:{J}:epoch. */
  readonly epoch: number;
}

export interface TaskHeader extends Fence {
  readonly kind: 'task';
  /** The model version the slice is computed from (= the step before it). */
  readonly version: number;
  readonly step: number;
  readonly slice: number;
  readonly attempt: number;
  readonly rows: number;
  readonly hasLabels: boolean;
}

/** A worker's running figures, sent with every result. */
export interface WorkerFigures {
  readonly rows: number;
  readonly steps: number;
  readonly secondsWaiting: number;
  readonly secondsComputing: number;
  readonly bytesSent: number;
}

export interface ResultHeader extends Fence {
  readonly kind: 'result';
  readonly worker: string;
  readonly version: number;
  readonly step: number;
  readonly slice: number;
  readonly attempt: number;
  readonly rows: number;
  readonly figures: WorkerFigures;
}

export interface JoinHeader {
  readonly kind: 'join';
  readonly worker: string;
  readonly uid: string;
  readonly epoch: number;
  readonly host: string;
  readonly pid: number;
  readonly fingerprint: Readonly<Record<string, string>>;
}

/** The bytes of a typed array (a view, no copy). */
export function bytesOf(a: Float32Array | Float64Array | Int32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Copies bytes into a fresh (aligned) Float32Array, checking the length. */
export function f32Of(b: Buffer, n: number, what: string): Float32Array<ArrayBuffer> {
  if (b.length !== 4 * n) throw new Error(`${what}: expected ${4 * n} bytes (${n} floats), got ${b.length}`);
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function f64Of(b: Buffer, n: number, what: string): Float64Array {
  if (b.length !== 8 * n) throw new Error(`${what}: expected ${8 * n} bytes, got ${b.length}`);
  const out = new Float64Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

export function i32Of(b: Buffer, n: number, what: string): Int32Array {
  if (b.length !== 4 * n) throw new Error(`${what}: expected ${4 * n} bytes, got ${b.length}`);
  const out = new Int32Array(n);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** One stream entry: its id and its fields (binary). */
export interface Entry {
  readonly id: string;
  readonly fields: ReadonlyMap<string, Buffer>;
}

const text = (v: Reply | undefined): string => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : String(v));
const bin = (v: Reply | undefined): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(typeof v === 'string' ? v : String(v), 'utf8'));

/** The entries of an XREAD reply (read with sendBuffers), by stream key. */
export function xreadEntries(reply: Reply): Map<string, Entry[]> {
  const out = new Map<string, Entry[]>();
  if (reply === null) return out;
  if (!Array.isArray(reply)) throw new Error(`unexpected XREAD reply: ${text(reply).slice(0, 80)}`);
  for (const stream of reply) {
    if (!Array.isArray(stream) || stream.length !== 2 || !Array.isArray(stream[1])) throw new Error('unexpected XREAD stream reply');
    out.set(text(stream[0]), stream[1].map(entryOf));
  }
  return out;
}

/** One `[id, [field, value, …]]` reply as an Entry. */
export function entryOf(e: Reply): Entry {
  if (!Array.isArray(e) || e.length !== 2 || !Array.isArray(e[1])) throw new Error('unexpected stream entry reply');
  const flat = e[1];
  const fields = new Map<string, Buffer>();
  for (let i = 0; i + 1 < flat.length; i += 2) fields.set(text(flat[i]), bin(flat[i + 1]));
  return { id: text(e[0]), fields };
}

/** An entry's JSON header `h`, or null when it has none or it does not parse. */
export function headerOf(e: Entry): Record<string, unknown> | null {
  const h = e.fields.get('h');
  if (h === undefined) return null;
  try {
    const v: unknown = JSON.parse(h.toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** A field's bytes, or an error naming the entry. */
export function fieldOf(e: Entry, name: string): Buffer {
  const v = e.fields.get(name);
  if (v === undefined) throw new Error(`stream entry ${e.id} has no field "${name}"`);
  return v;
}

// ───────────────────────────── shuffle-window samples ─────────────────────────────

/**
 * One Sample as bytes: u32 header length H, H bytes of JSON `{ label, origin, kept?, nx, nt }`, padding
 * to 4, then x (f32 [nx]) and target (f32 [nt]).
 */
export function encodeSample(s: Sample): Buffer {
  const header = Buffer.from(JSON.stringify({ label: s.label, origin: s.origin, ...(s.kept === undefined ? {} : { kept: s.kept }), nx: s.x.length, nt: s.target.length }), 'utf8');
  const at = (4 + header.length + 3) & ~3;
  const out = Buffer.alloc(at + 4 * (s.x.length + s.target.length));
  out.writeUInt32LE(header.length, 0);
  header.copy(out, 4);
  bytesOf(s.x).copy(out, at);
  bytesOf(s.target).copy(out, at + 4 * s.x.length);
  return out;
}

export function decodeSample(b: Buffer, what: string): Sample {
  const n = b.readUInt32LE(0);
  const h = JSON.parse(b.subarray(4, 4 + n).toString('utf8')) as { label: number; origin: RowOrigin; kept?: string[]; nx: number; nt: number };
  const at = (4 + n + 3) & ~3;
  const x = f32Of(b.subarray(at, at + 4 * h.nx), h.nx, what);
  const target = f32Of(b.subarray(at + 4 * h.nx, at + 4 * (h.nx + h.nt)), h.nt, what);
  return { x, target, label: h.label, origin: h.origin, ...(h.kept === undefined ? {} : { kept: h.kept }) };
}

/** Samples as one buffer: u32 count, then per sample u32 length and encodeSample's bytes. */
export function encodeSamples(samples: readonly Sample[]): Buffer {
  const parts = samples.map(encodeSample);
  const out = Buffer.alloc(4 + parts.reduce((n, p) => n + 4 + p.length, 0));
  out.writeUInt32LE(samples.length, 0);
  let at = 4;
  for (const p of parts) {
    out.writeUInt32LE(p.length, at);
    p.copy(out, at + 4);
    at += 4 + p.length;
  }
  return out;
}

export function decodeSamples(b: Buffer, what: string): Sample[] {
  const n = b.readUInt32LE(0);
  const out: Sample[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    const len = b.readUInt32LE(at);
    out.push(decodeSample(b.subarray(at + 4, at + 4 + len), `${what} row ${i}`));
    at += 4 + len;
  }
  return out;
}
