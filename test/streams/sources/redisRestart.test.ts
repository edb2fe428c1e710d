/**
 * fromRedisStream when its Redis goes away: a killed server fails the read in one line (never a hang),
 * and after a restart with AOF on — the data folder kept — a learner resuming from its last position
 * reads on exactly where it stopped. Uses its own server (test/helpers/redis.ts), since it kills it.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromRedisStream } from '../../../src/streams/sources/fromRedisStream.js';
import { type RedisServer, startRedis } from '../../helpers/redis.js';
import { connectTestClient } from './redisTestKit.js';

let server: RedisServer;

beforeAll(async () => {
  server = await startRedis({ appendonly: true });
});
afterAll(async () => {
  await server.stop();
});

describe('fromRedisStream and a Redis restart', () => {
  it('fails in one line when the server is killed mid-read, and resumes exactly after a restart with AOF', async () => {
    const client = await connectTestClient(server.url);
    const ids: string[] = [];
    ids.push(String(await client.send(['XADD', 'rows', '*', 'header', 'label,x'])));
    for (let i = 0; i < 20; i++) ids.push(String(await client.send(['XADD', 'rows', '*', 'row', `${i % 2},${i}`])));
    await client.close();

    const source = fromRedisStream(`${server.url}/rows`, { group: 'g', consumer: 'c', classes: 2, blockMs: 200 });
    const seen: string[] = [];
    let committed = source.position;
    const failed = new Promise<Error>((resolve) =>
      source.subscribe({
        next: (s) => {
          seen.push(s.origin.id ?? '');
          if (seen.length === 12) committed = source.position; // a checkpoint after 12 rows
        },
        error: resolve,
      }),
    );
    // Wait until the live read blocks (all 20 rows seen), then kill the server under it.
    for (let i = 0; i < 500 && seen.length < 20; i++) await new Promise((r) => setTimeout(r, 20));
    expect(seen).toHaveLength(20);
    await source.commit(committed);
    await server.kill();
    const e = await failed;
    expect(e.message).toMatch(new RegExp(`^lost the connection to Redis at 127\\.0\\.0\\.1:${server.port} \\(XREADGROUP\\): `));

    await server.restart();
    const resumed = fromRedisStream(`${server.url}/rows`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, start: committed, maxRows: 20 });
    const rest = await lastValueFrom(resumed.pipe(toArray()));
    expect([...seen.slice(0, 12), ...rest.map((s) => s.origin.id)]).toEqual(ids.slice(1));
    await resumed.commit();
    const after = await connectTestClient(server.url);
    expect(await after.pending('rows', 'g')).toBe(0);
    await after.close();
  });
});
