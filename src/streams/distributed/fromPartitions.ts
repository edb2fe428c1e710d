/**
 * `fromPartitions`: the rows of N partition streams (`deltaflow publish --partitions N`: row i in
 * partition i mod N, keys from partitionKey) read back round-robin — row k from partition k mod N —
 * which is the published file's order. So a run on the partitions with the same shuffle window and
 * seed is the file's run bit for bit, on one Redis or on a Cluster whose masters each hold some of
 * the partitions (one connection per partition, to the master of its slot; every command names one
 * key).
 *
 * Rows are validated like fromCsv's (redis/redisEntry.ts: the header entry names the columns; a bad
 * value names the entry id), read with XRANGE in pages of `count` (pull-driven: the next page is asked
 * for once the previous rows were emitted), and end at the first partition whose end marker comes
 * where its next row would (a partition that ended early would otherwise leave a gap in the order).
 * A partition without an end marker is waited for, up to `timeoutMs`, then it is an error naming the
 * key — never a silent end.
 *
 * Positions: row k's origin has `record = k`, `endOffset = k + 1` (fit's checkpoints store it as the
 * position), and `start.nextRecord = k` reads on from row k (partition p skips its first
 * ⌈(k − p) / N⌉ rows).
 */
import { Observable } from 'rxjs';
import { partitionKey } from '../sources/redis/partitions.js';
import { connectRedis, type RedisConnection } from '../sources/redis/redisConnection.js';
import { EntryDecoder, type EntrySchemaOptions } from '../sources/redis/redisEntry.js';
import { RedisStreamError } from '../sources/redis/redisError.js';
import { parseRedisUrl } from '../sources/redis/redisUrl.js';
import type { Sample, SourcePosition } from '../types.js';
import { entryOf } from './wire.js';

export interface PartitionsOptions extends EntrySchemaOptions {
  /** The stream name given to publish (`--stream`). */
  readonly stream: string;
  /** N: the number of partitions published. */
  readonly partitions: number;
  /** Read on from this position (a checkpoint's): row `nextRecord`. */
  readonly start?: SourcePosition;
  /** Entries per XRANGE page; default 256. */
  readonly count?: number;
  /** Connect and command timeout, and the longest wait for a partition's next entry (ms); default 5000. */
  readonly timeoutMs?: number;
}

interface Partition {
  readonly key: string;
  readonly conn: RedisConnection;
  readonly decoder: EntryDecoder;
  /** Exclusive start of the next XRANGE. */
  after: string;
  readonly rows: Sample[];
  isEnded: boolean;
  toSkip: number;
}

/**
 * The partitions' rows in the published file's order (see the file comment).
 *
 * @example fit(model, { trainSource: () => fromPartitions('redis://127.0.0.1:6379', { stream: 'rows', partitions: 2, classes: 10 }), … })
 */
export function fromPartitions(url: string, options: PartitionsOptions): Observable<Sample> {
  const target = parseRedisUrl(url);
  const n = options.partitions;
  if (!(Number.isSafeInteger(n) && n >= 1)) throw new RangeError(`fromPartitions: partitions must be a positive integer, got ${n}`);
  const count = options.count ?? 256;
  const timeoutMs = options.timeoutMs ?? 5000;
  const start = options.start?.nextRecord ?? 0;
  const name = `${target.display.replace(/\/.*$/, '')}/${options.stream}`;
  return new Observable<Sample>((subscriber) => {
    let isClosed = false;
    const parts: Partition[] = [];
    const run = async (): Promise<void> => {
      for (let p = 0; p < n; p++) {
        const key = n === 1 ? options.stream : partitionKey(options.stream, p, n);
        const conn = await connectRedis(target, { forKey: key, timeoutMs, name: `deltaflow-partition:${key}` });
        parts.push({ key, conn, decoder: new EntryDecoder(`${target.display.replace(/\/.*$/, '')}/${key}`, options), after: '-', rows: [], isEnded: false, toSkip: Math.max(0, Math.ceil((start - p) / n)) });
      }
      let k = start;
      for (;;) {
        if (isClosed) return;
        const part = parts[k % n];
        const deadline = performance.now() + timeoutMs;
        while (part.rows.length === 0 && !part.isEnded) {
          const reply = await part.conn.sendBuffers(['XRANGE', part.key, part.after === '-' ? '-' : `(${part.after}`, '+', 'COUNT', String(count)]);
          const entries = Array.isArray(reply) ? reply.map(entryOf) : [];
          for (const e of entries) {
            part.after = e.id;
            const flat: Buffer[] = [];
            for (const [f, v] of e.fields) flat.push(Buffer.from(f, 'utf8'), v);
            const d = part.decoder.decode(e.id, flat, k);
            if (d.kind === 'end') {
              part.isEnded = true;
              break;
            }
            if (d.kind !== 'data') continue;
            if (!('x' in d.result)) throw d.result;
            if (part.toSkip > 0) {
              part.toSkip--;
              continue;
            }
            part.rows.push(d.result);
          }
          if (part.rows.length === 0 && !part.isEnded && entries.length === 0) {
            if (performance.now() > deadline) throw new RedisStreamError('REDIS_TIMEOUT', `${name}: partition ${part.key} has no entry after ${part.after} within ${timeoutMs} ms and no end marker (was it published completely?)`);
            await new Promise((r) => setTimeout(r, 20));
          }
        }
        const row = part.rows.shift();
        if (row === undefined) break;
        subscriber.next({ ...row, origin: { ...row.origin, source: name, record: k, line: k + 2, endOffset: k + 1 } });
        k++;
      }
      subscriber.complete();
    };
    run().catch((e: unknown) => subscriber.error(e)).finally(() => {
      for (const p of parts) p.conn.destroy();
    });
    return () => {
      isClosed = true;
    };
  });
}
