/**
 * Small tools for the Redis source tests: the shared server's URL (test/setup/redis.ts), fresh
 * stream names, and a plain node-redis client to write and inspect streams.
 */
import { createClient } from '@redis/client';

/** The shared server of the global setup. */
export function sharedRedisUrl(): string {
  const url = process.env.DELTAFLOW_TEST_REDIS_URL;
  if (url === undefined || url === '') throw new Error('DELTAFLOW_TEST_REDIS_URL is not set: the global setup test/setup/redis.ts did not run');
  return url;
}

let nKeys = 0;
/** A stream key no other test uses (tests of several files share one server). */
export function freshKey(prefix: string): string {
  return `${prefix}:${process.pid}:${Date.now().toString(36)}:${nKeys++}`;
}

export type TestClient = Awaited<ReturnType<typeof connectTestClient>>;

/** A node-redis client (RESP2, string replies) for writing test data and reading Redis' state. */
export async function connectTestClient(url = sharedRedisUrl()) {
  const client = createClient({ url, RESP: 2, socket: { reconnectStrategy: false } });
  client.on('error', () => {});
  await client.connect();
  const send = async (args: string[]): Promise<unknown> => client.sendCommand(args);
  return {
    send,
    /** XADD each entry (a flat list of field, value) and return their ids in order. */
    async add(stream: string, entries: readonly (readonly string[])[]): Promise<string[]> {
      const ids = await Promise.all(entries.map((fields) => client.sendCommand(['XADD', stream, '*', ...fields])));
      return ids.map(String);
    },
    /** Number of pending entries of a group (XPENDING summary). */
    async pending(stream: string, group: string): Promise<number> {
      const reply = await client.sendCommand(['XPENDING', stream, group]);
      return Array.isArray(reply) ? Number(reply[0]) : -1;
    },
    /** Ids of the stream's entries, in order (XRANGE). */
    async ids(stream: string): Promise<string[]> {
      const reply = await client.sendCommand(['XRANGE', stream, '-', '+']);
      return Array.isArray(reply) ? reply.map((e) => String(Array.isArray(e) ? e[0] : '')) : [];
    },
    /** Each entry's fields as a flat list of strings. */
    async entries(stream: string): Promise<{ id: string; fields: string[] }[]> {
      const reply = await client.sendCommand(['XRANGE', stream, '-', '+']);
      if (!Array.isArray(reply)) return [];
      return reply.map((e) => (Array.isArray(e) ? { id: String(e[0]), fields: Array.isArray(e[1]) ? e[1].map(String) : [] } : { id: '', fields: [] }));
    },
    close: () => client.close(),
  };
}
