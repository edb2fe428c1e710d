/**
 * `fromRedisStream`: Samples from a Redis stream, read through a consumer group (`XREADGROUP`),
 * validated like fromCsv's rows (entry forms and messages: redis/redisEntry.ts), with an
 * exactly-once protocol for the state a consumer commits.
 *
 * Reading is pull-driven: the next `count` entries are asked for only after the previous ones were
 * emitted (synchronously, or after a `gate` credit). A live stream blocks in `XREADGROUP … BLOCK
 * blockMs` and reads on when entries arrive; unsubscribing drops the blocked connection and ends.
 * The group is created when missing (`XGROUP CREATE stream group groupStart MKSTREAM`; `groupStart`
 * `0` = the whole stream, `$` = only entries added from now on).
 *
 * Exactly-once in the committed state (at-least-once delivery + an idempotent resume):
 *
 *   1. Each entry the source hands on (emitted, skipped, a header or the end marker) advances
 *      `source.position` = { stream, group, lastId, count, idsHash, header? } BEFORE the Sample is
 *      emitted, so inside a synchronous training step `position` covers exactly the rows learned.
 *   2. The consumer stores that position in its checkpoint, atomically with the model state.
 *   3. Only after the checkpoint is durable does it call `source.commit(position)`: `XACK` of every
 *      entry delivered here with id ≤ position.lastId. Until then the entries stay pending (PEL).
 *   4. A consumer that restarts passes `start` = the checkpoint's position. The source first claims a
 *      crashed consumer's pending entries once idle for ≥ `claimIdleMs` (`XAUTOCLAIM`, so a consumer
 *      started under a new name takes over; it waits until none are held by another name, since
 *      reading on first would reorder them), then reads its own pending entries in id order (`XREADGROUP …
 *      STREAMS key 0`): those with id ≤ start.lastId were learned and checkpointed — they are
 *      acknowledged without being emitted again; the others are emitted, then new entries (`>`).
 *      Entries with id ≤ start.lastId that arrive as new (a re-created group) are acknowledged too.
 *
 * A kill anywhere loses nothing (unacknowledged entries come back) and doubles nothing (covered
 * entries are never emitted again). An entry not yet covered that is gone from the stream (trimmed by
 * MAXLEN, deleted) is an error (`REDIS_ENTRY_LOST`), never a silent gap. The protocol assumes one
 * logical consumer per group at a time (a learner and its restarts). docs/redis.md tells the whole
 * protocol with the CLI.
 *
 * Bounded reading: an end-marker entry (`end=1`, written by `deltaflow publish`) completes the source
 * (unless `endMarker: false`), and so does `maxRows` data entries covered (counted over resumes).
 */
import { Observable } from 'rxjs';
import { connectRedis } from './redis/redisConnection.js';
import { EntryDecoder } from './redis/redisEntry.js';
import { RedisStreamError } from './redis/redisError.js';
import { streamTarget } from './redis/redisUrl.js';
import { type ReadOptions, type SourceState, StreamRead, ack } from './redis/streamRead.js';
import { type RedisStreamPosition, checkPosition, compareIds, hashHex, hashState, initialPosition, isEntryId } from './redis/streamPosition.js';
import type { Sample } from '../types.js';

/** Options of `fromRedisStream`: the stream and group, then how to read (ReadOptions: fromCsv's schema and bad-row options, bounds, timeouts). */
export interface RedisStreamOptions extends ReadOptions {
  /** The stream key (or give it in the URL: `redis://HOST:PORT/STREAM`). */
  readonly stream?: string;
  /** Consumer group (created when missing). */
  readonly group: string;
  /** Source name in messages and origins. Default `redis://HOST:PORT/STREAM`. */
  readonly name?: string;
  /** Where a restart resumes: the position stored in the last durable checkpoint. Default: the start. */
  readonly start?: RedisStreamPosition;
}

/** What the source object adds to its Observable: the position and the commit of the protocol above. */
export interface RedisStreamControl {
  /** The position after the last entry handed on (or `start`, or the initial position). */
  readonly position: RedisStreamPosition;
  /** Entries handed on and not yet acknowledged. */
  readonly uncommitted: number;
  /**
   * Acknowledges (`XACK`) every entry handed on with id ≤ `position.lastId` (default: the current
   * position). Call it only once the checkpoint holding `position` is durable. Resolves to the number
   * of entries acknowledged.
   */
  commit(position?: RedisStreamPosition): Promise<number>;
}

export type RedisStreamSource = Observable<Sample> & RedisStreamControl;


function checkOptions(o: RedisStreamOptions): void {
  const bad = (option: string, rule: string, value: unknown): never => {
    throw new TypeError(`fromRedisStream: option "${option}" must be ${rule}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  const count = (option: string, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) bad(option, `an integer ≥ ${min}`, v);
  };
  if (typeof o.group !== 'string' || o.group === '') bad('group', 'a non-empty string', o.group);
  if (typeof o.consumer !== 'string' || o.consumer === '') bad('consumer', 'a non-empty string', o.consumer);
  if (o.groupStart !== undefined && o.groupStart !== '$' && o.groupStart !== '0' && !isEntryId(o.groupStart)) bad('groupStart', "'0', '$' or an entry id", o.groupStart);
  count('count', o.count, 1);
  count('blockMs', o.blockMs, 1);
  count('maxRows', o.maxRows, 1);
  count('claimIdleMs', o.claimIdleMs, 0);
  count('timeoutMs', o.timeoutMs, 1);
  count('maxBadRows', o.maxBadRows, 0);
  if (o.onBadRow !== undefined && o.onBadRow !== 'error' && o.onBadRow !== 'skip') bad('onBadRow', "'error' or 'skip'", o.onBadRow);
  if (o.maxBadFraction !== undefined && !(o.maxBadFraction >= 0 && o.maxBadFraction <= 1)) bad('maxBadFraction', 'a number in [0, 1]', o.maxBadFraction);
}

/**
 * A pull-driven source of Samples from a Redis stream's consumer group, with the exactly-once
 * protocol of the file comment.
 *
 * @example
 * const source = fromRedisStream('redis://127.0.0.1:6379/rows', { group: 'learner', consumer: 'a', classes: 10, start: saved?.position });
 * source.pipe(batch(32), train(model, opts)).subscribe({
 *   next: () => {
 *     const position = source.position; // taken inside the step: covers exactly the rows trained
 *     writeCheckpointSync({ model, position }); // durable before the commit
 *     void source.commit(position);
 *   },
 * });
 */
export function fromRedisStream(url: string, options: RedisStreamOptions): RedisStreamSource {
  checkOptions(options);
  const target = streamTarget(url, options.stream);
  const start = options.start === undefined ? initialPosition(target.stream, options.group) : checkPosition(options.start, target.stream, options.group);
  const name = options.name ?? target.display;
  const state: SourceState = {
    target,
    name,
    group: start.group,
    lastId: start.lastId,
    count: start.count,
    hash: hashState(start.idsHash),
    header: start.header,
    delivered: [],
    decoder: new EntryDecoder(name, options, start.header),
    conn: null,
    active: null,
  };
  const samples = new Observable<Sample>((subscriber) => {
    if (state.active !== null) {
      subscriber.error(new RedisStreamError('REDIS_MISUSE', `${name}: this source is already being read; subscribe to it once at a time`));
      return;
    }
    const token = {};
    state.active = token;
    const abort = new AbortController();
    const read = new StreamRead(state, options, subscriber, abort.signal);
    read.run().then(
      () => subscriber.complete(),
      (e: unknown) => {
        if (!abort.signal.aborted) subscriber.error(e);
      },
    ).finally(() => {
      if (state.active === token) state.active = null;
    });
    return () => {
      abort.abort();
      read.stop();
      if (state.active === token) state.active = null;
    };
  });
  const source: RedisStreamSource = Object.assign(samples, {
    position: positionOf(state),
    uncommitted: 0,
    commit: (position?: RedisStreamPosition) => commit(state, options.timeoutMs, position ?? positionOf(state)),
  });
  // NOTE: live getters, not values: Object.assign copies a getter's value once.
  Object.defineProperty(source, 'position', { get: () => positionOf(state), enumerable: true });
  Object.defineProperty(source, 'uncommitted', { get: () => state.delivered.length, enumerable: true });
  return source;
}

function positionOf(state: SourceState): RedisStreamPosition {
  const p = { stream: state.target.stream, group: state.group, lastId: state.lastId, count: state.count, idsHash: hashHex(state.hash) };
  return state.header === undefined ? p : { ...p, header: state.header };
}

async function commit(state: SourceState, timeoutMs: number | undefined, position: RedisStreamPosition): Promise<number> {
  const { stream } = state.target;
  if (position.stream !== stream || position.group !== state.group) {
    throw new RedisStreamError('REDIS_BAD_POSITION', `${state.name}: commit of a position of stream ${JSON.stringify(position.stream)}, group ${JSON.stringify(position.group)}`);
  }
  let n = 0;
  while (n < state.delivered.length && compareIds(state.delivered[n], position.lastId) <= 0) n++;
  if (n === 0) return 0;
  const ids = state.delivered.slice(0, n);
  const own = state.conn;
  const conn = own ?? (await connectRedis(state.target, { timeoutMs, forKey: stream }));
  try {
    await ack(conn, stream, position.group, ids);
  } finally {
    if (own === null) await conn.close();
  }
  // Commits may overlap; drop exactly the acknowledged prefix, whatever was removed meanwhile.
  const last = ids[ids.length - 1];
  let k = 0;
  while (k < state.delivered.length && compareIds(state.delivered[k], last) <= 0) k++;
  state.delivered.splice(0, k);
  return ids.length;
}
