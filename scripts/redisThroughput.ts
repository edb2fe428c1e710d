/**
 * Redis Streams throughput: `publishCsv` (pipelined XADD, the code of `deltaflow publish`) and
 * `fromRedisStream` (XREADGROUP into validated Samples, then one commit = XACK of everything) on a
 * generated CSV (header + N rows of a label and F features, default 200 000 × 16) against the
 * redis-server at URL. Prints rows/s and MB/s of the median of 3 passes each, after one warm-up;
 * every pass uses a fresh stream (deleted afterwards) and checks the row count and the label sum.
 *
 *   node dist/scripts/redisThroughput.js redis://127.0.0.1:6379 [rows] [features] [partitions]
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromRedisStream } from '../src/streams/sources/fromRedisStream.js';
import { partitionKey } from '../src/streams/sources/redis/partitions.js';
import { publishCsv } from '../src/streams/sources/redis/publishCsv.js';
import { connectRedis } from '../src/streams/sources/redis/redisConnection.js';
import { parseRedisUrl } from '../src/streams/sources/redis/redisUrl.js';

const [url = 'redis://127.0.0.1:6379', rowsArg = '200000', featuresArg = '16', partitionsArg = '1'] = process.argv.slice(2);
const rows = Number(rowsArg);
const features = Number(featuresArg);
const partitions = Number(partitionsArg);

function makeCsv(path: string): void {
  let state = 20261203;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const lines = [['label', ...Array.from({ length: features }, (_, i) => `x${i}`)].join(',')];
  for (let r = 0; r < rows; r++) lines.push(`${r % 10},${Array.from({ length: features }, () => (rand() * 10 - 5).toFixed(3)).join(',')}`);
  writeFileSync(path, lines.join('\n') + '\n');
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-redis-bench-'));
  const path = join(dir, 'bench.csv');
  makeCsv(path);
  const bytes = statSync(path).size;
  const target = parseRedisUrl(url);
  const admin = await connectRedis(target);
  const publishRates: number[] = [];
  const readRates: number[] = [];
  try {
    for (let pass = 0; pass < 4; pass++) {
      const stream = `bench:${process.pid}:${pass}`;
      const t0 = process.hrtime.bigint();
      const result = await publishCsv(path, `${url.replace(/\/$/, '')}/${stream}`, { partitions });
      const t1 = process.hrtime.bigint();
      if (result.rows !== rows) throw new Error(`published ${result.rows} rows, expected ${rows}`);
      let n = 0;
      let labelSum = 0;
      for (const key of result.keys) {
        const source = fromRedisStream(`${url.replace(/\/$/, '')}/${key}`, { group: 'bench', consumer: 'c', classes: 10, count: 1000 });
        await new Promise<void>((resolve, reject) =>
          source.subscribe({
            next: (s) => {
              n++;
              labelSum += s.label;
            },
            error: reject,
            complete: resolve,
          }),
        );
        await source.commit();
      }
      const t2 = process.hrtime.bigint();
      const expectedSum = Array.from({ length: rows }, (_, r) => r % 10).reduce((a, b) => a + b, 0);
      if (n !== rows || labelSum !== expectedSum) throw new Error(`read ${n} rows (label sum ${labelSum}), expected ${rows} (${expectedSum})`);
      for (const key of partitions === 1 ? [stream] : Array.from({ length: partitions }, (_, p) => partitionKey(stream, p, partitions))) await admin.send(['DEL', key]);
      if (pass === 0) continue;
      publishRates.push(rows / (Number(t1 - t0) / 1e9));
      readRates.push(rows / (Number(t2 - t1) / 1e9));
    }
  } finally {
    await admin.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const fmt = (r: number): string => `${Math.round(r).toLocaleString('en-US')} rows/s (${((r * bytes) / rows / 1e6).toFixed(1)} MB/s)`;
  process.stdout.write(`rows ${rows} × ${features} features, ${(bytes / 1e6).toFixed(1)} MB of CSV, ${partitions} partition(s), ${url}\n`);
  process.stdout.write(`publish (pipelined XADD):            ${fmt(median(publishRates))}\n`);
  process.stdout.write(`fromRedisStream (XREADGROUP → Sample): ${fmt(median(readRates))}\n`);
}

await main();
