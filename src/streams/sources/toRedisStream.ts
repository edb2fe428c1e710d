/**
 * `toRedisStream`: an operator that appends each record it sees to a Redis stream and passes it on
 * unchanged — the sink of `online --predictions redis://HOST:PORT/STREAM`.
 *
 * One record is one entry: `id` first (the row's identity, RowOrigin.id, so a consumer can join a
 * prediction with a label that arrives later), then the record's other fields in their order. Values:
 * strings as they are, numbers in their shortest round-trip form (`String(v)`), booleans as
 * `true`/`false`, number arrays (class probabilities) as JSON (`[0.1,0.9]`).
 *
 * Writes are pipelined (redis/streamWriter.ts): a record passes on at once, its XADD is in flight.
 * Completion waits until Redis has acknowledged every entry, then completes downstream; a failed
 * write errors the stream. At most `maxInFlight` entries may wait for Redis: a stream faster than
 * Redis for that long fails with a message saying so rather than growing memory without bound.
 */
import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { RedisStreamError } from './redis/redisError.js';
import { streamTarget } from './redis/redisUrl.js';
import { StreamWriter } from './redis/streamWriter.js';

/** A record to write: an `id` and any fields. */
export interface StreamRecord {
  readonly id: string;
  readonly [field: string]: string | number | boolean | readonly number[];
}

export interface ToRedisStreamOptions {
  /** Trim the stream to about this many entries (`MAXLEN ~`). */
  readonly maxLen?: number;
  /** Most entries waiting for Redis' reply before the stream fails (default 65536). */
  readonly maxInFlight?: number;
  /** Connect and command timeout in ms (default 5000). */
  readonly timeoutMs?: number;
}

function fieldsOf(record: StreamRecord): string[] {
  const out = ['id', record.id];
  for (const [name, v] of Object.entries(record)) {
    if (name === 'id') continue;
    out.push(name, typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  }
  return out;
}

/**
 * Appends every record to the stream at `url` (`redis://HOST:PORT/STREAM`, or give `stream`) and
 * passes it on.
 *
 * @example
 * predictions$.pipe(toRedisStream('redis://127.0.0.1:6379/predictions', undefined, { maxLen: 100_000 })).subscribe();
 */
export function toRedisStream<T extends StreamRecord>(url: string, stream?: string, options: ToRedisStreamOptions = {}): MonoTypeOperatorFunction<T> {
  const target = streamTarget(url, stream);
  const maxInFlight = options.maxInFlight ?? 65536;
  if (options.maxLen !== undefined && !(Number.isSafeInteger(options.maxLen) && options.maxLen >= 1)) {
    throw new TypeError(`toRedisStream: option "maxLen" must be an integer ≥ 1, got ${String(options.maxLen)}`);
  }
  return (source) =>
    new Observable<T>((subscriber) => {
      let isClosed = false;
      const opening = StreamWriter.open(target, target.stream, options);
      const queued: string[][] = [];
      let writer: StreamWriter | null = null;
      const fail = (e: unknown): void => {
        if (isClosed) return;
        isClosed = true;
        subscriber.error(e);
      };
      opening.then(
        (w) => {
          if (isClosed) return void w.destroy();
          writer = w;
          for (const fields of queued.splice(0)) w.add(fields);
          w.drain(maxInFlight).catch(fail);
        },
        fail,
      );
      const subscription = source.subscribe({
        next: (record) => {
          let fields: string[];
          try {
            fields = fieldsOf(record);
          } catch (e) {
            return fail(e);
          }
          if (writer !== null && writer.error !== null) return fail(writer.error);
          const inFlight = writer === null ? queued.push(fields) : (writer.add(fields), writer.inFlight);
          if (inFlight > maxInFlight) {
            return fail(new RedisStreamError('REDIS_TIMEOUT', `toRedisStream: ${inFlight} entries wait for ${target.display}; Redis does not keep up with the stream (maxInFlight ${maxInFlight})`));
          }
          subscriber.next(record);
        },
        error: (e: unknown) => {
          fail(e);
        },
        complete: () => {
          opening
            .then(async (w) => {
              for (const fields of queued.splice(0)) w.add(fields);
              await w.close();
              if (!isClosed) {
                isClosed = true;
                subscriber.complete();
              }
            })
            .catch(fail);
        },
      });
      return () => {
        isClosed = true;
        subscription.unsubscribe();
        void opening.then((w) => w.close()).catch(() => {});
      };
    });
}
