/**
 * fromCsv on a CSV parser thread (`thread`, csvThread.ts) against fromCsv on this thread: random messy
 * CSVs read in random chunk sizes through rings of several sizes give the same samples, errors,
 * counters and skip reports (the RELIABILITY cases are compared in csvReliability.test.ts); a resume
 * from any row's position reads on exactly; unsubscribing stops the thread (also while following a
 * file); the rows read ahead never exceed the ring's bound; gate credits are honoured; misuse errors.
 */
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { concatMap, from, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { CsvError, type SkipReport } from '../../../src/streams/sources/csvErrors.js';
import { createCsvThread, type CsvThread } from '../../../src/streams/sources/csvThread.js';
import { type CsvCounters, type CsvSourceOptions, createCounters, fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { createGate } from '../../../src/streams/sources/gate.js';
import { isSealedBuffer } from '../../../src/ops/sealedBuffers.js';
import { batch } from '../../../src/streams/training/batch.js';
import type { Sample } from '../../../src/streams/types.js';
import { rng } from '../../cli/cliHelpers.js';
import { messyCsv, messyOptions, sourceOptions, wideCsv, wideOptions, wideSourceOptions } from './messyCsv.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-csvthread-'));
let nFiles = 0;
function fileOf(bytes: Buffer | string): string {
  const path = join(dir, `f${nFiles++}.csv`);
  writeFileSync(path, bytes);
  return path;
}
const threads: CsvThread[] = [];
function thread(options?: Parameters<typeof createCsvThread>[0]): CsvThread {
  const t = createCsvThread(options);
  threads.push(t);
  return t;
}
afterAll(() => {
  for (const t of threads) t.close();
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
async function waitFor(isDone: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !isDone(); i++) await sleep(10);
}

interface Outcome {
  rows: unknown[];
  error: { code: string; line: number; column: number; columnName?: string; value?: string; message: string } | null;
  counters: Omit<CsvCounters, 'bytesRead'>;
  skips: SkipReport[];
}

const plain = (s: Sample): unknown => ({ x: Array.from(s.x), target: Array.from(s.target), label: s.label, origin: s.origin, kept: s.kept });

function readOnce(input: string | NodeJS.ReadableStream, options: CsvSourceOptions, counters = createCounters()): Promise<Outcome> {
  const skips: SkipReport[] = [];
  const rows: unknown[] = [];
  return new Promise((resolve, reject) => {
    const done = (error: Outcome['error']): void => {
      const { bytesRead: _b, ...rest } = counters;
      resolve({ rows, error, counters: rest, skips });
    };
    fromCsv(input, { name: 'data.csv', ...options, counters, onSkip: (r) => skips.push(r) }).subscribe({
      next: (s) => rows.push(plain(s)),
      error: (e: unknown) => {
        if (!(e instanceof CsvError)) {
          reject(e);
          return;
        }
        const { code, line, column, columnName, value, message } = e;
        done({ code, line, column, columnName, value, message });
      },
      complete: () => done(null),
    });
  });
}

/** An MNIST-like CSV: header `label,p0…p(n−1)`, CRLF line ends, a few quoted and bad rows. */
function digitsCsv(rows: number, pixels = 784): Buffer {
  const lines = ['label,' + Array.from({ length: pixels }, (_, i) => `p${i}`).join(',')];
  for (let r = 0; r < rows; r++) lines.push([r % 10, ...Array.from({ length: pixels }, (_, i) => (r * 13 + i * 29) % 256)].join(','));
  lines[20] = lines[20].replace(/,(\d+),/, ',"$1",');
  lines[33] = lines[33].replace(/,(\d+),/, ',x,');
  lines[34] = '';
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

describe('fromCsv on a parser thread = fromCsv on this thread', () => {
  const tiny = thread({ slots: 1, slotBytes: 64 });
  const small = thread({ slots: 2, slotBytes: 300 });
  const standard = thread();

  it('property: random messy CSVs, random chunk sizes, three ring sizes: identical samples (kept columns and ids too), errors, counters and skips', async () => {
    await fc.assert(
      fc.asyncProperty(messyCsv, fc.integer({ min: 1, max: 80 }), messyOptions, fc.constantFrom('fast', 'csv-parse'), async (bytes, size, o, engine) => {
        const opts = { ...sourceOptions(o), engine } as const;
        const reference = await readOnce(Readable.from([bytes]), opts);
        const path = fileOf(bytes);
        for (const t of [tiny, small, standard]) {
          expect(await readOnce(path, { ...opts, thread: t, highWaterMark: size })).toEqual(reference);
        }
        // Blocks of whole batches (alignRows) hold the same rows, errors and skips.
        expect(await readOnce(path, { ...opts, thread: small, highWaterMark: size, alignRows: 1 + (size % 7) })).toEqual(reference);
      }),
      { numRuns: 300 },
    );
    // Every read ended with the read: no thread was restarted.
    for (const t of [tiny, small, standard]) expect(t.stats()).toMatchObject({ started: 1, exited: 0, rowsAhead: 0 });
  });

  it('property: wide rows, scanned straight into the ring slots, read identically through three ring sizes', async () => {
    await fc.assert(
      fc.asyncProperty(wideCsv, fc.integer({ min: 1, max: 200 }), wideOptions, fc.integer({ min: 1, max: 70 }), async ({ bytes, names }, size, o, alignRows) => {
        const opts = wideSourceOptions(o, names);
        const reference = await readOnce(Readable.from([bytes]), opts);
        const path = fileOf(bytes);
        for (const t of [tiny, small, standard]) expect(await readOnce(path, { ...opts, thread: t, highWaterMark: size })).toEqual(reference);
        // Blocks of a multiple of alignRows rows: the same rows, here and there.
        expect(await readOnce(path, { ...opts, thread: standard, highWaterMark: size, alignRows })).toEqual(reference);
        expect(await readOnce(Readable.from([bytes]), { ...opts, alignRows })).toEqual(reference);
      }),
      { numRuns: 150 },
    );
  });

  it('a 300-row MNIST-like file (a quoted row, a bad value, an empty line) reads identically, skipped or failing, through each ring', async () => {
    const bytes = digitsCsv(300);
    const path = fileOf(bytes);
    for (const onBadRow of ['skip', 'error'] as const) {
      const opts: CsvSourceOptions = { classes: 10, scale: 1 / 255, shape: [1, 28, 28], onBadRow };
      const reference = await readOnce(path, opts);
      expect(reference.rows).toHaveLength(onBadRow === 'skip' ? 298 : 32);
      for (const t of [tiny, small, standard]) expect(await readOnce(path, { ...opts, thread: t, highWaterMark: 4096 })).toEqual(reference);
    }
    expect(await readOnce(path, { classes: 10, onBadRow: 'skip', thread: true })).toEqual(await readOnce(path, { classes: 10, onBadRow: 'skip' }));
  });

  it('structural and read errors arrive in input order with the same words: an unclosed quote, a missing file', async () => {
    const text = `label,a\n${'1,2\n'.repeat(500)}1,"3\n${'1,2\n'.repeat(50)}`;
    const path = fileOf(text);
    const reference = await readOnce(path, { classes: 2, onBadRow: 'skip' });
    expect(reference.rows).toHaveLength(500);
    expect(reference.error?.code).toBe('CSV_QUOTE_NOT_CLOSED');
    expect(await readOnce(path, { classes: 2, onBadRow: 'skip', thread: small })).toEqual(reference);

    const missing = join(dir, 'missing.csv');
    const errorOf = (options: CsvSourceOptions): Promise<unknown> => lastValueFrom(fromCsv(missing, options)).catch((e: unknown) => e);
    const [here, there] = [await errorOf({ classes: 2 }), await errorOf({ classes: 2, thread: standard })];
    expect(there).toBeInstanceOf(CsvError);
    expect(there).toMatchObject({ code: 'CSV_READ_ERROR', message: (here as Error).message, cause: { code: 'ENOENT' } });
  });
});

describe('alignRows: blocks of whole batches', () => {
  it('read in file order, every batch of a clean file is a view of one block, on a parser thread and on this thread', async () => {
    const path = fileOf(digitsCsv(300).toString().split('\r\n').filter((l) => !l.includes('"') && !l.includes('x') && l !== '').join('\n') + '\n');
    const t = thread();
    const rows = await lastValueFrom(fromCsv(path, { classes: 10, scale: 1 / 255 }).pipe(toArray()));
    expect(rows).toHaveLength(297);
    for (const size of [8, 64, 100]) {
      const reference = await lastValueFrom(from(rows).pipe(batch(size), toArray()));
      for (const on of [{ thread: t }, {}]) {
        const opts: CsvSourceOptions = { classes: 10, scale: 1 / 255, alignRows: size, ...on };
        const batches = await lastValueFrom(fromCsv(path, opts).pipe(batch(size), toArray()));
        // Compared as bytes (toEqual on 100 × 784 floats is slow).
        const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
        expect(batches.map((b) => [b.m, b.origins, Array.from(b.labels ?? [])])).toEqual(reference.map((b) => [b.m, b.origins, Array.from(b.labels ?? [])]));
        batches.forEach((b, i) => {
          expect(bytes(b.x.data).equals(bytes(reference[i].x.data))).toBe(true);
          expect(bytes(b.target.data).equals(bytes(reference[i].target.data))).toBe(true);
          expect(b.x.shape).toEqual(reference[i].x.shape);
        });
        expect(batches.filter((b) => isSealedBuffer(b.x.data.buffer) && isSealedBuffer(b.target.data.buffer))).toHaveLength(batches.length);
      }
    }
  });

  it('is checked: a positive integer', () => {
    expect(() => fromCsv('x.csv', { classes: 2, alignRows: 0 })).toThrow('fromCsv: option "alignRows" must be an integer ≥ 1, got 0');
  });
});

describe('resume on a parser thread', () => {
  it('from the position of any row (startOffset, startRecord, with and without startLine): the rest of the file, with the counters continued', async () => {
    const text = `label,a,b\r\n${Array.from({ length: 120 }, (_, i) => (i % 17 === 5 ? `1,x,${i}` : i % 23 === 7 ? '' : `${i % 3},${i},${-i}`)).join('\r\n')}\r\n`;
    const path = fileOf(text);
    const opts: CsvSourceOptions = { classes: 3, onBadRow: 'skip' };
    const full = await readOnce(path, opts);
    const t = thread({ slots: 2, slotBytes: 200 });
    const random = rng(5);
    for (let k = 0; k < 12; k++) {
      const i = Math.floor(random() * (full.rows.length - 1));
      const at = (full.rows[i] as { origin: { line: number; record: number; endOffset: number } }).origin;
      const start = { startOffset: at.endOffset, startRecord: at.record + 1, ...(k % 2 === 0 ? { startLine: at.line + 1 } : {}) };
      // The counters of the read being resumed, as a checkpoint saves them.
      const before = full.skips.filter((s) => s.record <= at.record).length;
      const counters = (): CsvCounters => ({ dataRows: at.record + 1, rowsEmitted: at.record + 1 - before, rowsSkipped: before, skippedByCode: {}, bytesRead: 0 });
      const here = await readOnce(path, { ...opts, ...start }, counters());
      const there = await readOnce(path, { ...opts, ...start, thread: t }, counters());
      expect(there).toEqual(here);
      expect(there.rows).toEqual(full.rows.slice(i + 1));
      expect(there.counters.dataRows).toBe(full.counters.dataRows);
      // A skip budget spent partly before the resume fails at the same row.
      const budget = { ...opts, ...start, maxBadRows: before + 1 };
      expect(await readOnce(path, { ...budget, thread: t }, counters())).toEqual(await readOnce(path, budget, counters()));
    }
  });
});

describe('unsubscribing stops the parser thread', () => {
  it('take(3) of a large file: the thread exits, and the next read starts a new one that reads the whole file', async () => {
    const path = fileOf(digitsCsv(2000));
    const t = thread();
    const first = await lastValueFrom(fromCsv(path, { classes: 10, onBadRow: 'skip', thread: t }).pipe(take(3), toArray()));
    expect(first.map((s) => s.origin.line)).toEqual([2, 3, 4]);
    await waitFor(() => t.stats().exited === 1);
    expect(t.stats()).toMatchObject({ started: 1, exited: 1 });
    const all = await lastValueFrom(fromCsv(path, { classes: 10, onBadRow: 'skip', thread: t }).pipe(toArray()));
    expect(all).toHaveLength(1998);
    expect(t.stats()).toMatchObject({ started: 2, exited: 1, reads: 2 });
  });

  it('following a growing file: rows appended in pieces arrive once each, in order; unsubscribing ends the thread', async () => {
    const path = fileOf('label,a,b\n');
    const t = thread({ slots: 2, slotBytes: 4096 });
    const N = 400;
    const body = Array.from({ length: N }, (_, i) => `${i % 3},${i / 4},${i % 9 === 0 ? `"${i}"` : -i}${i % 2 ? '\r\n' : '\n'}`).join('');
    const rows: Sample[] = [];
    const sub = fromCsv(path, { classes: 3, follow: { pollMs: 10 }, thread: t }).subscribe({ next: (s) => rows.push(s) });
    const random = rng(11);
    for (let at = 0; at < body.length; ) {
      const n = 1 + Math.floor(random() * 40);
      appendFileSync(path, body.slice(at, at + n));
      at += n;
      if (random() < 0.3) await sleep(Math.floor(random() * 4));
    }
    await waitFor(() => rows.length >= N);
    // A live row waits for no other: the last one arrived although no slot filled up after it.
    expect(rows).toHaveLength(N);
    const reference = await lastValueFrom(fromCsv(path, { classes: 3 }).pipe(toArray()));
    expect(rows.map(plain)).toEqual(reference.map(plain));
    sub.unsubscribe();
    await waitFor(() => t.stats().exited === 1);
    expect(t.stats()).toMatchObject({ started: 1, exited: 1 });
  });
});

describe('pull-driven: the ring bounds the read-ahead', () => {
  it('a slow synchronous consumer: the rows read ahead never exceed (slots + 1) × rows per slot, and the parser does fill the ring', async () => {
    const path = fileOf(digitsCsv(400, 50));
    const t = thread({ slots: 3, slotBytes: 2048 });
    let maxAhead = 0;
    let limit = 0;
    const busy = (ms: number): void => {
      const until = performance.now() + ms;
      while (performance.now() < until);
    };
    const rows = await lastValueFrom(
      fromCsv(path, { classes: 10, onBadRow: 'skip', thread: t, highWaterMark: 1024 }).pipe(
        concatMap(async (s) => {
          const { rowsAhead, rowsAheadLimit } = t.stats();
          maxAhead = Math.max(maxAhead, rowsAhead);
          limit = rowsAheadLimit;
          expect(rowsAhead).toBeLessThanOrEqual(rowsAheadLimit);
          busy(0.2);
          if (s.origin.record % 50 === 0) await sleep(5);
          return s;
        }),
        toArray(),
      ),
    );
    expect(rows).toHaveLength(398);
    // 2048-byte slots of 50 pixels + 10 targets + 28 bytes of meta: 7 rows per slot, 3 slots and the one being handed on.
    expect(limit).toBe(28);
    expect(maxAhead).toBeGreaterThanOrEqual(limit - 7);
  });

  it('an asynchronous consumer with a gate: never more rows in flight than its credits, every row once', async () => {
    const path = fileOf(digitsCsv(200, 10));
    const gate = createGate(4);
    let maxInFlight = 0;
    const rows = await lastValueFrom(
      fromCsv(path, { classes: 10, onBadRow: 'skip', gate, thread: thread() }).pipe(
        concatMap(async (s) => {
          maxInFlight = Math.max(maxInFlight, gate.inFlight);
          await sleep(0);
          gate.release();
          return s.origin.record;
        }),
        toArray(),
      ),
    );
    expect(rows).toEqual((await lastValueFrom(fromCsv(path, { classes: 10, onBadRow: 'skip' }).pipe(toArray()))).map((s) => s.origin.record));
    expect(maxInFlight).toBeLessThanOrEqual(4);
  });
});

describe('misuse', () => {
  it('one read at a time: a second read while one is active errors, the first goes on', async () => {
    const path = fileOf(digitsCsv(100, 10));
    const t = thread();
    const first = lastValueFrom(fromCsv(path, { classes: 10, onBadRow: 'skip', thread: t }).pipe(toArray()));
    await expect(lastValueFrom(fromCsv(path, { classes: 10, thread: t }))).rejects.toThrow('fromCsv: a CSV parser thread serves one read at a time, and another one is active');
    expect(await first).toHaveLength(98);
  });

  it('close() during a read ends it with an error; a closed thread refuses reads', async () => {
    const path = fileOf(digitsCsv(3000));
    const t = thread({ slots: 1, slotBytes: 4096 });
    const reading = lastValueFrom(fromCsv(path, { classes: 10, onBadRow: 'skip', thread: t }).pipe(toArray()));
    await sleep(20);
    t.close();
    await expect(reading).rejects.toThrow('fromCsv: the CSV parser thread was closed during the read');
    await expect(lastValueFrom(fromCsv(path, { classes: 10, thread: t }))).rejects.toThrow('fromCsv: the CSV parser thread is closed');
  });

  it('thread needs a file path, and a createCsvThread()', () => {
    expect(() => fromCsv(Readable.from(['a\n']), { classes: 2, thread: true })).toThrow('fromCsv: option "thread" must be unset unless the input is a file path, got true');
    expect(() => fromCsv('x.csv', { classes: 2, thread: {} as CsvThread })).toThrow('fromCsv: option "thread" must be true, false or a createCsvThread(), got {}');
    expect(() => createCsvThread({ slots: 0 })).toThrow('createCsvThread: slots must be a positive integer, got 0');
  });
});
