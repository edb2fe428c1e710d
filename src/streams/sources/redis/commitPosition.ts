/**
 * `commitPosition(url, position)`: acknowledges (`XACK`) every entry of the position's group still
 * pending with an id ≤ `position.lastId`, whichever consumer holds it — the commit of the
 * exactly-once protocol (fromRedisStream.ts) without a running source. A learner that finished (its
 * final state durable) but was stopped before its source committed uses it to release those entries;
 * the entries are covered by the durable state, so acknowledging them loses nothing.
 *
 * Pending entries are listed with `XPENDING key group start lastId COUNT 1000` (start exclusive after
 * the first page: `(id`, Redis ≥ 6.2) and acknowledged page by page.
 */
import { ack } from './streamRead.js';
import { asArray, asText, connectRedis } from './redisConnection.js';
import { streamTarget } from './redisUrl.js';
import type { RedisStreamPosition } from './streamPosition.js';

/**
 * Acknowledges the entries `position` covers; resolves to how many were pending.
 *
 * @example await commitPosition('redis://127.0.0.1:6379', checkpoint.extra.redis);
 */
export async function commitPosition(url: string, position: RedisStreamPosition, options: { readonly timeoutMs?: number } = {}): Promise<number> {
  const target = streamTarget(url, position.stream);
  if (position.lastId === '0-0') return 0;
  const conn = await connectRedis(target, { timeoutMs: options.timeoutMs, forKey: target.stream });
  let n = 0;
  try {
    let start = '-';
    for (;;) {
      const page = asArray(await conn.send(['XPENDING', target.stream, position.group, start, position.lastId, '1000']), 'XPENDING');
      if (page.length === 0) return n;
      const ids = page.map((p) => asText(asArray(p, 'XPENDING entry')[0], 'pending id'));
      await ack(conn, target.stream, position.group, ids);
      n += ids.length;
      start = `(${ids[ids.length - 1]}`;
    }
  } catch (e) {
    // A group that does not exist holds nothing pending.
    if (e instanceof Error && /NOGROUP/.test(e.message)) return n;
    throw e;
  } finally {
    await conn.close();
  }
}
