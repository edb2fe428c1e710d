/**
 * Pipelined appends to one Redis stream: `add` issues `XADD key [MAXLEN ~ n] * field value …` at once
 * without waiting for the reply, so consecutive entries travel together (node-redis writes commands
 * issued in the same tick in one go, and Redis answers them in order). The caller bounds what is in
 * flight with `drain(limit)`, which waits for the oldest replies: memory stays bounded however fast
 * entries come. The first failure is kept and thrown by the next `drain`/`flush`, so a write is never
 * lost silently.
 *
 * `MAXLEN ~ n` trims the stream to about n entries (at least n; Redis trims whole macro nodes, so a
 * few dozen more may stay) as entries are added.
 */
import { type RedisConnection, connectRedis } from './redisConnection.js';
import type { RedisTarget } from './redisUrl.js';

export interface StreamWriterOptions {
  /** Trim the stream to about this many entries (`MAXLEN ~`). */
  readonly maxLen?: number;
  /** Connect and command timeout in ms (default 5000). */
  readonly timeoutMs?: number;
}

export class StreamWriter {
  private readonly replies: Promise<void>[] = [];
  private head = 0;
  private failure: unknown = null;
  private readonly prefix: string[];
  /** Entries written and acknowledged by Redis so far. */
  written = 0;

  private constructor(
    private readonly conn: RedisConnection,
    readonly key: string,
    maxLen: number | undefined,
  ) {
    this.prefix = maxLen === undefined ? ['XADD', key, '*'] : ['XADD', key, 'MAXLEN', '~', String(maxLen), '*'];
  }

  /** Connects to the server holding `key` (its master on a cluster). */
  static async open(target: RedisTarget, key: string, options: StreamWriterOptions = {}): Promise<StreamWriter> {
    const conn = await connectRedis(target, { timeoutMs: options.timeoutMs, forKey: key, name: `deltaflow-writer:${key}` });
    return new StreamWriter(conn, key, options.maxLen);
  }

  /** The address actually written to (`HOST:PORT`; on a cluster the key's master). */
  get address(): string {
    return this.conn.address;
  }

  /** The first failed write, or null. */
  get error(): unknown {
    return this.failure;
  }

  /** Entries sent and not yet acknowledged. */
  get inFlight(): number {
    return this.replies.length - this.head;
  }

  /** Appends one entry (a flat list field, value, …) without waiting. */
  add(fields: readonly string[]): void {
    this.replies.push(
      this.conn.send([...this.prefix, ...fields]).then(
        () => {
          this.written++;
        },
        (e: unknown) => {
          this.failure ??= e;
        },
      ),
    );
  }

  /** Waits until at most `limit` entries are in flight; throws the first failure. */
  async drain(limit: number): Promise<void> {
    while (this.inFlight > limit) {
      await this.replies[this.head];
      this.head++;
    }
    if (this.head > 4096) {
      this.replies.splice(0, this.head);
      this.head = 0;
    }
    if (this.failure !== null) throw this.failure;
  }

  /** Waits for every entry sent; throws the first failure. */
  flush(): Promise<void> {
    return this.drain(0);
  }

  /** Flushes, then closes the connection (also after a failure). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } finally {
      await this.conn.close();
    }
  }

  /** Drops the connection without waiting. */
  destroy(): void {
    this.conn.destroy();
  }
}
