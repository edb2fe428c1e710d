/**
 * `RedisStreamError`: what goes wrong between deltaflow and a Redis server, as one line naming the
 * server or the stream, and a code for programs. Problems of an entry's *data* (a bad value, a missing
 * column) are CsvErrors instead (redisEntry.ts), so they follow the same skip policy as a CSV row.
 */

export type RedisStreamErrorCode =
  /** The URL is not `redis://HOST:PORT[/STREAM]`. */
  | 'REDIS_BAD_URL'
  /** No connection within the timeout, or the connection was lost. */
  | 'REDIS_UNREACHABLE'
  /** A command got no answer within the timeout. */
  | 'REDIS_TIMEOUT'
  /** Redis refused a command (wrong type of key, out of memory, a cluster redirection…). */
  | 'REDIS_COMMAND'
  /** An entry not yet covered by a checkpoint is gone from the stream (trimmed or deleted). */
  | 'REDIS_ENTRY_LOST'
  /** A start position or a commit does not belong to this stream and group, or is malformed. */
  | 'REDIS_BAD_POSITION'
  /** Misuse of a source: a second subscription at once. */
  | 'REDIS_MISUSE';

export class RedisStreamError extends Error {
  constructor(
    readonly code: RedisStreamErrorCode,
    message: string,
    /** `host:port` of the node the error is about, when one is (a node that cannot be reached). */
    readonly address?: string,
  ) {
    super(message);
    this.name = 'RedisStreamError';
  }
}
