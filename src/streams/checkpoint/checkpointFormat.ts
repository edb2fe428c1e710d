/**
 * What a training checkpoint holds, and its exact binary encoding (docs/checkpoints.md).
 *
 * A checkpoint is everything a killed run needs to continue as if it had never stopped: the weights,
 * the optimizer state, the RNG states, the samples resident in the shuffle window, the source
 * position those samples were read up to, the counters, the input fingerprint and the training
 * config. The position is stored in the same file as the state it produced (RELIABILITY.md §5).
 * The config's canonical JSON and hash are in checkpointConfig.ts, CheckpointError in
 * checkpointError.ts; this module re-exports both.
 *
 * File layout (integers little-endian):
 *
 *   offset 0    8 bytes   magic "DFLWCKPT"
 *          8    u32       format version (1)
 *         12    u32       header length H in bytes
 *         16    H bytes   header: UTF-8 JSON
 *   B = 16+pad8(H)        body: raw little-endian sections (f32, f64, i32, u32), each starting 8-aligned
 *   end − 32   32 bytes   SHA-256 of every byte before it
 *
 * In the header every typed array is a reference `{"$t":"f32","at":<body offset>,"n":<elements>}`,
 * so floats are stored bit for bit (no decimal round trip) and a 25 MB shuffle window costs one
 * memcpy, not 6.4 million number-to-text conversions. The shuffle window is packed column-wise
 * (one f32 section for all x, one for all targets, …) instead of one reference per sample.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import { CheckpointError, formatDifferences } from './checkpointError.js';
import { configHash, describeType, isPlainObject, type JsonValue } from './checkpointConfig.js';
import type { RowOrigin, Sample, SourcePosition, StateArray, StateValue } from '../types.js';

export { CheckpointError, formatDifferences, type CheckpointErrorCode, type Difference } from './checkpointError.js';
export { canonicalJson, configHash, diffConfigs, type JsonValue } from './checkpointConfig.js';
export type { SourcePosition } from '../types.js';

export const CHECKPOINT_FORMAT = 'deltaflow-checkpoint';
export const CHECKPOINT_VERSION = 1;

const MAGIC = 'DFLWCKPT';
const PREAMBLE_BYTES = 16;
const CHECKSUM_BYTES = 32;
const ALIGN = 8;
const IS_LITTLE_ENDIAN_HOST = endianness() === 'LE';

export type { StateArray, StateValue } from '../types.js';

/** One parameter tensor, e.g. `{ name: 'W', shape: [10, 784], data }` (data is a copy, `prod(shape)` floats). */
export interface CheckpointParam {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Counters that must continue across a resume so `rowsTrained + rowsSkipped == dataRows` still holds. */
export interface CheckpointCounters {
  readonly steps: number;
  readonly epoch: number;
  readonly samples: number;
  readonly rowsTrained: number;
  readonly rowsSkipped: number;
  readonly skippedByCode: Readonly<Record<string, number>>;
  /** Any further counter: a number, or a table of numbers (e.g. the source's own counters). */
  readonly [name: string]: number | Readonly<Record<string, number>>;
}

/** Identifies an input file: size, mtime, hashes of its first and last 64 KiB, and optionally of a whole prefix. */
export interface InputFingerprint {
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
  /** SHA-256 (hex) of bytes [0, min(64 KiB, size)). */
  readonly head: string;
  /** SHA-256 (hex) of the last min(64 KiB, size) bytes. */
  readonly tail: string;
  /** SHA-256 (hex) of bytes [0, offset): lets an append-only input be resumed after it grew. */
  readonly prefix?: { readonly offset: number; readonly sha256: string };
}

/** A whole checkpoint; `createCheckpoint` (checkpoint.ts) fills format, version and configHash. */
export interface Checkpoint {
  readonly format: typeof CHECKPOINT_FORMAT;
  readonly version: typeof CHECKPOINT_VERSION;
  readonly weights: readonly CheckpointParam[];
  readonly optimizer: StateValue;
  /** Every generator's `state()`, by role, e.g. `{ shuffle: [a, b, c, d] }`. */
  readonly rng: Readonly<Record<string, readonly number[]>>;
  /** The samples resident in the shuffle window, in window order. */
  readonly window: readonly Sample[];
  readonly position: SourcePosition;
  readonly counters: CheckpointCounters;
  /** Null for a stream without a file (stdin). */
  readonly input: InputFingerprint | null;
  /** The training config that must match on resume (layer specs, lr, optimizer, batch, seed, shuffle window, …). */
  readonly config: JsonValue;
  /** SHA-256 (hex) of `canonicalJson(config)`. */
  readonly configHash: string;
  /** Further operator state (e.g. running metrics), stored as exactly as `optimizer`. */
  readonly extra: { readonly [key: string]: StateValue | undefined };
}

// ---------------------------------------------------------------------------------------------
// Encoding

type SectionKind = 'f32' | 'f64' | 'i32' | 'u32';
interface SectionRef {
  readonly $t: SectionKind;
  readonly at: number;
  readonly n: number;
}

const ARRAY_OF: Record<SectionKind, { new (n: number): StateArray; readonly BYTES_PER_ELEMENT: number }> = {
  f32: Float32Array,
  f64: Float64Array,
  i32: Int32Array,
  u32: Uint32Array,
};

function sectionKind(v: unknown): SectionKind | null {
  if (v instanceof Float32Array) return 'f32';
  if (v instanceof Float64Array) return 'f64';
  if (v instanceof Int32Array) return 'i32';
  if (v instanceof Uint32Array) return 'u32';
  return null;
}

const pad8 = (n: number): number => Math.ceil(n / ALIGN) * ALIGN;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Collects typed arrays into body sections while the header is built. */
class BodyBuilder {
  readonly sections: { array: StateArray; at: number }[] = [];
  bytes = 0;

  add(array: StateArray, where: string): SectionRef {
    const kind = sectionKind(array);
    if (kind === null) throw new CheckpointError('INVALID', where, `${where}: not a stored array type`);
    if (array instanceof Float32Array || array instanceof Float64Array) checkFinite(array, where);
    const ref = { $t: kind, at: this.bytes, n: array.length };
    this.sections.push({ array, at: this.bytes });
    this.bytes = pad8(this.bytes + array.byteLength);
    return ref;
  }

  /** Copy every section into `out` from `start`, little-endian. */
  writeInto(out: Buffer, start: number): void {
    for (const { array, at } of this.sections) {
      const dst = start + at;
      if (IS_LITTLE_ENDIAN_HOST) {
        out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), dst);
      } else {
        const view = new DataView(out.buffer, out.byteOffset + dst, array.byteLength);
        const kind = sectionKind(array);
        for (let i = 0; i < array.length; i++) {
          if (kind === 'f32') view.setFloat32(i * 4, array[i], true);
          else if (kind === 'f64') view.setFloat64(i * 8, array[i], true);
          else if (kind === 'i32') view.setInt32(i * 4, array[i], true);
          else view.setUint32(i * 4, array[i], true);
        }
      }
    }
  }
}

/** NOTE: a checkpoint never stores NaN or ±Infinity (RELIABILITY.md #33): resuming from one could only diverge again. */
function checkFinite(array: Float32Array | Float64Array, where: string): void {
  for (let i = 0; i < array.length; i++) {
    if (!Number.isFinite(array[i])) {
      throw new CheckpointError('NON_FINITE', where, `${where}[${i}] is ${array[i]}: refusing to write a checkpoint holding non-finite numbers`);
    }
  }
}

/** A StateValue as header JSON: typed arrays become section references, −0 a `{"$t":"-0"}` tag. */
function toHeader(value: unknown, where: string, body: BodyBuilder): unknown {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new CheckpointError('NON_FINITE', where, `${where} is ${value}: refusing to write a checkpoint holding non-finite numbers`);
    return Object.is(value, -0) ? { $t: '-0' } : value;
  }
  if (sectionKind(value) !== null) return body.add(value as StateArray, where);
  if (Array.isArray(value)) return value.map((v, i) => toHeader(v, `${where}[${i}]`, body));
  if (isPlainObject(value)) {
    if ('$t' in value) throw new CheckpointError('INVALID', where, `${where}: the key "$t" is reserved by the checkpoint format`);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toHeader(v, `${where}.${k}`, body);
    return out;
  }
  throw new CheckpointError('INVALID', where, `${where} cannot be stored in a checkpoint (${describeType(value)})`);
}

/** The shuffle window packed column-wise: all x in one section, all targets in another, origins as columns. */
function packWindow(samples: readonly Sample[], body: BodyBuilder): unknown {
  const n = samples.length;
  const xSize = n > 0 ? samples[0].x.length : 0;
  const targetSize = n > 0 ? samples[0].target.length : 0;
  const x = new Float32Array(n * xSize);
  const target = new Float32Array(n * targetSize);
  const label = new Int32Array(n);
  const sourceIndex = new Uint32Array(n);
  const line = new Float64Array(n);
  const record = new Float64Array(n);
  const endOffset = new Float64Array(n);
  const sources: string[] = [];
  samples.forEach((s, i) => {
    const where = `window[${i}] (${s.origin.source}:${s.origin.line})`;
    if (!(s.x instanceof Float32Array) || s.x.length !== xSize) {
      throw new CheckpointError('INVALID', 'window', `${where}: x must be a Float32Array of ${xSize} values like window[0], got ${s.x.length}`);
    }
    if (!(s.target instanceof Float32Array) || s.target.length !== targetSize) {
      throw new CheckpointError('INVALID', 'window', `${where}: target must be a Float32Array of ${targetSize} values like window[0], got ${s.target.length}`);
    }
    if (!Number.isInteger(s.label)) throw new CheckpointError('INVALID', 'window', `${where}: label must be an integer, got ${s.label}`);
    x.set(s.x, i * xSize);
    target.set(s.target, i * targetSize);
    label[i] = s.label;
    let k = sources.indexOf(s.origin.source);
    if (k < 0) k = sources.push(s.origin.source) - 1;
    sourceIndex[i] = k;
    line[i] = s.origin.line;
    record[i] = s.origin.record;
    endOffset[i] = s.origin.endOffset;
  });
  return {
    n,
    xSize,
    targetSize,
    sources,
    x: body.add(x, 'window.x'),
    target: body.add(target, 'window.target'),
    label: body.add(label, 'window.label'),
    sourceIndex: body.add(sourceIndex, 'window.sourceIndex'),
    line: body.add(line, 'window.line'),
    record: body.add(record, 'window.record'),
    endOffset: body.add(endOffset, 'window.endOffset'),
  };
}

/**
 * The bytes of a checkpoint file. Checks the checkpoint first (INVALID, NON_FINITE), so nothing
 * unreadable or non-finite is ever written.
 */
export function encodeCheckpoint(ckpt: Checkpoint): Buffer {
  const problem = describeProblem(ckpt);
  if (problem !== null) throw new CheckpointError('INVALID', 'checkpoint', `invalid checkpoint: ${problem}`);
  const body = new BodyBuilder();
  const fields = {
    weights: ckpt.weights.map((p, i) => ({ name: p.name, shape: p.shape, data: body.add(p.data, `weights[${i}] (${p.name})`) })),
    optimizer: toHeader(ckpt.optimizer, 'optimizer', body),
    rng: ckpt.rng,
    window: packWindow(ckpt.window, body),
    position: ckpt.position,
    counters: ckpt.counters,
    input: ckpt.input,
    config: toHeader(ckpt.config, 'config', body),
    configHash: ckpt.configHash,
    extra: toHeader(ckpt.extra, 'extra', body),
  };
  const header = Buffer.from(JSON.stringify({ format: ckpt.format, version: ckpt.version, bodyBytes: body.bytes, ...fields }), 'utf8');
  const bodyStart = PREAMBLE_BYTES + pad8(header.length);
  const total = bodyStart + body.bytes + CHECKSUM_BYTES;
  const out = Buffer.alloc(total);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt32LE(ckpt.version, 8);
  out.writeUInt32LE(header.length, 12);
  header.copy(out, PREAMBLE_BYTES);
  out.fill(0x20, PREAMBLE_BYTES + header.length, bodyStart);
  body.writeInto(out, bodyStart);
  createHash('sha256')
    .update(out.subarray(0, total - CHECKSUM_BYTES))
    .digest()
    .copy(out, total - CHECKSUM_BYTES);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Decoding

/** A fresh typed array with a section's contents (a copy: it outlives the file buffer). */
function readSection(ref: unknown, body: Uint8Array, where: string): StateArray {
  const r = ref as Partial<SectionRef>;
  const kind = r.$t;
  if (kind === undefined || !(kind in ARRAY_OF) || !Number.isSafeInteger(r.at) || !Number.isSafeInteger(r.n)) {
    throw new Error(`${where}: bad section reference ${JSON.stringify(ref)}`);
  }
  const Ctor = ARRAY_OF[kind];
  const at = r.at as number;
  const n = r.n as number;
  const bytes = n * Ctor.BYTES_PER_ELEMENT;
  if (at < 0 || n < 0 || at % ALIGN !== 0 || at + bytes > body.length) throw new Error(`${where}: section [${at}, ${at + bytes}) outside the body of ${body.length} bytes`);
  const array = new Ctor(n);
  if (IS_LITTLE_ENDIAN_HOST) {
    new Uint8Array(array.buffer).set(body.subarray(at, at + bytes));
  } else {
    const view = new DataView(body.buffer, body.byteOffset + at, bytes);
    for (let i = 0; i < n; i++) {
      if (kind === 'f32') array[i] = view.getFloat32(i * 4, true);
      else if (kind === 'f64') array[i] = view.getFloat64(i * 8, true);
      else if (kind === 'i32') array[i] = view.getInt32(i * 4, true);
      else array[i] = view.getUint32(i * 4, true);
    }
  }
  return array;
}

/** Undo `toHeader`: section references back to typed arrays, `-0` tags back to −0. */
function fromHeader(value: unknown, body: Uint8Array, where: string): StateValue {
  if (Array.isArray(value)) return value.map((v, i) => fromHeader(v, body, `${where}[${i}]`));
  if (isPlainObject(value)) {
    if ('$t' in value) return value.$t === '-0' ? -0 : readSection(value, body, where);
    const out: Record<string, StateValue> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromHeader(v, body, `${where}.${k}`);
    return out;
  }
  return value as StateValue;
}

function unpackWindow(packed: unknown, body: Uint8Array): Sample[] {
  const w = packed as Record<string, unknown>;
  const n = w.n;
  const xSize = w.xSize;
  const targetSize = w.targetSize;
  const sources = w.sources;
  if (!isCount(n) || !isCount(xSize) || !isCount(targetSize) || !Array.isArray(sources) || !sources.every((s) => typeof s === 'string')) {
    throw new Error('window: bad packing header');
  }
  const column = <K extends SectionKind>(name: string, kind: K, length: number): StateArray => {
    const ref = w[name] as Partial<SectionRef> | undefined;
    if (ref?.$t !== kind || ref.n !== length) throw new Error(`window.${name}: expected ${length} ${kind} values`);
    return readSection(ref, body, `window.${name}`);
  };
  const x = column('x', 'f32', n * xSize);
  const target = column('target', 'f32', n * targetSize);
  const label = column('label', 'i32', n);
  const sourceIndex = column('sourceIndex', 'u32', n);
  const line = column('line', 'f64', n);
  const record = column('record', 'f64', n);
  const endOffset = column('endOffset', 'f64', n);
  const samples: Sample[] = [];
  for (let i = 0; i < n; i++) {
    const source = sources[sourceIndex[i]];
    if (typeof source !== 'string') throw new Error(`window[${i}]: source index ${sourceIndex[i]} out of range`);
    const origin: RowOrigin = { source, line: line[i], record: record[i], endOffset: endOffset[i] };
    // NOTE: x and target are views into one buffer per column; a sample is never written to after it is read.
    samples.push({
      x: (x as Float32Array).subarray(i * xSize, (i + 1) * xSize),
      target: (target as Float32Array).subarray(i * targetSize, (i + 1) * targetSize),
      label: label[i],
      origin,
    });
  }
  return samples;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/**
 * The checkpoint in a file's bytes. `name` (the file path) appears in errors. A damaged file
 * (zero-length, truncated, bit-flipped, not a checkpoint) throws `CORRUPT`; a file written by
 * another format version throws `VERSION_MISMATCH`.
 */
export function decodeCheckpoint(bytes: Uint8Array, name: string): Checkpoint {
  const corrupt = (detail: string, cause?: unknown): CheckpointError =>
    new CheckpointError('CORRUPT', name, `checkpoint ${name} is corrupt: ${detail}`, [], { cause });
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw corrupt('zero-length file');
  if (buf.length < PREAMBLE_BYTES + CHECKSUM_BYTES) throw corrupt(`truncated: ${buf.length} bytes is shorter than any checkpoint`);
  if (buf.toString('ascii', 0, MAGIC.length) !== MAGIC) throw corrupt('not a deltaflow checkpoint (bad magic bytes)');
  const end = buf.length - CHECKSUM_BYTES;
  const stored = buf.subarray(end).toString('hex');
  const computed = sha256Hex(buf.subarray(0, end));
  if (stored !== computed) {
    throw corrupt(`checksum mismatch (stored ${stored.slice(0, 12)}…, computed ${computed.slice(0, 12)}…)${sizeHint(buf)}`);
  }
  const version = buf.readUInt32LE(8);
  if (version !== CHECKPOINT_VERSION) {
    const differences = [{ path: 'version', checkpoint: String(version), now: String(CHECKPOINT_VERSION) }];
    throw new CheckpointError('VERSION_MISMATCH', name, `checkpoint ${name} has an unsupported format: ${formatDifferences(differences)}`, differences);
  }
  try {
    const headerBytes = buf.readUInt32LE(12);
    const bodyStart = PREAMBLE_BYTES + pad8(headerBytes);
    if (bodyStart > end) throw new Error(`header length ${headerBytes} runs past the end of the file`);
    const header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerBytes)) as Record<string, unknown>;
    if (header.format !== CHECKPOINT_FORMAT || header.version !== CHECKPOINT_VERSION) {
      throw new Error(`header says format ${JSON.stringify(header.format)} version ${JSON.stringify(header.version)}`);
    }
    if (header.bodyBytes !== end - bodyStart) throw new Error(`body is ${end - bodyStart} bytes, header says ${JSON.stringify(header.bodyBytes)}`);
    const body = buf.subarray(bodyStart, end);
    const weights = header.weights;
    if (!Array.isArray(weights)) throw new Error('weights is not a list');
    const ckpt = {
      format: CHECKPOINT_FORMAT,
      version: CHECKPOINT_VERSION,
      weights: weights.map((p: Record<string, unknown>, i: number) => ({ name: p.name, shape: p.shape, data: readSection(p.data, body, `weights[${i}]`) })),
      optimizer: fromHeader(header.optimizer, body, 'optimizer'),
      rng: header.rng,
      window: unpackWindow(header.window, body),
      position: header.position,
      counters: header.counters,
      input: header.input,
      config: fromHeader(header.config, body, 'config'),
      configHash: header.configHash,
      extra: fromHeader(header.extra, body, 'extra'),
    } as Checkpoint;
    const problem = describeProblem(ckpt);
    if (problem !== null) throw new Error(problem);
    return ckpt;
  } catch (err) {
    if (err instanceof CheckpointError && err.code === 'CORRUPT') throw err;
    throw corrupt(err instanceof Error ? err.message : String(err), err);
  }
}

/** For a checksum mismatch: say when the size alone shows the file was cut short. */
function sizeHint(buf: Buffer): string {
  try {
    const headerBytes = buf.readUInt32LE(12);
    if (PREAMBLE_BYTES + headerBytes > buf.length - CHECKSUM_BYTES) {
      return `: the file has ${buf.length} bytes, too few for its ${headerBytes}-byte header (truncated?)`;
    }
    const header = JSON.parse(buf.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerBytes)) as { bodyBytes?: unknown };
    if (typeof header.bodyBytes !== 'number') return '';
    const expected = PREAMBLE_BYTES + pad8(headerBytes) + header.bodyBytes + CHECKSUM_BYTES;
    return expected === buf.length ? '' : `: the file has ${buf.length} bytes, its header promises ${expected} (truncated?)`;
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------
// Structure check, shared by encode (caller bugs) and decode (a file from a buggy writer)

const HEX64 = /^[0-9a-f]{64}$/;

function isUint32(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffffffff;
}

function isNumberTable(v: unknown): boolean {
  return isPlainObject(v) && Object.values(v).every((n) => typeof n === 'number' && Number.isFinite(n));
}

/** The first thing wrong with a checkpoint's structure, or null. */
function describeProblem(c: Checkpoint): string | null {
  if (c.format !== CHECKPOINT_FORMAT) return `format is ${JSON.stringify(c.format)}, expected "${CHECKPOINT_FORMAT}"`;
  if (c.version !== CHECKPOINT_VERSION) return `version is ${JSON.stringify(c.version)}, expected ${CHECKPOINT_VERSION}`;
  if (!Array.isArray(c.weights)) return 'weights is not a list';
  for (const [i, p] of c.weights.entries()) {
    if (typeof p.name !== 'string') return `weights[${i}].name is not a string`;
    if (!Array.isArray(p.shape) || !p.shape.every(isCount)) return `weights[${i}] (${p.name}).shape is not a list of sizes`;
    if (!(p.data instanceof Float32Array)) return `weights[${i}] (${p.name}).data is not a Float32Array`;
    const n = p.shape.reduce((a: number, d: number) => a * d, 1);
    if (p.data.length !== n) return `weights[${i}] (${p.name}) has ${p.data.length} values, its shape [${p.shape.join(', ')}] needs ${n}`;
  }
  if (!isPlainObject(c.rng)) return 'rng is not a table of generator states';
  for (const [role, state] of Object.entries(c.rng)) {
    if (!Array.isArray(state) || !state.every(isUint32)) return `rng.${role} is not a list of uint32 integers`;
  }
  if (!Array.isArray(c.window)) return 'window is not a list of samples';
  const p = c.position as Partial<SourcePosition> | null;
  if (!isPlainObject(p) || typeof p.source !== 'string' || !isCount(p.offset) || !isCount(p.nextRecord) || !(p.nextLine === undefined || (isCount(p.nextLine) && p.nextLine >= 1))) {
    return `position must be { source, offset, nextRecord, nextLine? } with non-negative integers (nextLine ≥ 1), got ${JSON.stringify(p)}`;
  }
  if (!isPlainObject(c.counters)) return 'counters is not a table';
  for (const name of ['steps', 'epoch', 'samples', 'rowsTrained', 'rowsSkipped']) {
    if (!isCount(c.counters[name])) return `counters.${name} must be a non-negative integer, got ${JSON.stringify(c.counters[name])}`;
  }
  for (const [name, v] of Object.entries(c.counters)) {
    if (!(typeof v === 'number' && Number.isFinite(v)) && !isNumberTable(v)) return `counters.${name} must be a number or a table of numbers`;
  }
  if (!isNumberTable(c.counters.skippedByCode)) return 'counters.skippedByCode must be a table of numbers';
  if (c.input !== null) {
    const f = c.input as Partial<InputFingerprint>;
    const prefixOk = f.prefix === undefined || (isCount(f.prefix.offset) && typeof f.prefix.sha256 === 'string' && HEX64.test(f.prefix.sha256));
    if (!isPlainObject(f) || typeof f.path !== 'string' || !isCount(f.size) || typeof f.mtimeMs !== 'number' || !HEX64.test(String(f.head)) || !HEX64.test(String(f.tail)) || !prefixOk) {
      return `input must be null or a fingerprint { path, size, mtimeMs, head, tail, prefix? }, got ${JSON.stringify(f)}`;
    }
  }
  if (!isPlainObject(c.extra)) return 'extra is not a table';
  if (typeof c.configHash !== 'string' || c.configHash !== configHash(c.config)) return 'configHash is not the hash of config';
  return null;
}
