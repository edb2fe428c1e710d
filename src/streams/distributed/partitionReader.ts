/**
 * The rows of one partition stream as its owner (a worker) hands them on: read with XRANGE in pages,
 * validated like fromCsv's rows (redis/redisEntry.ts), through a seeded shuffle window — the window of
 * shuffle.ts, pull-driven: the first `window` rows fill it, then each row read takes the place of a
 * resident chosen by `rng.int(window)`, which is handed on; at the end marker the residents are
 * shuffled (Fisher–Yates) and handed on from the end. Window 0 or 1 hands rows on in stream order.
 *
 * The seed of partition p in epoch e is `partitionSeed(seed, e, p) = seed + e − 1 + 1 000 003 · p`:
 * partition 0 shuffles as a single-process run of the same data would (fit seeds epoch e with
 * seed + e − 1), and each partition has its own generator. Everything depends only on the partition's
 * contents and the seed, so a replacement owner that replays the partition from its start and skips
 * the rows already handed on continues exactly where the previous owner was.
 */
import { createRng, shuffleInPlace } from '../../ops/random.js';
import type { RedisConnection } from '../sources/redis/redisConnection.js';
import { EntryDecoder, type EntrySchemaOptions } from '../sources/redis/redisEntry.js';
import { RedisStreamError } from '../sources/redis/redisError.js';
import type { Sample } from '../types.js';
import { entryOf } from './wire.js';

/** The shuffle seed of partition p in epoch e (see the file comment). */
export function partitionSeed(seed: number, epoch: number, p: number): number {
  return seed + epoch - 1 + 1_000_003 * p;
}

export interface PartitionReadOptions {
  readonly schema: EntrySchemaOptions;
  /** Shuffle window in rows (0 or 1: stream order). */
  readonly window: number;
  readonly seed: number;
  /** Entries per XRANGE page; default 512. */
  readonly page?: number;
  /** Longest wait for a partition without its end marker to grow (ms). */
  readonly timeoutMs: number;
  /** For messages: the server and key. */
  readonly name: string;
}

/** A pull-driven reader of one partition: `next(n)` gives up to n more rows (fewer only at its end). */
export class PartitionReader {
  private after = '-';
  private isRead = false;
  private readonly decoder: EntryDecoder;
  private readonly rng;
  private resident: Sample[] = [];
  private isFlushing = false;
  private readonly incoming: Sample[] = [];
  /** Rows handed on so far. */
  taken = 0;

  constructor(
    private readonly conn: RedisConnection,
    private readonly key: string,
    private readonly o: PartitionReadOptions,
  ) {
    this.decoder = new EntryDecoder(o.name, o.schema);
    this.rng = createRng(o.seed);
  }

  /** The next page of rows from the stream into `incoming`; false at the end marker. */
  private async read(): Promise<void> {
    const deadline = performance.now() + this.o.timeoutMs;
    while (this.incoming.length === 0 && !this.isRead) {
      const reply = await this.conn.sendBuffers(['XRANGE', this.key, this.after === '-' ? '-' : `(${this.after}`, '+', 'COUNT', String(this.o.page ?? 512)]);
      const entries = Array.isArray(reply) ? reply.map(entryOf) : [];
      for (const e of entries) {
        this.after = e.id;
        const flat: Buffer[] = [];
        for (const [f, v] of e.fields) flat.push(Buffer.from(f, 'utf8'), v);
        const d = this.decoder.decode(e.id, flat, 0);
        if (d.kind === 'end') {
          this.isRead = true;
          break;
        }
        if (d.kind !== 'data') continue;
        if (!('x' in d.result)) throw d.result;
        this.incoming.push(d.result);
      }
      if (entries.length === 0 && !this.isRead) {
        if (performance.now() > deadline) throw new RedisStreamError('REDIS_TIMEOUT', `${this.o.name}: no entry after ${this.after} within ${this.o.timeoutMs} ms and no end marker (was it published completely?)`);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** One row through the window, or null at the partition's end. */
  private async one(): Promise<Sample | null> {
    const size = this.o.window;
    for (;;) {
      if (this.isFlushing) return this.resident.pop() ?? null;
      if (this.incoming.length === 0) await this.read();
      const sample = this.incoming.shift();
      if (sample === undefined) {
        this.isFlushing = true;
        shuffleInPlace(this.resident, this.rng);
        continue;
      }
      if (size <= 1) return sample;
      if (this.resident.length < size) {
        this.resident.push(sample);
        continue;
      }
      const j = this.rng.int(size);
      const out = this.resident[j];
      this.resident[j] = sample;
      return out;
    }
  }

  /** Up to n more rows; fewer (or none) only at the partition's end. */
  async next(n: number): Promise<{ rows: Sample[]; isEnd: boolean }> {
    const rows: Sample[] = [];
    while (rows.length < n) {
      const s = await this.one();
      if (s === null) return { rows, isEnd: true };
      rows.push(s);
    }
    this.taken += rows.length;
    return { rows, isEnd: false };
  }

  /** Skip n rows (a replacement owner catching up). */
  async skip(n: number): Promise<void> {
    for (let i = 0; i < n; i++) if ((await this.one()) === null) break;
    this.taken += n;
  }
}
