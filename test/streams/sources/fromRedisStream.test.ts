/**
 * fromRedisStream on a real redis-server (the shared one of test/setup/redis.ts): both entry forms
 * give the Samples fromCsv gives for the same rows, bad values get fromCsv's words placed at the entry
 * id, the skip policy counts and reports, end marker and maxRows bound a read, the position and
 * commit follow the protocol, and bad URLs, unreachable servers and unsubscribing end cleanly.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CsvError, type SkipReport } from '../../../src/streams/sources/csvErrors.js';
import { createCounters, fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { type RedisStreamOptions, fromRedisStream } from '../../../src/streams/sources/fromRedisStream.js';
import { foldIdsHash, initialPosition } from '../../../src/streams/sources/redis/streamPosition.js';
import type { Sample } from '../../../src/streams/types.js';
import { type TestClient, connectTestClient, freshKey, sharedRedisUrl } from './redisTestKit.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-redis-source-'));
let redis: TestClient;
const url = sharedRedisUrl();

beforeAll(async () => {
  redis = await connectTestClient();
});
afterAll(async () => {
  await redis.close();
});

function plain(s: Sample): unknown {
  return { x: Array.from(s.x), target: Array.from(s.target), label: s.label };
}

function readAll(key: string, options: Omit<RedisStreamOptions, 'group' | 'consumer'> & { group?: string; consumer?: string }): Promise<Sample[]> {
  return lastValueFrom(fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', blockMs: 50, ...options }).pipe(toArray()));
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    if (e instanceof Error) return e;
  }
  throw new Error('expected a failure');
}

const HEADER = 'label,x1,x2';
const ROWS = ['0,1.5,2', '1,-3,4e-2', '2, 7 ,8'];

describe('fromRedisStream entry forms', () => {
  it('row form with a header entry gives the Samples fromCsv gives for the same CSV', async () => {
    const key = freshKey('rows');
    const ids = await redis.add(key, [['header', HEADER], ...ROWS.map((r) => ['row', r]), ['end', '1']]);
    const path = join(dir, 'same.csv');
    writeFileSync(path, `${HEADER}\n${ROWS.join('\n')}\n`);
    const viaCsv = await lastValueFrom(fromCsv(path, { classes: 3, scale: 0.5 }).pipe(toArray()));
    const viaRedis = await readAll(key, { classes: 3, scale: 0.5 });
    expect(viaRedis.map(plain)).toEqual(viaCsv.map(plain));
    expect(viaRedis.map((s) => s.origin)).toEqual(
      ids.slice(1, 4).map((id, i) => ({ source: `${url}/${key}`, line: i + 1, record: i, endOffset: 0, id })),
    );
  });

  it('field form (one field per column, in any order) gives the same Samples', async () => {
    const key = freshKey('fields');
    await redis.add(key, [
      ['label', '0', 'x1', '1.5', 'x2', '2'],
      ['x2', '4e-2', 'x1', '-3', 'label', '1'],
      ['label', '2', 'x1', ' 7 ', 'x2', '8'],
      ['end', '1'],
    ]);
    const path = join(dir, 'fields.csv');
    writeFileSync(path, `${HEADER}\n${ROWS.join('\n')}\n`);
    const viaCsv = await lastValueFrom(fromCsv(path, { classes: 3 }).pipe(toArray()));
    expect((await readAll(key, { classes: 3 })).map(plain)).toEqual(viaCsv.map(plain));
  });

  it('row form with declared columns or hasHeader: false needs no header entry; quoted fields are split like fromCsv', async () => {
    const key = freshKey('declared');
    await redis.add(key, [['row', '"1",2,3'], ['row', '0,"4",5'], ['end', '1']]);
    const declared = await readAll(key, { classes: 2, columns: ['label', 'a', 'b'] });
    expect(declared.map(plain)).toEqual([
      { x: [2, 3], target: [0, 1], label: 1 },
      { x: [4, 5], target: [1, 0], label: 0 },
    ]);
    const key2 = freshKey('noheader');
    await redis.add(key2, [['row', '1,2,3'], ['end', '1']]);
    expect((await readAll(key2, { classes: 2, hasHeader: false, label: 0 })).map(plain)).toEqual([{ x: [2, 3], target: [0, 1], label: 1 }]);
  });

  it('bad values get fromCsv\'s words, placed at the stream and the entry id (both forms)', async () => {
    const bad = ['abc', '12abc', '0x10', 'NaN', 'Infinity', '1e400', '', ' ', 'NA', '\u00a03'];
    for (const value of bad) {
      const path = join(dir, 'bad.csv');
      writeFileSync(path, `label,x1,x2\n0,1,${value}\n`);
      const csvError = await failure(lastValueFrom(fromCsv(path, { classes: 2 })));
      const prefix = `${path}:2:3 (column "x2"): `;
      expect(csvError.message.startsWith(prefix)).toBe(true);
      const detail = csvError.message.slice(prefix.length);

      const rowKey = freshKey('badrow');
      const [, rowId] = await redis.add(rowKey, [['header', 'label,x1,x2'], ['row', `0,1,${value}`]]);
      const rowError = await failure(readAll(rowKey, { classes: 2 }));
      expect(rowError).toBeInstanceOf(CsvError);
      expect(rowError.message).toBe(`${url}/${rowKey} entry ${rowId} (column "x2"): ${detail}`);

      const fieldKey = freshKey('badfield');
      const [fieldId] = await redis.add(fieldKey, [['label', '0', 'x1', '1', 'x2', value]]);
      const fieldError = await failure(readAll(fieldKey, { classes: 2 }));
      expect(fieldError.message).toBe(`${url}/${fieldKey} entry ${fieldId} (column "x2"): ${detail}`);
    }
  });

  it('labels out of range, wrong field counts, missing and unknown fields are row-level errors naming the entry', async () => {
    const key = freshKey('rowlevel');
    const ids = await redis.add(key, [['header', 'label,x'], ['row', '5,1'], ['row', '1,2,3'], ['label', '1'], ['label', '1', 'x', '2', 'y', '3'], ['row', '']]);
    const reports: SkipReport[] = [];
    const counters = createCounters();
    const source = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 3, onBadRow: 'skip', onSkip: (r) => reports.push(r), counters, maxRows: 5, blockMs: 50 });
    await failure(lastValueFrom(source));
    const name = `${url}/${key}`;
    expect(reports.map((r) => r.message)).toEqual([
      `${name} entry ${ids[1]} (column "label"): label 5 not in [0,3)`,
      `${name} entry ${ids[2]}: expected 2 fields, got 3`,
      `${name} entry ${ids[3]}: missing column "x"`,
      `${name} entry ${ids[4]}: unknown column "y"; the columns are "label", "x"`,
      `${name} entry ${ids[5]}: empty row`,
    ]);
    expect(reports.map((r) => r.id)).toEqual(ids.slice(1));
    expect(counters).toMatchObject({
      dataRows: 5,
      rowsEmitted: 0,
      rowsSkipped: 5,
      skippedByCode: { CSV_BAD_LABEL: 1, CSV_RECORD_INCONSISTENT_COLUMNS: 3, CSV_EMPTY_LINE: 1 },
    });
    expect(source.position.count).toBe(5);
  });

  it('skips are counted with the skip policy and budgeted by maxBadRows; the default policy fails at the first', async () => {
    const key = freshKey('skips');
    const ids = await redis.add(key, [['header', 'label,x'], ['row', '0,1'], ['row', '1,abc'], ['row', '1,2'], ['row', '0,'], ['row', '1,3'], ['end', '1']]);
    const counters = createCounters();
    const rows = await readAll(key, { classes: 2, onBadRow: 'skip', counters });
    expect(rows.map((s) => s.origin.id)).toEqual([ids[1], ids[3], ids[5]]);
    expect(counters).toMatchObject({ dataRows: 5, rowsEmitted: 3, rowsSkipped: 2, skippedByCode: { CSV_NOT_A_NUMBER: 1, CSV_MISSING_VALUE: 1 } });
    const budget = await failure(readAll(key, { group: 'g2', classes: 2, onBadRow: 'skip', maxBadRows: 1 }));
    expect(budget.message).toBe(`${url}/${key}: too many bad rows: 2 skipped, more than maxBadRows 1 (last: ${url}/${key} entry ${ids[4]} (column "x"): missing value (empty field))`);
    const strict = await failure(readAll(key, { group: 'g3', classes: 2 }));
    expect(strict.message).toBe(`${url}/${key} entry ${ids[2]} (column "x"): "abc" is not a number`);
    const fraction = await failure(readAll(key, { group: 'g4', classes: 2, onBadRow: 'skip', maxBadFraction: 0.2, counters: createCounters() }));
    expect(fraction.message).toBe(`${url}/${key}: too many bad rows: 2 of 5 rows skipped (40.0%), more than maxBadFraction 0.2`);
  });

  it('structural problems are fatal even with the skip policy: invalid UTF-8, quotes, a row before any header, a changed header', async () => {
    const k1 = freshKey('utf8');
    // Raw bytes (0xff) need a Buffer argument.
    const raw = await createClient({ url, RESP: 2 }).on('error', () => {}).connect();
    const badId = String(await raw.sendCommand(['XADD', k1, '*', 'label', '0', 'x', Buffer.from([0x31, 0xff])]));
    await raw.close();
    expect((await failure(readAll(k1, { classes: 2, onBadRow: 'skip' }))).message).toBe(`${url}/${k1} entry ${badId}: invalid UTF-8 in field "x" (byte 0xff at byte 1 of the field)`);

    const k2 = freshKey('quote');
    const [, q] = await redis.add(k2, [['header', 'label,x'], ['row', '0,1"2"']]);
    expect((await failure(readAll(k2, { classes: 2, onBadRow: 'skip' }))).message).toBe(`${url}/${k2} entry ${q} (field 2): quote inside an unquoted field; quote the whole field`);

    const k3 = freshKey('noheader');
    const [r] = await redis.add(k3, [['row', '0,1']]);
    expect((await failure(readAll(k3, { classes: 2, onBadRow: 'skip' }))).message).toBe(
      `${url}/${k3} entry ${r}: a row before any header entry: publish the header first (an entry header=<CSV header line>, as deltaflow publish does), or pass columns, or hasHeader: false`,
    );

    const k4 = freshKey('header2');
    const [, , h2] = await redis.add(k4, [['header', 'label,x'], ['row', '0,1'], ['header', 'label,y']]);
    expect((await failure(readAll(k4, { classes: 2, onBadRow: 'skip' }))).message).toBe(
      `${url}/${k4} entry ${h2}: the header changed: the columns were "label", "x", this header entry has "label", "y"`,
    );

    const k5 = freshKey('duplicate');
    const [h] = await redis.add(k5, [['header', 'label,x,x']]);
    expect((await failure(readAll(k5, { classes: 2 }))).message).toBe(`${url}/${k5} entry ${h} (header): duplicate column "x" (fields 2 and 3)`);
  });
});

describe('fromRedisStream position, commit and bounds', () => {
  it('advances the position before each Sample is emitted; commit acknowledges up to a position', async () => {
    const key = freshKey('position');
    const ids = await redis.add(key, [['header', 'label,x'], ['row', '0,1'], ['row', '1,2'], ['row', '0,3'], ['end', '1']]);
    const source = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50 });
    const seen: { id: string | undefined; lastId: string; count: number }[] = [];
    let hash = initialPosition(key, 'g').idsHash;
    const hashes: string[] = [];
    await lastValueFrom(
      source.pipe(toArray()),
    ).then(() => undefined);
    // Re-read with a fresh group, watching the position inside next.
    const watched = fromRedisStream(`${url}/${key}`, { group: 'w', consumer: 'c', classes: 2, blockMs: 50 });
    await new Promise<void>((resolve, reject) =>
      watched.subscribe({
        next: (s) => {
          seen.push({ id: s.origin.id, lastId: watched.position.lastId, count: watched.position.count });
          hashes.push(watched.position.idsHash);
        },
        error: reject,
        complete: resolve,
      }),
    );
    expect(seen).toEqual([
      { id: ids[1], lastId: ids[1], count: 1 },
      { id: ids[2], lastId: ids[2], count: 2 },
      { id: ids[3], lastId: ids[3], count: 3 },
    ]);
    hashes.forEach((h, i) => {
      hash = foldIdsHash(hash, ids[i + 1]);
      expect(h).toBe(hash);
    });
    expect(watched.position).toEqual({ stream: key, group: 'w', lastId: ids[4], count: 3, idsHash: hash, header: 'label,x' });
    expect(await redis.pending(key, 'w')).toBe(5);
    expect(await watched.commit({ ...watched.position, lastId: ids[2] })).toBe(3);
    expect(await redis.pending(key, 'w')).toBe(2);
    expect(await watched.commit()).toBe(2);
    expect(await redis.pending(key, 'w')).toBe(0);
    expect(watched.uncommitted).toBe(0);
    expect(await source.commit()).toBe(5);
  });

  it('a restart from a position acknowledges covered pending entries without emitting them, then emits the rest in id order', async () => {
    const key = freshKey('restart');
    const ids = await redis.add(key, [['header', 'label,x'], ...Array.from({ length: 6 }, (_, i) => ['row', `${i % 2},${i}`]), ['end', '1']]);
    const first = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, count: 2 });
    // Read 4 rows, "checkpoint" after the third, never commit (a crash).
    let checkpoint = first.position;
    await lastValueFrom(first.pipe(take(4), toArray()), { defaultValue: [] }).then((rows) => {
      expect(rows).toHaveLength(4);
    });
    const again = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50 });
    // The position after row 3 (ids[3]): header + 3 rows.
    checkpoint = { ...first.position, lastId: ids[3], count: 3, idsHash: [ids[1], ids[2], ids[3]].reduce(foldIdsHash, initialPosition(key, 'g').idsHash) };
    const resumed = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, start: checkpoint });
    const rows = await lastValueFrom(resumed.pipe(toArray()));
    expect(rows.map((s) => s.origin.id)).toEqual(ids.slice(4, 7));
    expect(rows.map((s) => s.origin.record)).toEqual([3, 4, 5]);
    expect(resumed.position.count).toBe(6);
    expect(resumed.position.idsHash).toBe(ids.slice(1, 7).reduce(foldIdsHash, initialPosition(key, 'g').idsHash));
    // The covered ones (header + 3 rows) were acknowledged at start; the rest wait for the commit.
    expect(await redis.pending(key, 'g')).toBe(4);
    await resumed.commit();
    expect(await redis.pending(key, 'g')).toBe(0);
    expect(again.position.count).toBe(0);
  });

  it('maxRows completes after that many data entries (over resumes); endMarker: false passes the marker over', async () => {
    const key = freshKey('bounds');
    const ids = await redis.add(key, [['header', 'label,x'], ['row', '0,1'], ['end', '1'], ['row', '1,2'], ['row', '0,3']]);
    const two = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, endMarker: false, maxRows: 2 });
    expect((await lastValueFrom(two.pipe(toArray()))).map((s) => s.origin.id)).toEqual([ids[1], ids[3]]);
    const resumed = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, endMarker: false, maxRows: 3, start: two.position });
    expect((await lastValueFrom(resumed.pipe(toArray()))).map((s) => s.origin.id)).toEqual([ids[4]]);
    // Resumed at its bound already (the pending entries of the first reads are not emitted again).
    await redis.add(key, [['row', '1,4']]);
    await redis.send(['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', key, '>']); // now pending for c, beyond the bound
    const atBound = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50, endMarker: false, maxRows: 3, start: resumed.position });
    expect(await lastValueFrom(atBound.pipe(toArray()))).toEqual([]);
    const stopAtEnd = await readAll(key, { group: 'e', classes: 2 });
    expect(stopAtEnd.map((s) => s.origin.id)).toEqual([ids[1]]);
  });

  it('a live stream blocks until entries arrive; unsubscribing closes its connections', async () => {
    const key = freshKey('live');
    const consumer = freshKey('live-consumer');
    await redis.add(key, [['header', 'label,x']]);
    // This source's own connections, by their CLIENT LIST names (other test files share the server).
    const mine = async (): Promise<number> =>
      String(await redis.send(['CLIENT', 'LIST'])).split('\n').filter((l) => l.includes(`name=deltaflow-source:${consumer.replace(/[^A-Za-z0-9_.:-]/g, '_')}`)).length;
    const waitFor = async (isDone: () => Promise<boolean>): Promise<void> => {
      for (let i = 0; i < 500 && !(await isDone()); i++) await new Promise((r) => setTimeout(r, 10));
    };
    const source = fromRedisStream(`${url}/${key}`, { group: 'g', consumer, classes: 2, blockMs: 100 });
    const firstRow = firstValueFrom(source);
    await waitFor(async () => (await mine()) === 2);
    expect(await mine()).toBe(2);
    await new Promise((r) => setTimeout(r, 250)); // blocked reads time out and block again
    const [id] = await redis.add(key, [['row', '1,5']]);
    expect((await firstRow).origin.id).toBe(id);
    await waitFor(async () => (await mine()) === 0);
    expect(await mine()).toBe(0);
  });

  it('rejects a second subscription at once, and a start position of another stream or group', async () => {
    const key = freshKey('misuse');
    await redis.add(key, [['header', 'label,x']]);
    const source = fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, blockMs: 50 });
    const sub = source.subscribe({ error: () => {} });
    const second = await failure(firstValueFrom(source));
    expect(second.message).toBe(`${url}/${key}: this source is already being read; subscribe to it once at a time`);
    sub.unsubscribe();
    expect(() => fromRedisStream(`${url}/${key}`, { group: 'g', consumer: 'c', classes: 2, start: initialPosition('other', 'g') })).toThrow(
      `start position for stream "${key}", group "g": it belongs to stream "other"`,
    );
  });
});

describe('fromRedisStream URLs and reachability', () => {
  it('states a bad URL in one line', () => {
    expect(() => fromRedisStream('http://x/rows', { group: 'g', consumer: 'c', classes: 2 })).toThrow(
      '"http://x/rows" is not a Redis URL: it does not start with redis://; expected redis://HOST:PORT/STREAM (e.g. redis://127.0.0.1:6379/rows)',
    );
    expect(() => fromRedisStream('redis://127.0.0.1:0/rows', { group: 'g', consumer: 'c', classes: 2 })).toThrow('port 0 is out of range');
    expect(() => fromRedisStream('redis://127.0.0.1:6379', { group: 'g', consumer: 'c', classes: 2 })).toThrow(
      'redis://127.0.0.1:6379: no stream given; name it in the URL (redis://HOST:PORT/STREAM) or as the stream option',
    );
  });

  it('fails with one line, within the timeout, when nothing listens at the port', async () => {
    const { freePort } = await import('../../helpers/redis.js');
    const port = await freePort();
    const e = await failure(lastValueFrom(fromRedisStream(`redis://127.0.0.1:${port}/rows`, { group: 'g', consumer: 'c', classes: 2, timeoutMs: 500 })));
    expect(e.message).toMatch(new RegExp(`^cannot reach Redis at 127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.* \\(is redis-server running\\? start it with: redis-server --port ${port} --appendonly yes\\)$`));
  });

  it('fails within the timeout when the server never answers (a silent TCP listener)', async () => {
    const { createServer } = await import('node:net');
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const started = Date.now();
    const e = await failure(lastValueFrom(fromRedisStream(`redis://127.0.0.1:${port}/rows`, { group: 'g', consumer: 'c', classes: 2, timeoutMs: 300 })));
    expect(e.message).toMatch(/^cannot reach Redis at 127\.0\.0\.1:\d+: no (connection|answer to PING) within 300 ms/);
    expect(Date.now() - started).toBeLessThan(5000);
    server.close();
  });
});
