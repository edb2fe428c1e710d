/**
 * Where a consumer stands in a Redis stream: the position a checkpoint stores, atomically with the
 * model state it produced (RELIABILITY.md, key decision 5), and the entry-id arithmetic around it.
 *
 * An entry id is `MS-SEQ` (two decimal integers); ids grow along the stream, compared as (ms, seq).
 * `idsHash` folds every covered data entry's id, in order, into 64-bit FNV-1a over the bytes
 * `id "\n"` (http://www.isthe.com/chongo/tech/comp/fnv/): two consumers that covered the same entries
 * in the same order hold the same hash, and a lost or doubled entry changes it.
 *
 *   h₀ = 0xcbf29ce484222325;  for each byte c:  h ← (h ⊕ c) · 0x100000001b3  (mod 2⁶⁴)
 *
 * The product is computed on two 32-bit halves (hi, lo): x · (2⁴⁰ + 0x1b3) = x · 0x1b3 + (x ≪ 40),
 * where x ≪ 40 only adds lo ≪ 8 to the high half.
 */
import { RedisStreamError } from './redisError.js';

/** What a checkpoint stores for a Redis source. Plain JSON: store it as it is. */
export interface RedisStreamPosition {
  /** The stream key. */
  readonly stream: string;
  /** The consumer group. */
  readonly group: string;
  /** Id of the last entry covered (data, header or end entry); `0-0` before any. */
  readonly lastId: string;
  /** Data entries covered (emitted or skipped), from the stream's start over every resume. */
  readonly count: number;
  /** 64-bit FNV-1a of the covered data entries' ids, 16 hex digits (see the file comment). */
  readonly idsHash: string;
  /** The CSV header the row form was read with, when it came from a header entry (so a resume can read on after the header entry was acknowledged). */
  readonly header?: string;
}

const ID = /^(\d{1,20})-(\d{1,20})$/;

/** The position before any entry of `stream` in `group`. */
export function initialPosition(stream: string, group: string): RedisStreamPosition {
  return { stream, group, lastId: '0-0', count: 0, idsHash: 'cbf29ce484222325' };
}

/** Whether `id` is an entry id `MS-SEQ`. */
export function isEntryId(id: string): boolean {
  return ID.test(id);
}

/** The decimal integer in `s[from, to)` if it is 1–15 digits (exact as a double), else -1. */
function smallPart(s: string, from: number, to: number): number {
  if (to <= from || to - from > 15) return -1;
  let v = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/** Sign of `a − b` for entry ids (as (ms, seq), not as text: `9-0` < `10-0`). */
export function compareIds(a: string, b: string): number {
  // Fast path: parts of ≤ 15 digits (every id Redis makes today: ms has 13) compare as doubles.
  const da = a.indexOf('-');
  const db = b.indexOf('-');
  const msA = smallPart(a, 0, da);
  const msB = smallPart(b, 0, db);
  const seqA = smallPart(a, da + 1, a.length);
  const seqB = smallPart(b, db + 1, b.length);
  if (da > 0 && db > 0 && msA >= 0 && msB >= 0 && seqA >= 0 && seqB >= 0) {
    return msA !== msB ? (msA < msB ? -1 : 1) : seqA === seqB ? 0 : seqA < seqB ? -1 : 1;
  }
  const ma = ID.exec(a);
  const mb = ID.exec(b);
  if (ma === null || mb === null) throw new RangeError(`not an entry id: ${JSON.stringify(ma === null ? a : b)}`);
  const ms = BigInt(ma[1]) - BigInt(mb[1]);
  if (ms !== 0n) return ms < 0n ? -1 : 1;
  const seq = BigInt(ma[2]) - BigInt(mb[2]);
  return seq === 0n ? 0 : seq < 0n ? -1 : 1;
}

/** A running idsHash as its two 32-bit halves (what a reader keeps between entries). */
export interface IdsHashState {
  hi: number;
  lo: number;
}

/** The halves of a 16-hex-digit idsHash. */
export function hashState(hash: string): IdsHashState {
  return { hi: Number.parseInt(hash.slice(0, 8), 16) >>> 0, lo: Number.parseInt(hash.slice(8, 16), 16) >>> 0 };
}

/** The 16 hex digits of a hash state. */
export function hashHex(h: IdsHashState): string {
  return h.hi.toString(16).padStart(8, '0') + h.lo.toString(16).padStart(8, '0');
}

/** Folds the bytes `id "\n"` into `h`, in place (see the file comment). */
export function foldInto(h: IdsHashState, id: string): void {
  let { hi, lo } = h;
  for (let i = 0; i <= id.length; i++) {
    const c = i < id.length ? id.charCodeAt(i) & 0xff : 0x0a;
    lo = (lo ^ c) >>> 0;
    const t = lo * 0x1b3; // < 2⁴¹: exact in float64
    const carry = Math.floor(t / 0x100000000);
    hi = (Math.imul(hi, 0x1b3) + carry + (lo << 8)) >>> 0;
    lo = t >>> 0;
  }
  h.hi = hi;
  h.lo = lo;
}

/** The hash after folding in one more id (see the file comment). */
export function foldIdsHash(hash: string, id: string): string {
  const h = hashState(hash);
  foldInto(h, id);
  return hashHex(h);
}

/** Checks a position read back from a checkpoint (JSON); throws `REDIS_BAD_POSITION` naming what is wrong. */
export function checkPosition(value: unknown, stream: string, group: string): RedisStreamPosition {
  const bad = (why: string): never => {
    throw new RedisStreamError('REDIS_BAD_POSITION', `start position for stream ${JSON.stringify(stream)}, group ${JSON.stringify(group)}: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return bad('not an object');
  const p = value as Record<string, unknown>;
  if (p.stream !== stream) bad(`it belongs to stream ${JSON.stringify(p.stream)}`);
  if (p.group !== group) bad(`it belongs to group ${JSON.stringify(p.group)}`);
  if (typeof p.lastId !== 'string' || !isEntryId(p.lastId)) bad(`lastId ${JSON.stringify(p.lastId)} is not an entry id`);
  if (typeof p.count !== 'number' || !Number.isSafeInteger(p.count) || p.count < 0) bad(`count ${JSON.stringify(p.count)} is not a count`);
  if (typeof p.idsHash !== 'string' || !/^[0-9a-f]{16}$/.test(p.idsHash)) bad(`idsHash ${JSON.stringify(p.idsHash)} is not 16 hex digits`);
  if (p.header !== undefined && typeof p.header !== 'string') bad('header is not a string');
  const out: RedisStreamPosition = { stream, group, lastId: String(p.lastId), count: Number(p.count), idsHash: String(p.idsHash) };
  return typeof p.header === 'string' ? { ...out, header: p.header } : out;
}
