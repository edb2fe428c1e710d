/**
 * `deltaflow publish` / publishCsv on real servers: a file's round trip (plain, and over 3 partitions
 * read back round-robin = the file's order, also read through fromRedisStream = fromCsv's Samples),
 * MAXLEN trimming, structure errors at file:line, the partition keys' slots against Redis' own
 * CLUSTER KEYSLOT, and the partitioned layout on a real 3-master cluster with the rows spread over
 * all three masters. The CLI cases run the built dist/ (build first; `npm test` does).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { fromRedisStream } from '../../../src/streams/sources/fromRedisStream.js';
import { keySlot, partitionKey } from '../../../src/streams/sources/redis/partitions.js';
import { publishCsv } from '../../../src/streams/sources/redis/publishCsv.js';
import { type RedisCluster, rawCommand, startRedisCluster } from '../../helpers/redis.js';
import { runCli, tempDir } from '../../cli/cliHelpers.js';
import { type TestClient, connectTestClient, freshKey, sharedRedisUrl } from './redisTestKit.js';

const url = sharedRedisUrl();
const dir = tempDir();
let redis: TestClient;

beforeAll(async () => {
  redis = await connectTestClient();
});
afterAll(async () => {
  await redis.close();
});

/** 3 columns, CRLF endings, quoted fields with a comma, escaped quotes and a newline. */
function csvText(rows: number): string {
  const out = ['label,x,note'];
  for (let i = 0; i < rows; i++) out.push(`${i % 3},${(i * 0.25).toFixed(2)},${i % 7 === 0 ? '"1,5"' : i % 11 === 0 ? '"a ""q"" b"' : i % 13 === 0 ? '"x\ny"' : String(i)}`);
  return `${out.join('\r\n')}\n`;
}

/** The file's records as fields (the reference: csv-parse through fromCsv's rules is not needed here). */
function expectedRows(rows: number): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < rows; i++) out.push([String(i % 3), (i * 0.25).toFixed(2), i % 7 === 0 ? '1,5' : i % 11 === 0 ? 'a "q" b' : i % 13 === 0 ? 'x\ny' : String(i)]);
  return out;
}

function rowFields(entries: { fields: string[] }[]): string[][] {
  return entries.filter((e) => e.fields[0] === 'row').map((e) => splitCsvLine(e.fields[1]));
}

/** A tiny RFC 4180 splitter for one line (the test's own oracle, independent of csv-parse). */
function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let inQuote = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (inQuote) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') inQuote = false;
      else field += c;
    } else if (c === '"') inQuote = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out;
}

describe('publishCsv', () => {
  it('writes a header entry, one entry per record in file order (quotes kept), and an end marker', async () => {
    const key = freshKey('pub');
    const path = join(dir, 'plain.csv');
    writeFileSync(path, csvText(40));
    const result = await publishCsv(path, `${url}/${key}`);
    expect(result.rows).toBe(40);
    expect(result.keys).toEqual([key]);
    const entries = await redis.entries(key);
    expect(entries[0].fields).toEqual(['header', 'label,x,note']);
    expect(entries[entries.length - 1].fields).toEqual(['end', '1']);
    expect(entries).toHaveLength(42);
    expect(rowFields(entries)).toEqual(expectedRows(40));
  });

  it('read back through fromRedisStream, the rows are the Samples fromCsv reads from the file', async () => {
    const key = freshKey('pubread');
    const path = join(dir, 'numeric.csv');
    const text = ['label,a,b', ...Array.from({ length: 300 }, (_, i) => `${i % 4},${i / 8},"${-i}"`)].join('\n');
    writeFileSync(path, `${text}\n`);
    await publishCsv(path, `${url}/${key}`, { batch: 7 });
    const viaRedis = await lastValueFrom(fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 4, blockMs: 50 }).pipe(toArray()));
    const viaCsv = await lastValueFrom(fromCsv(path, { classes: 4 }).pipe(toArray()));
    expect(viaRedis.map((s) => [Array.from(s.x), s.label])).toEqual(viaCsv.map((s) => [Array.from(s.x), s.label]));
  });

  it('with 3 partitions, row i goes to partition i mod 3 and reading the partitions round-robin gives the file order', async () => {
    const key = freshKey('part');
    const path = join(dir, 'part.csv');
    writeFileSync(path, csvText(100));
    const result = await publishCsv(path, `${url}/${key}`, { partitions: 3 });
    expect(result.keys).toEqual([0, 1, 2].map((p) => partitionKey(key, p, 3)));
    const parts = await Promise.all(result.keys.map(async (k) => rowFields(await redis.entries(k))));
    expect(parts.map((p) => p.length)).toEqual([34, 33, 33]);
    const interleaved: string[][] = [];
    for (let i = 0; i < 100; i++) interleaved.push(parts[i % 3][Math.floor(i / 3)]);
    expect(interleaved).toEqual(expectedRows(100));
    for (const k of result.keys) {
      const entries = await redis.entries(k);
      expect(entries[0].fields).toEqual(['header', 'label,x,note']);
      expect(entries[entries.length - 1].fields).toEqual(['end', '1']);
    }
  });

  it('trims each stream with MAXLEN ~ and keeps its newest entries; --no-end writes no end marker', async () => {
    const key = freshKey('maxlen');
    const path = join(dir, 'long.csv');
    writeFileSync(path, `${['label,x', ...Array.from({ length: 5000 }, (_, i) => `${i % 2},${i}`)].join('\n')}\n`);
    await publishCsv(path, `${url}/${key}`, { maxLen: 1000, end: false });
    const entries = await redis.entries(key);
    expect(entries.length).toBeGreaterThanOrEqual(1000);
    expect(entries.length).toBeLessThan(1300);
    expect(entries[entries.length - 1].fields).toEqual(['row', '1,4999']);
    const values = entries.map((e) => Number(e.fields[1].split(',')[1]));
    expect(values).toEqual(Array.from({ length: entries.length }, (_, i) => 5000 - entries.length + i));
  });

  it('states structure errors at file:line and never publishes a broken row', async () => {
    const cases: [string, string][] = [
      ['label,x\n0,1\n1\n', 'short.csv:3: expected 2 fields, got 1'],
      ['label,x\n0,1\n\n1,2\n', 'empty line at empty.csv:3'],
      ['label,label\n0,1\n', 'dup.csv:1: duplicate column "label" (fields 1 and 2)'],
      ['label,x\n0,"1\n', 'quote.csv:2:2: the quote opened here is never closed (the input ends inside it)'],
      ['label,x\n0,1"2"\n', 'inner.csv:2:2: quote inside an unquoted field ("1\\""); quote the whole field'],
      ['label,x\n', 'none.csv: no data rows in none.csv'.replace('none.csv: ', '')],
    ];
    const names = ['short.csv', 'empty.csv', 'dup.csv', 'quote.csv', 'inner.csv', 'none.csv'];
    for (let i = 0; i < cases.length; i++) {
      const key = freshKey('bad');
      const path = join(dir, names[i]);
      writeFileSync(path, cases[i][0]);
      await expect(publishCsv(path, `${url}/${key}`, { name: names[i] })).rejects.toThrow(cases[i][1]);
    }
    const key = freshKey('utf8');
    await expect(publishCsv(Readable.from([Buffer.from('label,x\n0,'), Buffer.from([0xff, 0x0a])]), `${url}/${key}`)).rejects.toThrow('invalid UTF-8 in stdin (near byte offset 10)');
  });

  it('keySlot is Redis\' own slot (CLUSTER KEYSLOT) and the partition tags fall in distinct slot ranges', async () => {
    const cluster = await startRedisCluster(3);
    try {
      const port = cluster.nodes[0].port;
      const keys = ['rows', 'rows:{0}', 'a{b}c', '{}x', 'x{}{y}', 'x{y', 'rows:{0.1}', 'é{ü}', ...Array.from({ length: 20 }, (_, i) => `k${i * 7919}`)];
      for (const k of keys) expect(keySlot(k)).toBe(Number((await rawCommand(port, `CLUSTER KEYSLOT ${k}`)).slice(1)));
      for (const n of [2, 3, 4, 5]) {
        const slots = Array.from({ length: n }, (_, p) => keySlot(partitionKey('rows', p, n)));
        slots.forEach((s, p) => {
          expect(s).toBeGreaterThanOrEqual((p * 16384) / n);
          expect(s).toBeLessThan(((p + 1) * 16384) / n);
        });
      }
      await clusterRoundTrip(cluster);
    } finally {
      await cluster.stop();
    }
  });
});

/** publish --partitions 3 on a 3-master cluster: one partition per master, read back = file order. */
async function clusterRoundTrip(cluster: RedisCluster): Promise<void> {
  const path = join(dir, 'cluster.csv');
  writeFileSync(path, csvText(90));
  const r = await runCli(['publish', '--redis', cluster.url, '--stream', 'rows', '--data', path, '--partitions', '3', '--batch', '16']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^published 90 rows to rows:\{\S+\}@127\.0\.0\.1:\d+, rows:\{\S+\}@127\.0\.0\.1:\d+, rows:\{\S+\}@127\.0\.0\.1:\d+ in \d+\.\d\d s \([\d,]+ rows\/s\), end marker written\n$/);
  const masters = new Set([...r.stdout.matchAll(/@(127\.0\.0\.1:\d+)/g)].map((m) => m[1]));
  expect(masters).toEqual(new Set(cluster.nodes.map((n) => `127.0.0.1:${n.port}`)));
  // Each master holds exactly one of the three keys (KEYS lists a node's own keys only).
  const parts = new Map<string, string[][]>();
  for (const node of cluster.nodes) {
    const client = await connectTestClient(node.url);
    const keys = (await client.send(['KEYS', '*'])) as string[];
    expect(keys).toHaveLength(1);
    parts.set(keys[0], rowFields(await client.entries(keys[0])));
    await client.close();
  }
  expect([...parts.keys()].sort()).toEqual([0, 1, 2].map((p) => partitionKey('rows', p, 3)).sort());
  const byPartition = [0, 1, 2].map((p) => parts.get(partitionKey('rows', p, 3)) ?? []);
  const interleaved: string[][] = [];
  for (let i = 0; i < 90; i++) interleaved.push(byPartition[i % 3][Math.floor(i / 3)]);
  expect(interleaved).toEqual(expectedRows(90));
  // And a consumer reads a partition through the cluster from any node's URL.
  const rows = await lastValueFrom(fromRedisStream(`${cluster.nodes[2].url}/${partitionKey('rows', 1, 3)}`, { group: 'g', consumer: 'c', classes: 3, features: ['x'], blockMs: 50 }).pipe(toArray()));
  expect(rows.map((s) => s.x[0])).toEqual(expectedRows(90).filter((_, i) => i % 3 === 1).map((f) => Number(f[1])));
}

describe('deltaflow publish (CLI)', () => {
  it('publishes stdin, names the keys and servers, and states a missing stream or an unreachable server in one line', async () => {
    const key = freshKey('cli');
    const ok = await runCli(['publish', '--redis', url, '--stream', key, '--data', '-'], { stdin: 'label,x\n0,1\n1,2\n' });
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(new RegExp(`^published 2 rows to ${key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}@127\\.0\\.0\\.1:\\d+ in `));
    expect((await redis.entries(key)).map((e) => e.fields)).toEqual([['header', 'label,x'], ['row', '0,1'], ['row', '1,2'], ['end', '1']]);
    const noStream = await runCli(['publish', '--redis', url, '--data', '-'], { stdin: 'label,x\n0,1\n' });
    expect(noStream.stderr).toBe('deltaflow: publish: give the stream with --stream S (or in the URL, redis://HOST:PORT/S)\n');
    const { freePort } = await import('../../helpers/redis.js');
    const port = await freePort();
    const down = await runCli(['publish', '--redis', `redis://127.0.0.1:${port}`, '--stream', 's', '--data', '-', '--timeout', '500'], { stdin: 'label,x\n0,1\n' });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(new RegExp(`^deltaflow: cannot reach Redis at 127\\.0\\.0\\.1:${port}: .+\\n$`));
    const badUrl = await runCli(['publish', '--redis', 'localhost:6379', '--stream', 's', '--data', '-']);
    expect(badUrl.stderr).toBe('deltaflow: "localhost:6379" is not a Redis URL: it does not start with redis://; expected redis://HOST:PORT/STREAM (e.g. redis://127.0.0.1:6379/rows)\n');
  });
});
