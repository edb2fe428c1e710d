/**
 * One connection to the Redis server that holds a given key, through node-redis (`@redis/client`).
 *
 * - node-redis is loaded on first use (a dynamic import), so nothing of deltaflow that does not read
 *   or write Redis loads it.
 * - Replies use RESP2 and arrive as plain arrays of strings (or Buffers with `sendBuffers`), checked
 *   by the small guards at the end of this file: no reply is trusted to have a shape.
 * - Connecting never hangs: the TCP connect and the first PING together get `timeoutMs`, and there is
 *   no automatic reconnection (a lost connection fails the commands in flight with
 *   `REDIS_UNREACHABLE`; the caller decides). Every command gets a timeout too (a blocking read gets
 *   its BLOCK time on top).
 * - Redis Cluster: when the server at the URL is a cluster node and `forKey` is given, the connection
 *   goes to the master that serves that key's slot (`CLUSTER KEYSLOT`, `CLUSTER SLOTS`). deltaflow
 *   sends every command with one key (or keys of one hash tag), so one connection per key is enough
 *   and no command is ever cross-slot. A slot that moves later shows as a `REDIS_COMMAND` error
 *   (MOVED), never as silently missing rows.
 * - Commands issued without waiting for the previous reply are pipelined by node-redis (written
 *   together, answered in order).
 */
import { RedisStreamError } from './redisError.js';
import type { RedisTarget } from './redisUrl.js';

/** A RESP2 reply: a string (or Buffer), an integer, nil, or an array of replies. */
export type Reply = string | Buffer | number | null | Reply[];

/** One argument of a command: text, or binary data (a packed float array). */
export type CommandArg = string | Buffer;

/** An argument as messages show it: binary ones by their size only. */
const shownArg = (a: CommandArg | undefined): string => (a === undefined ? '' : Buffer.isBuffer(a) ? `<${a.length} bytes>` : a);

/** The part of a node-redis client used here. */
interface Client {
  connect(): Promise<unknown>;
  sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown>;
  on(event: 'error', listener: (e: Error) => void): unknown;
  close(): Promise<void>;
  destroy(): void;
}

export interface RedisConnection {
  /** `HOST:PORT` actually connected (the key's master on a cluster). */
  readonly address: string;
  /** Whether the server is a Redis Cluster node. */
  readonly isCluster: boolean;
  /** Sends one command; replies with strings. `extraMs` lengthens the timeout (a blocking read's BLOCK). Arguments may be binary (Buffers). */
  send(args: readonly CommandArg[], extraMs?: number): Promise<Reply>;
  /** Sends one command; bulk strings come back as Buffers (to check their UTF-8 ourselves, or binary values). */
  sendBuffers(args: readonly CommandArg[], extraMs?: number): Promise<Reply>;
  /** Ends the connection after the replies in flight. */
  close(): Promise<void>;
  /** Drops the connection now (a blocked read fails with the connection). */
  destroy(): void;
}

export interface ConnectOptions {
  /** Connect and per-command timeout in ms (default 5000). */
  readonly timeoutMs?: number;
  /** On a cluster, connect to the master serving this key. */
  readonly forKey?: string;
  /** Connection name in `CLIENT LIST` (characters other than letters, digits and `-_.:` become `_`). */
  readonly name?: string;
}

const DEFAULT_TIMEOUT_MS = 5000;

interface NodeRedis {
  createClient(options: object): Client & { withTypeMapping(mapping: object): { sendCommand(args: ReadonlyArray<string | Buffer>): Promise<unknown> } };
  RESP_TYPES: { readonly BLOB_STRING: number };
}

async function loadNodeRedis(): Promise<NodeRedis> {
  const m = await import('@redis/client');
  return { createClient: (options: object) => m.createClient(options), RESP_TYPES: m.RESP_TYPES };
}

function timeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

async function open(redis: NodeRedis, target: RedisTarget, host: string, port: number, timeoutMs: number, name: string | undefined): Promise<RedisConnection> {
  const address = `${host}:${port}`;
  const where = `Redis at ${host.includes(':') ? `[${host}]` : host}:${port}`;
  const client = redis.createClient({
    socket: { host, port, connectTimeout: timeoutMs, reconnectStrategy: false },
    username: target.username,
    password: target.password,
    RESP: 2,
    disableOfflineQueue: true,
    ...(name === undefined ? {} : { name: name.replace(/[^A-Za-z0-9_.:-]/g, '_') }),
  });
  let lost: Error | null = null;
  client.on('error', (e) => {
    lost = e;
  });
  const unreachable = (why: string): RedisStreamError =>
    new RedisStreamError('REDIS_UNREACHABLE', `cannot reach ${where}: ${why} (is redis-server running? start it with: redis-server --port ${port} --appendonly yes)`, address);
  try {
    await timeout(client.connect(), timeoutMs, () => unreachable(`no connection within ${timeoutMs} ms`));
    await timeout(client.sendCommand(['PING']), timeoutMs, () => unreachable(`no answer to PING within ${timeoutMs} ms`));
  } catch (e) {
    client.destroy();
    if (e instanceof RedisStreamError) throw e;
    throw unreachable(e instanceof Error ? e.message : String(e));
  }
  const buffers = client.withTypeMapping({ [redis.RESP_TYPES.BLOB_STRING]: Buffer });
  let isClosed = false;
  const run = async (p: Promise<unknown>, args: readonly CommandArg[], extraMs: number): Promise<Reply> => {
    try {
      const reply = await timeout(p, timeoutMs + extraMs, () => new RedisStreamError('REDIS_TIMEOUT', `${where}: no answer to ${shownArg(args[0])} within ${timeoutMs + extraMs} ms`));
      return asReply(reply);
    } catch (e) {
      if (e instanceof RedisStreamError) throw e;
      const message = e instanceof Error ? e.message : String(e);
      if (isClosed) throw new RedisStreamError('REDIS_UNREACHABLE', `${where}: the connection was closed (${shownArg(args[0])})`);
      if (lost !== null || /socket|closed|ECONN|disconnect/i.test(message)) {
        throw new RedisStreamError('REDIS_UNREACHABLE', `lost the connection to ${where} (${shownArg(args[0])}): ${lost?.message ?? message}`);
      }
      throw new RedisStreamError('REDIS_COMMAND', `${where} refused ${shownArg(args[0])} ${shownArg(args[1])}: ${message}`.replace(/ {2,}/g, ' '));
    }
  };
  return {
    address,
    isCluster: false,
    send: (args, extraMs = 0) => run(client.sendCommand(args), args, extraMs),
    sendBuffers: (args, extraMs = 0) => run(buffers.sendCommand(args), args, extraMs),
    async close() {
      if (isClosed) return;
      isClosed = true;
      try {
        await timeout(client.close(), timeoutMs, () => new Error('close timed out'));
      } catch {
        client.destroy();
      }
    },
    destroy() {
      if (isClosed) return;
      isClosed = true;
      client.destroy();
    },
  };
}

/** Opens a connection to `target` (or, on a cluster, to the master of `forKey`). */
export async function connectRedis(target: RedisTarget, options: ConnectOptions = {}): Promise<RedisConnection> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const redis = await loadNodeRedis();
  const first = await open(redis, target, target.host, target.port, timeoutMs, options.name);
  let info: string;
  try {
    info = asText(await first.send(['INFO', 'cluster']), 'INFO cluster');
  } catch (e) {
    first.destroy();
    throw e;
  }
  if (!/cluster_enabled:1/.test(info)) return first;
  if (options.forKey === undefined) return { ...first, isCluster: true };
  try {
    const slot = asInteger(await first.send(['CLUSTER', 'KEYSLOT', options.forKey]), 'CLUSTER KEYSLOT');
    const master = masterOfSlot(await first.send(['CLUSTER', 'SLOTS']), slot);
    if (master === null) throw new RedisStreamError('REDIS_COMMAND', `${target.display}: no cluster node serves slot ${slot} of key ${JSON.stringify(options.forKey)} (is the cluster complete? redis-cli --cluster check)`);
    if (master.host === target.host && master.port === target.port) return { ...first, isCluster: true };
    await first.close();
    return { ...(await open(redis, target, master.host, master.port, timeoutMs, options.name)), isCluster: true };
  } catch (e) {
    first.destroy();
    throw e;
  }
}

/** The master `{ host, port }` serving `slot` in a CLUSTER SLOTS reply, or null. */
function masterOfSlot(reply: Reply, slot: number): { host: string; port: number } | null {
  for (const range of asArray(reply, 'CLUSTER SLOTS')) {
    const r = asArray(range, 'CLUSTER SLOTS range');
    const from = asInteger(r[0], 'slot');
    const to = asInteger(r[1], 'slot');
    if (slot < from || slot > to) continue;
    const node = asArray(r[2], 'CLUSTER SLOTS node');
    return { host: asText(node[0], 'node host'), port: asInteger(node[1], 'node port') };
  }
  return null;
}

// ───────────────────────────── reply guards ─────────────────────────────

function malformed(what: string, value: unknown): RedisStreamError {
  const shown = Buffer.isBuffer(value) ? `<${value.length} bytes>` : JSON.stringify(value)?.slice(0, 80) ?? String(value);
  return new RedisStreamError('REDIS_COMMAND', `unexpected reply for ${what}: ${shown}`);
}

function asReply(value: unknown): Reply {
  if (value === null || typeof value === 'string' || typeof value === 'number' || Buffer.isBuffer(value)) return value;
  if (Array.isArray(value)) return value.map(asReply);
  throw malformed('a command', value);
}

export function asArray(value: Reply | undefined, what: string): Reply[] {
  if (!Array.isArray(value)) throw malformed(what, value);
  return value;
}

export function asText(value: Reply | undefined, what: string): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  throw malformed(what, value);
}

export function asInteger(value: Reply | undefined, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  if (typeof value === 'string' && /^-?\d+$/.test(value)) return Number(value);
  throw malformed(what, value);
}

export function asBuffer(value: Reply | undefined, what: string): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (typeof value === 'string') return Buffer.from(value, 'utf8');
  throw malformed(what, value);
}
