/**
 * The Redis URLs deltaflow takes: `redis://HOST:PORT` for a server, `redis://HOST:PORT/STREAM` for a
 * stream on it (`redis://127.0.0.1:6379/rows`). The port defaults to 6379; a password may be given
 * as `redis://:PASSWORD@HOST:PORT/…` (or `USER:PASSWORD@`). The stream name is the rest of the path,
 * percent-decoded, so it may hold `:` and `{…}` hash tags (`redis://h:6379/rows:{0}`).
 *
 * NOTE: unlike node-redis, a path is never a database number: Redis Cluster has only database 0,
 * and `/3` as a stream named "3" would otherwise silently mean database 3.
 */
import { RedisStreamError } from './redisError.js';

export interface RedisTarget {
  readonly host: string;
  readonly port: number;
  readonly username?: string;
  readonly password?: string;
  /** The stream key from the path, or null when the URL has none. */
  readonly stream: string | null;
  /** `redis://HOST:PORT/STREAM` without credentials, for messages. */
  readonly display: string;
}

const FORM = 'expected redis://HOST:PORT/STREAM (e.g. redis://127.0.0.1:6379/rows)';

/** Parses a Redis URL; throws a one-line RedisStreamError `REDIS_BAD_URL` saying what is wrong. */
export function parseRedisUrl(text: string): RedisTarget {
  const bad = (why: string): never => {
    throw new RedisStreamError('REDIS_BAD_URL', `${JSON.stringify(text)} is not a Redis URL: ${why}; ${FORM}`);
  };
  if (typeof text !== 'string' || text === '') bad('it is empty');
  if (text.startsWith('rediss://')) bad('TLS (rediss://) is not supported');
  if (!text.startsWith('redis://')) bad('it does not start with redis://');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return bad('it cannot be parsed');
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') bad('the host is missing');
  const port = url.port === '' ? 6379 : Number(url.port);
  if (!Number.isSafeInteger(port) || port < 1 || port > 65535) bad(`port ${url.port} is out of range`);
  if (url.search !== '' || url.hash !== '') bad('it has a query or a fragment');
  const path = url.pathname.replace(/^\//, '');
  let stream: string | null = null;
  if (path !== '') {
    try {
      stream = decodeURIComponent(path);
    } catch {
      bad('the stream name is not valid percent-encoding');
    }
  }
  const username = url.username === '' ? undefined : decodeURIComponent(url.username);
  const password = url.password === '' ? undefined : decodeURIComponent(url.password);
  const server = `redis://${url.hostname}:${port}`;
  return { host, port, username, password, stream, display: stream === null ? server : `${server}/${stream}` };
}

/** The target of a stream: the URL's stream, or `stream` when the URL has none (both: they must agree). */
export function streamTarget(text: string, stream: string | undefined): RedisTarget & { readonly stream: string } {
  const t = parseRedisUrl(text);
  const key = t.stream ?? stream;
  if (key === undefined || key === '') {
    throw new RedisStreamError('REDIS_BAD_URL', `${t.display}: no stream given; name it in the URL (redis://HOST:PORT/STREAM) or as the stream option`);
  }
  if (t.stream !== null && stream !== undefined && stream !== t.stream) {
    throw new RedisStreamError('REDIS_BAD_URL', `${t.display}: the URL names stream ${JSON.stringify(t.stream)} but the stream option is ${JSON.stringify(stream)}`);
  }
  const display = t.stream === null ? `${t.display}/${key}` : t.display;
  return { ...t, stream: key, display };
}
