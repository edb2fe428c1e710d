/**
 * One subscription of fromRedisStream (fromRedisStream.ts has the protocol): its two connections (commands,
 * and the blocking reads), the recovery at start — group creation, XAUTOCLAIM of a predecessor's
 * pending entries, this consumer's own pending entries in id order — then the live XREADGROUP loop,
 * handing each entry on with the position advanced first. `SourceState` is what the source keeps
 * across subscriptions (position, entries to acknowledge, the decoder with its column plan).
 */
import type { Subscriber } from 'rxjs';
import { CsvError, type SkipReport, noDataError } from '../csvErrors.js';
import type { CsvCounters } from '../fromCsv.js';
import type { Gate } from '../gate.js';
import { type RedisConnection, type Reply, asArray, asBuffer, asText, connectRedis } from './redisConnection.js';
import { type DecodedEntry, EntryDecoder, type EntrySchemaOptions, RedisEntryError } from './redisEntry.js';
import { RedisStreamError } from './redisError.js';
import type { RedisTarget } from './redisUrl.js';
import { type IdsHashState, compareIds, foldInto } from './streamPosition.js';
import type { Sample } from '../../types.js';

/** How fromRedisStream reads: its consumer, bounds and timeouts, and fromCsv's schema and bad-row options. */
export interface ReadOptions extends EntrySchemaOptions {
  /** This consumer's name in the group. */
  readonly consumer: string;
  /** Id a missing group is created at: `0` (default, the whole stream) or `$` (only new entries), or an entry id. */
  readonly groupStart?: string;
  /** Entries asked for per XREADGROUP (default 256). */
  readonly count?: number;
  /** How long one XREADGROUP blocks waiting for new entries, in ms (default 1000); it then blocks again. */
  readonly blockMs?: number;
  /** Complete at an end-marker entry (`end=…`), default true; with false it is passed over. */
  readonly endMarker?: boolean;
  /** Complete once this many data entries are covered (position.count, over resumes). */
  readonly maxRows?: number;
  /**
   * At start, claim other consumers' pending entries once idle this long (default 30000 ms); the
   * source waits for them before reading on (a crashed predecessor's entries come first).
   */
  readonly claimIdleMs?: number;
  /** Connect and command timeout in ms (default 5000). */
  readonly timeoutMs?: number;
  /** Bad entries: fail (`error`, default) or skip, count and report (`skip`); structural problems always fail. */
  readonly onBadRow?: 'error' | 'skip';
  readonly maxBadRows?: number;
  /** Checked when a bounded read completes. */
  readonly maxBadFraction?: number;
  /** Called with every skipped entry (its `id` is the entry id). */
  readonly onSkip?: (report: SkipReport) => void;
  /** Counters filled in while reading (`bytesRead` counts field bytes). */
  readonly counters?: CsvCounters;
  /** Credits for an asynchronous consumer (see gate.ts). */
  readonly gate?: Gate;
}

const DEFAULT_COUNT = 256;
const DEFAULT_BLOCK_MS = 1000;
const DEFAULT_CLAIM_IDLE_MS = 30_000;
const ACK_CHUNK = 1000;

/** The state a source keeps across its subscriptions (one at a time): where it is, what to acknowledge. */
export interface SourceState {
  readonly target: RedisTarget & { readonly stream: string };
  readonly name: string;
  readonly group: string;
  /** The position, kept as fields (the hash as halves) so an entry costs no object nor hex string. */
  lastId: string;
  count: number;
  readonly hash: IdsHashState;
  header: string | undefined;
  /** Ids handed on and not acknowledged yet, in id order. */
  delivered: string[];
  readonly decoder: EntryDecoder;
  /** The command connection of the running subscription (commits use it), or null. */
  conn: RedisConnection | null;
  active: object | null;
}

/** XACK in chunks, pipelined (issued together, awaited together). */
export async function ack(conn: RedisConnection, stream: string, group: string, ids: readonly string[]): Promise<void> {
  const sends: Promise<Reply>[] = [];
  for (let i = 0; i < ids.length; i += ACK_CHUNK) sends.push(conn.send(['XACK', stream, group, ...ids.slice(i, i + ACK_CHUNK)]));
  await Promise.all(sends);
}

/** One entry of a reply: its id and fields (null when the entry was deleted but is still pending). */
interface RawEntry {
  readonly id: string;
  readonly fields: Buffer[] | null;
}

function entriesOf(reply: Reply): RawEntry[] {
  if (reply === null) return [];
  const out: RawEntry[] = [];
  for (const stream of asArray(reply, 'XREADGROUP')) {
    const entries = asArray(asArray(stream, 'XREADGROUP stream')[1], 'XREADGROUP entries');
    for (const e of entries) {
      const pair = asArray(e, 'XREADGROUP entry');
      const fields = pair[1] === null || pair[1] === undefined ? null : asArray(pair[1], 'entry fields').map((f) => asBuffer(f, 'entry field'));
      out.push({ id: asText(pair[0], 'entry id'), fields });
    }
  }
  return out;
}

/** One subscription: connections, recovery of pending entries, then the live read. */
export class StreamRead {
  private reader: RedisConnection | null = null;
  private readonly counters: CsvCounters | undefined;
  private readonly toAck: string[] = [];
  private emitted = 0;
  private skipped = 0;

  constructor(
    private readonly state: SourceState,
    private readonly o: ReadOptions,
    private readonly subscriber: Subscriber<Sample>,
    private readonly signal: AbortSignal,
  ) {
    this.counters = o.counters;
  }

  stop(): void {
    this.reader?.destroy();
  }

  async run(): Promise<void> {
    const { state, o } = this;
    const { stream } = state.target;
    const group = state.group;
    const options = { timeoutMs: o.timeoutMs, forKey: stream };
    // Named in CLIENT LIST: `deltaflow-source:CONSUMER` (commands) and `…:read` (the blocking reads).
    const conn = await connectRedis(state.target, { ...options, name: `deltaflow-source:${o.consumer}` });
    if (this.signal.aborted) return conn.destroy();
    state.conn = conn;
    try {
      this.reader = await connectRedis(state.target, { ...options, name: `deltaflow-source:${o.consumer}:read` });
      if (this.signal.aborted) return;
      await this.createGroup(conn, stream, group);
      await this.claim(conn, stream, group);
      if (this.isDone()) return; // a bounded read resumed past its maxRows
      // This consumer's pending entries, in id order (`0` = from the start of its history).
      let after = '0';
      for (;;) {
        const entries = entriesOf(await this.readGroup(after, 0));
        if (entries.length === 0) break;
        for (const e of entries) {
          after = e.id;
          if (this.signal.aborted) return;
          // Awaited only while waiting for a gate credit: no microtask per entry otherwise.
          const taken = this.take(e);
          if (typeof taken === 'boolean' ? taken : await taken) return await this.flushAcks(conn);
        }
        await this.flushAcks(conn);
      }
      while (!this.isDone()) {
        const entries = entriesOf(await this.readGroup('>', o.blockMs ?? DEFAULT_BLOCK_MS));
        for (const e of entries) {
          if (this.signal.aborted) return;
          const taken = this.take(e);
          if (typeof taken === 'boolean' ? taken : await taken) return await this.flushAcks(conn);
        }
        await this.flushAcks(conn);
      }
    } finally {
      this.reader?.destroy();
      if (state.conn === conn) state.conn = null;
      await conn.close();
    }
  }

  private isDone(): boolean {
    const max = this.o.maxRows;
    return this.signal.aborted || (max !== undefined && this.state.count >= max);
  }

  private async createGroup(conn: RedisConnection, stream: string, group: string): Promise<void> {
    try {
      await conn.send(['XGROUP', 'CREATE', stream, group, this.o.groupStart ?? '0', 'MKSTREAM']);
    } catch (e) {
      if (!(e instanceof RedisStreamError && /BUSYGROUP/.test(e.message))) throw e;
    }
  }

  /**
   * Takes over every entry other consumers of the group hold pending: XAUTOCLAIM (ids only) of those
   * idle ≥ claimIdleMs, again until no other consumer holds any. NOTE: reading on while a predecessor
   * still holds entries would learn later entries first and, once its entries were claimed after the
   * position had moved past them, acknowledge them unlearned; so a consumer started under a new name
   * waits (up to claimIdleMs) for a crashed predecessor's entries to become claimable. Entries still
   * held after 2 × claimIdleMs + 1 s mean another consumer is reading the group: an error.
   */
  private async claim(conn: RedisConnection, stream: string, group: string): Promise<void> {
    const idleMs = this.o.claimIdleMs ?? DEFAULT_CLAIM_IDLE_MS;
    const deadline = Date.now() + 2 * idleMs + 1000;
    for (;;) {
      let cursor = '0-0';
      do {
        const reply = asArray(await conn.send(['XAUTOCLAIM', stream, group, this.o.consumer, String(idleMs), cursor, 'COUNT', '1000', 'JUSTID']), 'XAUTOCLAIM');
        cursor = asText(reply[0], 'XAUTOCLAIM cursor');
        // Redis 7 drops pending entries that no longer exist from the PEL and lists them here.
        for (const id of reply[2] === undefined ? [] : asArray(reply[2], 'XAUTOCLAIM deleted')) this.checkNotLost(asText(id, 'deleted id'));
      } while (cursor !== '0-0' && !this.signal.aborted);
      const others = await this.otherHolders(conn, stream, group);
      if (others.length === 0 || this.signal.aborted) return;
      if (Date.now() > deadline) {
        const held = others.map(([name, n]) => `${JSON.stringify(name)} holds ${n}`).join(', ');
        throw new RedisStreamError(
          'REDIS_MISUSE',
          `${this.state.name}: other consumers of group ${JSON.stringify(group)} keep entries pending (${held}) for longer than 2 × claimIdleMs: another consumer is reading this group; a learner needs a group of its own`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(20, Math.min(500, idleMs / 4)));
        this.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }

  /** `[consumer, pending count]` of the group's other consumers with pending entries (XPENDING summary). */
  private async otherHolders(conn: RedisConnection, stream: string, group: string): Promise<[string, number][]> {
    const summary = asArray(await conn.send(['XPENDING', stream, group]), 'XPENDING');
    const consumers = summary[3] === null || summary[3] === undefined ? [] : asArray(summary[3], 'XPENDING consumers');
    const out: [string, number][] = [];
    for (const c of consumers) {
      const pair = asArray(c, 'XPENDING consumer');
      const name = asText(pair[0], 'consumer name');
      const n = Number(asText(pair[1], 'pending count'));
      if (name !== this.o.consumer && n > 0) out.push([name, n]);
    }
    return out;
  }

  private checkNotLost(id: string): void {
    if (compareIds(id, this.state.lastId) <= 0) return;
    throw new RedisStreamError(
      'REDIS_ENTRY_LOST',
      `${this.state.name} entry ${id} is gone from the stream (trimmed or deleted) before a checkpoint covered it; its row is lost — keep streams longer (publish --maxlen) than the consumer lags`,
    );
  }

  private readGroup(id: string, blockMs: number): Promise<Reply> {
    const reader = this.reader;
    if (reader === null) return Promise.resolve(null);
    const o = this.o;
    let count = o.count ?? DEFAULT_COUNT;
    if (o.maxRows !== undefined) count = Math.max(1, Math.min(count, o.maxRows - this.state.count));
    const args = ['XREADGROUP', 'GROUP', this.state.group, o.consumer, 'COUNT', String(count)];
    if (blockMs > 0) args.push('BLOCK', String(blockMs));
    args.push('STREAMS', this.state.target.stream, id);
    return reader.sendBuffers(args, blockMs);
  }

  private async flushAcks(conn: RedisConnection): Promise<void> {
    if (this.toAck.length === 0) return;
    const ids = this.toAck.splice(0);
    await ack(conn, this.state.target.stream, this.state.group, ids);
  }

  /**
   * Hands on one entry; returns true when the source is complete (end marker, maxRows). Returns a
   * promise only while it waits for a gate credit.
   */
  private take(e: RawEntry): boolean | Promise<boolean> {
    const { state } = this;
    if (compareIds(e.id, state.lastId) <= 0) {
      // Covered by the start position's checkpoint: acknowledge, never emit again.
      this.toAck.push(e.id);
      return false;
    }
    if (e.fields === null) {
      this.checkNotLost(e.id);
      return false;
    }
    if (this.counters !== undefined) for (const f of e.fields) this.counters.bytesRead += f.length;
    const decoded: DecodedEntry = state.decoder.decode(e.id, e.fields, state.count);
    if (decoded.kind !== 'data') {
      state.lastId = e.id;
      state.header = state.decoder.header ?? undefined;
      state.delivered.push(e.id);
      if (decoded.kind === 'end' && this.o.endMarker !== false) {
        this.checkEnd();
        return true;
      }
      return false;
    }
    const result = decoded.result;
    const gate = result instanceof CsvError ? undefined : this.o.gate;
    const wait = gate?.acquire(this.signal);
    if (wait !== undefined) return wait.then(() => this.signal.aborted || this.handOn(e.id, result, decoded.raw));
    return this.handOn(e.id, result, decoded.raw);
  }

  /** Advances the position past a data entry, then emits its Sample or skips it. */
  private handOn(id: string, result: Sample | CsvError, raw: string): boolean {
    const { state } = this;
    const record = state.count;
    state.lastId = id;
    state.count++;
    foldInto(state.hash, id);
    state.delivered.push(id);
    const c = this.counters;
    if (c !== undefined) c.dataRows++;
    if (result instanceof CsvError) this.skip(result, record, raw, id);
    else {
      this.emitted++;
      if (c !== undefined) c.rowsEmitted++;
      this.subscriber.next(result);
    }
    if (this.o.maxRows !== undefined && state.count >= this.o.maxRows) {
      this.checkEnd();
      return true;
    }
    return false;
  }

  private skip(err: CsvError, record: number, raw: string, id: string): void {
    const o = this.o;
    if (o.onBadRow !== 'skip' || !err.isRowLevel) throw err;
    this.skipped++;
    const c = this.counters;
    if (c !== undefined) {
      c.rowsSkipped++;
      c.skippedByCode[err.code] = (c.skippedByCode[err.code] ?? 0) + 1;
    }
    o.onSkip?.({ source: this.state.name, line: record + 1, record, column: err.column, code: err.code as SkipReport['code'], message: err.message, raw, id });
    const skipped = c?.rowsSkipped ?? this.skipped;
    if (o.maxBadRows !== undefined && skipped > o.maxBadRows) {
      throw new RedisEntryError(id, { source: this.state.name, line: record + 1, column: 0, code: 'CSV_TOO_MANY_BAD_ROWS' }, `${this.state.name}: too many bad rows: ${skipped} skipped, more than maxBadRows ${o.maxBadRows} (last: ${err.message})`);
    }
  }

  /** At the end of a bounded read: rows at all, and the bad-row fraction. */
  private checkEnd(): void {
    const o = this.o;
    const c = this.counters;
    if (this.emitted === 0 && this.state.count === 0) throw noDataError(this.state.name, this.skipped > 0 ? ` (all ${this.skipped} rows were skipped)` : '');
    if (c !== undefined && o.maxBadFraction !== undefined && c.rowsSkipped > o.maxBadFraction * c.dataRows) {
      const pct = ((100 * c.rowsSkipped) / c.dataRows).toFixed(1);
      throw new CsvError({ source: this.state.name, line: 0, column: 0, code: 'CSV_TOO_MANY_BAD_ROWS' }, `${this.state.name}: too many bad rows: ${c.rowsSkipped} of ${c.dataRows} rows skipped (${pct}%), more than maxBadFraction ${o.maxBadFraction}`);
    }
  }
}
