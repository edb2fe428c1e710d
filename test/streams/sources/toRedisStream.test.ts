/**
 * toRedisStream on the shared redis-server: records pass on unchanged and become entries (`id` first,
 * values encoded as documented), completion waits for Redis' acknowledgements, MAXLEN trims, and an
 * unreachable server errors the stream in one line.
 */
import { from, lastValueFrom, range, map, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toRedisStream } from '../../../src/streams/sources/toRedisStream.js';
import { freePort } from '../../helpers/redis.js';
import { type TestClient, connectTestClient, freshKey, sharedRedisUrl } from './redisTestKit.js';

const url = sharedRedisUrl();
let redis: TestClient;

beforeAll(async () => {
  redis = await connectTestClient();
});
afterAll(async () => {
  await redis.close();
});

describe('toRedisStream', () => {
  it('writes each record as an entry with its id first, and passes the records on unchanged', async () => {
    const key = freshKey('preds');
    const records = [
      { id: '1733-0', predicted: 2, probabilities: [0.1, 0.2, 0.7], version: 'v3', isCorrect: true },
      { id: '1733-1', predicted: 0, probabilities: [0.5, 0.25, 0.25], version: 'v3', isCorrect: false },
    ];
    const out = await lastValueFrom(from(records).pipe(toRedisStream(`${url}/${key}`), toArray()));
    expect(out).toEqual(records);
    expect((await redis.entries(key)).map((e) => e.fields)).toEqual([
      ['id', '1733-0', 'predicted', '2', 'probabilities', '[0.1,0.2,0.7]', 'version', 'v3', 'isCorrect', 'true'],
      ['id', '1733-1', 'predicted', '0', 'probabilities', '[0.5,0.25,0.25]', 'version', 'v3', 'isCorrect', 'false'],
    ]);
  });

  it('completes only after Redis acknowledged every entry, in order; maxLen trims about to that length', async () => {
    const key = freshKey('many');
    await lastValueFrom(range(0, 20_000).pipe(map((i) => ({ id: `r${i}`, value: i / 4 })), toRedisStream(url, key, { maxLen: 5000 })));
    const entries = await redis.entries(key);
    expect(entries.length).toBeGreaterThanOrEqual(5000);
    expect(entries.length).toBeLessThan(5300);
    expect(entries.map((e) => e.fields[1])).toEqual(Array.from({ length: entries.length }, (_, i) => `r${20_000 - entries.length + i}`));
  });

  it('errors the stream in one line when Redis cannot be reached', async () => {
    const port = await freePort();
    await expect(lastValueFrom(from([{ id: 'a', v: 1 }]).pipe(toRedisStream(`redis://127.0.0.1:${port}/p`, undefined, { timeoutMs: 500 })))).rejects.toThrow(
      new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port}: `),
    );
  });
});
