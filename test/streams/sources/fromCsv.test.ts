/**
 * fromCsv: options, files, resume, pull-driven reading (gate and read-ahead), unsubscribe, read
 * errors, and two properties — any chunking gives the same samples, and random bytes end in samples
 * or a coded CsvError, never another exception.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { bufferCount, concatMap, firstValueFrom, lastValueFrom, take, tap, timer, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CsvError, type SkipReport, countLineBreaks } from '../../../src/streams/sources/csvErrors.js';
import { type CsvSourceOptions, createCounters, featureStats, fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { createGate } from '../../../src/streams/sources/gate.js';
import type { Sample } from '../../../src/streams/types.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-fromCsv-'));
let nFiles = 0;

function tempCsv(text: string | Buffer): string {
  const path = join(dir, `t${nFiles++}.csv`);
  writeFileSync(path, text);
  return path;
}

function stream(text: string | Buffer, size = 1 << 30): Readable {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

function all(input: string | NodeJS.ReadableStream, options: CsvSourceOptions): Promise<Sample[]> {
  return lastValueFrom(fromCsv(input, options).pipe(toArray()));
}

function plain(s: Sample): unknown {
  return { x: Array.from(s.x), target: Array.from(s.target), label: s.label, origin: s.origin };
}

/** 785-column MNIST-like rows: label then 784 pixels, deterministic. */
function mnistLike(rows: number, eol = '\n'): string {
  const header = ['label', ...Array.from({ length: 784 }, (_, i) => `p${i}`)].join(',');
  const lines = [header];
  for (let r = 0; r < rows; r++) {
    const px = Array.from({ length: 784 }, (_, i) => ((r * 31 + i * 7) % 17 === 0 ? (r + i) % 256 : 0));
    lines.push([r % 10, ...px].join(','));
  }
  return lines.join(eol) + eol;
}

describe('fromCsv options', () => {
  it('rejects bad options when called, before reading anything', () => {
    expect(() => fromCsv('x.csv', {})).toThrow(
      `fromCsv: option "classes" must be a class count or a list of class names (required for task 'classify'), got undefined`,
    );
    expect(() => fromCsv('x.csv', { classes: 10, label: 'y', hasHeader: false })).toThrow(
      'fromCsv: option "label" must be a column index when there is no header nor columns, got "y"',
    );
    expect(() => fromCsv(stream(''), { classes: 10, startOffset: 5 })).toThrow(
      'fromCsv: option "startOffset" must be 0 unless the input is a file path, got 5',
    );
    expect(() => fromCsv('x.csv', { classes: 10, normalize: { kind: 'zscore', a: [0], b: [0] } })).toThrow(
      'fromCsv: option "normalize.b" must be a list of finite positive numbers (a constant feature needs b = 1, not 0), got [0]',
    );
    expect(() => fromCsv('x.csv', { classes: ['a', 'a'] })).toThrow('fromCsv: option "classes" must be a list of distinct class names, got ["a","a"]');
  });

  it('label by name or index, features in the order given, one-hot targets', async () => {
    const text = 'a,b,y,c\n1,2,3,4\n5,6,7,8\n';
    const byName = await all(stream(text), { classes: 10, label: 'y', features: ['c', 'a'] });
    expect(byName.map((s) => [s.label, ...s.x])).toEqual([
      [3, 4, 1],
      [7, 8, 5],
    ]);
    expect(Array.from(byName[0].target)).toEqual([0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    const byIndex = await all(stream(text), { classes: 10, label: 2 });
    expect(byIndex.map((s) => [s.label, ...s.x])).toEqual([
      [3, 1, 2, 4],
      [7, 5, 6, 8],
    ]);
  });

  it('regression reads the target columns as values, label -1, features exclude them', async () => {
    const out = await all(stream('x1,t1,x2,t2\n1,2.5,3,-4\n'), { task: 'regress', targets: ['t2', 't1'] });
    expect(out.map(plain)).toEqual([
      { x: [1, 3], target: [-4, 2.5], label: -1, origin: { source: 'stdin', line: 2, record: 0, endOffset: 23 } },
    ]);
    const byLabel = await all(stream('label,x\n0.25,1\n'), { task: 'regress' });
    expect(Array.from(byLabel[0].target)).toEqual([0.25]);
  });

  it('scale then normalize: x = (v·scale − a) / b, computed in float64, stored as float32', async () => {
    const out = await all(stream('label,p,q\n1,255,51\n'), {
      classes: 2,
      scale: 1 / 255,
      normalize: { kind: 'zscore', a: [0.5, 0.1], b: [0.25, 0.3] },
    });
    expect(Array.from(out[0].x)).toEqual([Math.fround((1 - 0.5) / 0.25), Math.fround((51 / 255 - 0.1) / 0.3)]);
  });

  it('featureStats gives mean, population std, min and max after scale, in one pass', async () => {
    const path = tempCsv('label,a,b\n0,1,10\n1,3,10\n0,5,40\n');
    const s = await featureStats(path, { classes: 2, scale: 2 });
    expect(s).toEqual({
      mean: [6, 40],
      std: [Math.sqrt(32 / 3), Math.sqrt(800)],
      min: [2, 20],
      max: [10, 80],
      rows: 3,
    });
    const normalized = await all(path, {
      classes: 2,
      scale: 2,
      normalize: { kind: 'minmax', a: s.min, b: s.max.map((m, i) => m - s.min[i]) },
    });
    expect(normalized.map((r) => Array.from(r.x))).toEqual([
      [0, 0],
      [0.5, 0],
      [1, 1],
    ]);
  });

  it('string classes are a fixed vocabulary: a label outside them is an error, not a new class', async () => {
    const err = await all(stream('label,x\ncat,1\nemu,2\n'), { classes: ['cat', 'dog'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CsvError);
    expect((err as CsvError).message).toBe('stdin:3:1 (column "label"): label "emu" is not one of the 2 classes "cat", "dog"');
  });

  it('columns names a headerless file, so label and features can be given by name', async () => {
    const out = await all(stream('1,2,3\n'), { classes: 10, hasHeader: false, columns: ['a', 'y', 'b'], label: 'y' });
    expect(out.map((s) => [s.label, ...s.x])).toEqual([[2, 1, 3]]);
    const bad = await all(stream('1,2,x\n'), { classes: 10, hasHeader: false, columns: ['a', 'y', 'b'], label: 'y' }).catch(
      (e: unknown) => e,
    );
    expect((bad as CsvError).message).toBe('stdin:1:3 (column "b"): "x" is not a number');
  });
});

describe('fromCsv keep and id', () => {
  const text = 'id,when,a,b,label\nr-1,2026-01-02,1,2,0\n r-2 ,2026-01-03,3,4,1\n';
  for (const engine of ['fast', 'csv-parse'] as const) {
    it(`${engine}: keep gives the kept columns' trimmed texts in the order asked; id becomes origin.id`, async () => {
      const out = await all(stream(text), { classes: 2, features: ['a', 'b'], keep: ['when', 'id', 'a'], id: 'id', engine });
      expect(out.map((s) => s.kept)).toEqual([['2026-01-02', 'r-1', '1'], ['2026-01-03', 'r-2', '3']]);
      expect(out.map((s) => s.origin.id)).toEqual(['r-1', 'r-2']);
      expect(out.map((s) => Array.from(s.x))).toEqual([[1, 2], [3, 4]]);
    });
  }

  it('without keep or id, samples have neither', async () => {
    const [first] = await all(stream(text), { classes: 2, features: ['a', 'b'] });
    expect(first.kept).toBeUndefined();
    expect(first.origin.id).toBeUndefined();
  });

  it('a kept or id column missing from the header is a schema error naming it', async () => {
    const err = await all(stream(text), { classes: 2, features: ['a', 'b'], keep: ['nope'] }).catch((e: unknown) => e);
    expect((err as CsvError).message).toBe('stdin:1: kept column "nope" not found; the header has "id", "when", "a", "b", "label"');
    const noId = await all(stream(text), { classes: 2, features: ['a', 'b'], id: 7 }).catch((e: unknown) => e);
    expect((noId as CsvError).message).toBe('stdin:1: id column 7 (0-based) does not exist; the header has "id", "when", "a", "b", "label"');
    expect(() => fromCsv(stream(text), { classes: 2, keep: [] })).toThrow('fromCsv: option "keep" must be a non-empty list of column names or 0-based indices, got []');
  });
});

describe('fromCsv files and counters', () => {
  it('reads a file by path, naming it in origins, counting every byte', async () => {
    const text = 'label,a\r\n1,2\r\n3,4\r\n';
    const path = tempCsv(text);
    const counters = createCounters();
    const out = await all(path, { classes: 10, counters, highWaterMark: 4 });
    expect(out.map((s) => s.origin)).toEqual([
      { source: path, line: 2, record: 0, endOffset: 14 },
      { source: path, line: 3, record: 1, endOffset: 19 },
    ]);
    expect(counters).toEqual({ dataRows: 2, rowsEmitted: 2, rowsSkipped: 0, skippedByCode: {}, bytesRead: 19 });
  });

  it('counters are added to, so rowsEmitted + rowsSkipped == dataRows holds across runs', async () => {
    const counters = createCounters();
    const options = { classes: 10, onBadRow: 'skip', counters } as const;
    await all(stream('label,a\n1,2\n1,x\n'), options);
    await all(stream('label,a\n\n1,2\n1,3\n'), options);
    expect(counters).toMatchObject({
      dataRows: 5,
      rowsEmitted: 3,
      rowsSkipped: 2,
      skippedByCode: { CSV_NOT_A_NUMBER: 1, CSV_EMPTY_LINE: 1 },
    });
    expect(counters.rowsEmitted + counters.rowsSkipped).toBe(counters.dataRows);
  });

  it('maxBadRows ends the run at the row that goes over the budget', async () => {
    const skips: SkipReport[] = [];
    const err = await all(stream('label,a\n1,x\n1,2\n1,y\n1,z\n1,3\n'), {
      classes: 10,
      onBadRow: 'skip',
      maxBadRows: 2,
      onSkip: (r) => skips.push(r),
    }).catch((e: unknown) => e);
    expect((err as CsvError).code).toBe('CSV_TOO_MANY_BAD_ROWS');
    expect((err as CsvError).message).toBe(
      'stdin:5: too many bad rows: 3 skipped, more than maxBadRows 2 (last: stdin:5:2 (column "a"): "z" is not a number)',
    );
    expect(skips.map((s) => s.line)).toEqual([2, 4, 5]);
  });

  it('maxBadFraction is checked at the end of the input', async () => {
    const text = `label,a\n${'1,2\n'.repeat(8)}1,x\n\n`;
    const err = await all(stream(text), { classes: 10, onBadRow: 'skip', maxBadFraction: 0.1 }).catch((e: unknown) => e);
    expect((err as CsvError).message).toBe(
      'stdin:11: too many bad rows: 2 of 10 rows skipped (20.0%), more than maxBadFraction 0.1 (last: empty line at stdin:11)',
    );
    await expect(all(stream(text), { classes: 10, onBadRow: 'skip', maxBadFraction: 0.2 })).resolves.toHaveLength(8);
  });

  it('a stream failing mid-file is a CSV_READ_ERROR naming the source and byte offset', async () => {
    async function* failing(): AsyncGenerator<Buffer> {
      yield Buffer.from('label,a\n1,2\n');
      throw new Error('EIO: i/o error');
    }
    const seen: Sample[] = [];
    const err = await new Promise<unknown>((resolve) =>
      fromCsv(Readable.from(failing()), { classes: 10, name: 'data.csv' }).subscribe({ next: (s) => seen.push(s), error: resolve }),
    );
    expect((err as CsvError).code).toBe('CSV_READ_ERROR');
    expect((err as CsvError).message).toBe('data.csv: cannot read at byte offset 12: EIO: i/o error');
    expect(seen).toHaveLength(1);
    const missing = await all(join(dir, 'nope.csv'), { classes: 10 }).catch((e: unknown) => e);
    expect((missing as CsvError).code).toBe('CSV_READ_ERROR');
    expect((missing as CsvError).message).toMatch(/nope\.csv: cannot read at byte offset 0: ENOENT/);
  });
});

describe('fromCsv resume', () => {
  const text = '\uFEFFlabel,a,b\r\n1,2,3\n4,x,6\r\n\n"7",8,9\n1,"2\r\n",3\n5,6,7\r\n8,9,9\n';

  it.each(['fast', 'csv-parse'] as const)('%s: resuming at any row end gives the rest of the rows, lines and records included', async (engine) => {
    const path = tempCsv(text);
    const options: CsvSourceOptions = { classes: 10, onBadRow: 'skip', engine };
    const full = (await all(path, options)).map(plain);
    expect(full.length).toBe(4);
    for (let k = 0; k < full.length; k++) {
      const { origin } = full[k] as { origin: { endOffset: number; record: number; line: number } };
      const rest = await all(path, { ...options, startOffset: origin.endOffset, startRecord: origin.record + 1 });
      expect(rest.map(plain)).toEqual(full.slice(k + 1));
      const startLine = 1 + countLineBreaks(Buffer.from(text).subarray(0, origin.endOffset));
      const withLine = await all(path, { ...options, startOffset: origin.endOffset, startRecord: origin.record + 1, startLine });
      expect(withLine.map(plain)).toEqual(full.slice(k + 1));
    }
  });

  it.each(['fast', 'csv-parse'] as const)('%s: maxBadFraction counts the skips restored into the counters, even when the resumed read skips none', async (engine) => {
    const path = tempCsv(`label,a\n1,x\n\n${'1,2\n'.repeat(8)}`);
    const counters = createCounters();
    const options: CsvSourceOptions = { classes: 10, onBadRow: 'skip', engine };
    const first = await firstValueFrom(fromCsv(path, { ...options, counters }));
    // The checkpoint's counters: 2 rows skipped, 1 emitted; the resumed read meets only the 7 good rows left.
    const saved = { dataRows: 3, rowsEmitted: 1, rowsSkipped: 2, skippedByCode: { CSV_NOT_A_NUMBER: 1, CSV_EMPTY_LINE: 1 } };
    expect(counters).toMatchObject(saved);
    const resumed = (maxBadFraction: number): Promise<Sample[]> =>
      all(path, { ...options, maxBadFraction, counters: { ...saved, skippedByCode: { ...saved.skippedByCode }, bytesRead: 0 }, startOffset: first.origin.endOffset, startRecord: first.origin.record + 1 });
    const err = await resumed(0.1).catch((e: unknown) => e);
    expect((err as CsvError).code).toBe('CSV_TOO_MANY_BAD_ROWS');
    expect((err as CsvError).message).toBe(
      `${path}: too many bad rows: 2 of 10 rows skipped (20.0%), more than maxBadFraction 0.1 (every skip counted before byte offset ${first.origin.endOffset}, where this read resumed)`,
    );
    await expect(resumed(0.2)).resolves.toHaveLength(7);
  });

  it('resuming a headerless file reads its first row only to size the columns', async () => {
    const path = tempCsv('1,2\n3,4\n5,6\n');
    const first = await all(path, { classes: 10, hasHeader: false });
    const rest = await all(path, { classes: 10, hasHeader: false, startOffset: first[0].origin.endOffset, startRecord: 1 });
    expect(rest.map(plain)).toEqual(first.slice(1).map(plain));
  });
});

describe('createGate', () => {
  it('grants up to `limit` credits at once, then in order as they are released', async () => {
    const gate = createGate(2);
    expect(gate.acquire()).toBeUndefined();
    expect(gate.acquire()).toBeUndefined();
    const order: string[] = [];
    const third = (gate.acquire() as Promise<void>).then(() => order.push('third'));
    const fourth = (gate.acquire() as Promise<void>).then(() => order.push('fourth'));
    expect(gate.inFlight).toBe(2);
    gate.release();
    await third;
    expect(order).toEqual(['third']);
    gate.release(2);
    await fourth;
    expect(order).toEqual(['third', 'fourth']);
    expect(gate.inFlight).toBe(1);
  });

  it('an aborted wait takes no credit, and releasing more than is in flight is an error', async () => {
    const gate = createGate(1);
    gate.acquire();
    const abort = new AbortController();
    const waiting = gate.acquire(abort.signal) as Promise<void>;
    abort.abort(new Error('unsubscribed'));
    await expect(waiting).rejects.toThrow('unsubscribed');
    gate.release();
    expect(gate.inFlight).toBe(0);
    expect(() => gate.release()).toThrow('gate.release: cannot release 1 credits with 0 in flight');
    expect(() => createGate(0)).toThrow('createGate: limit must be a positive integer, got 0');
  });
});

describe('fromCsv pull-driven reading', () => {
  it('with a gate, an async consumer never has more than `limit` rows in flight, and the file is fully read', async () => {
    const rows = 50_000;
    const path = tempCsv(`label,a,b\n${Array.from({ length: rows }, (_, i) => `${i % 10},${i},${i % 7}`).join('\n')}\n`);
    const limit = 256;
    const gate = createGate(limit);
    const counters = createCounters();
    let emitted = 0;
    let consumed = 0;
    let maxAhead = 0;
    let lastConsumedEnd = 0;
    let maxBytesAhead = 0;
    await lastValueFrom(
      fromCsv(path, { classes: 10, gate, counters, highWaterMark: 4096 }).pipe(
        tap(() => {
          emitted++;
          maxAhead = Math.max(maxAhead, emitted - consumed);
        }),
        bufferCount(100),
        concatMap((batch) =>
          timer(2).pipe(
            concatMap(async () => {
              consumed += batch.length;
              lastConsumedEnd = batch[batch.length - 1].origin.endOffset;
              maxBytesAhead = Math.max(maxBytesAhead, counters.bytesRead - lastConsumedEnd);
              gate.release(batch.length);
            }),
          ),
        ),
      ),
      { defaultValue: undefined },
    );
    expect(consumed).toBe(rows);
    expect(counters.rowsEmitted).toBe(rows);
    expect(maxAhead).toBeLessThanOrEqual(limit);
    // rows are ≤ 18 bytes: `limit` rows plus one 4 KiB chunk at most.
    expect(maxBytesAhead).toBeLessThanOrEqual(limit * 18 + 4096);
    expect(gate.inFlight).toBe(0);
  });

  it('without a gate, a slow synchronous consumer keeps the read-ahead within one chunk', async () => {
    const text = mnistLike(300);
    const path = tempCsv(text);
    for (const engine of ['fast', 'csv-parse'] as const) {
      const counters = createCounters();
      let n = 0;
      let maxBytesAhead = 0;
      await new Promise<void>((resolve, reject) =>
        fromCsv(path, { classes: 10, counters, engine, highWaterMark: 16 * 1024 }).subscribe({
          next: (s) => {
            let busy = 0;
            for (let i = 0; i < 200_000; i++) busy += s.x[i % 784]; // a slow step: the next read must wait for it
            n += busy >= 0 ? 1 : 1;
            maxBytesAhead = Math.max(maxBytesAhead, counters.bytesRead - s.origin.endOffset);
          },
          error: reject,
          complete: resolve,
        }),
      );
      expect(n).toBe(300);
      expect(maxBytesAhead).toBeLessThanOrEqual(16 * 1024);
      expect(counters.bytesRead).toBe(Buffer.byteLength(text));
    }
  });

  it('unsubscribing stops reading and destroys the input stream', async () => {
    let produced = 0;
    let finished = false;
    async function* endless(): AsyncGenerator<Buffer> {
      try {
        yield Buffer.from('label,a\n');
        for (;;) {
          produced++;
          yield Buffer.from('1,2\n3,4\n');
        }
      } finally {
        finished = true;
      }
    }
    const input = Readable.from(endless());
    const first = await lastValueFrom(fromCsv(input, { classes: 10 }).pipe(take(3), toArray()));
    expect(first).toHaveLength(3);
    await new Promise((resolve) => setImmediate(resolve));
    expect(input.destroyed).toBe(true);
    expect(finished).toBe(true);
    expect(produced).toBeLessThan(20);
  });

  it('unsubscribing from a file after two rows reads no more than a chunk or two', async () => {
    const path = tempCsv(mnistLike(200));
    const counters = createCounters();
    await firstValueFrom(fromCsv(path, { classes: 10, counters, highWaterMark: 8192 }).pipe(take(2), toArray()));
    expect(counters.rowsEmitted).toBe(2);
    expect(counters.bytesRead).toBeLessThanOrEqual(2 * 8192);
  });
});

describe('fromCsv properties', () => {
  const number = fc.oneof(
    fc.integer({ min: 0, max: 255 }).map(String),
    fc.integer({ min: -1e9, max: 1e9 }).map(String),
    fc.double({ min: -1e30, max: 1e30, noNaN: true }).map(String),
    fc.tuple(fc.double({ min: -1e10, max: 1e10, noNaN: true }), fc.integer({ min: 0, max: 8 })).map(([v, k]) => v.toFixed(k)),
    fc.tuple(fc.double({ min: -1e300, max: 1e300, noNaN: true }), fc.integer({ min: 0, max: 20 })).map(([v, k]) => v.toExponential(k)),
    fc.constantFrom('+1', '007', '.5', '5.', '1E5', ' 3 ', '\t-2\t', '-0', '0.000001234', '123456789012345678901234'),
  );
  const eol = fc.constantFrom('\n', '\r\n', '\r');

  /** A valid CSV: a header, 1–3 features plus a label, 1–12 rows, any line endings, maybe a BOM. */
  const validCsv = fc
    .record({
      nFeatures: fc.integer({ min: 1, max: 3 }),
      rows: fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.array(number, { minLength: 3, maxLength: 3 }), eol), {
        minLength: 1,
        maxLength: 12,
      }),
      hasBom: fc.boolean(),
      hasFinalEol: fc.boolean(),
    })
    .map(({ nFeatures, rows, hasBom, hasFinalEol }) => {
      let text = `${hasBom ? '\uFEFF' : ''}label,${Array.from({ length: nFeatures }, (_, i) => `x${i}`).join(',')}`;
      for (const [label, values, end] of rows) text += `${end}${label},${values.slice(0, nFeatures).join(',')}`;
      return Buffer.from(text + (hasFinalEol ? rows[0][2] : ''));
    });

  it('splitting a valid CSV at any byte boundaries gives the same samples (both engines)', async () => {
    await fc.assert(
      fc.asyncProperty(validCsv, fc.array(fc.integer({ min: 0, max: 10_000 }), { maxLength: 12 }), async (bytes, cuts) => {
        const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const parts: Buffer[] = [];
        let from = 0;
        for (const c of at) {
          parts.push(bytes.subarray(from, c));
          from = c;
        }
        parts.push(bytes.subarray(from));
        const whole = (await all(Readable.from([bytes]), { classes: 10, engine: 'csv-parse' })).map(plain);
        for (const engine of ['fast', 'csv-parse'] as const) {
          const split = (await all(Readable.from(parts.filter((p) => p.length > 0)), { classes: 10, engine })).map(plain);
          expect(split).toEqual(whole);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('random bytes end in samples or a coded CsvError, never another exception (both engines)', async () => {
    const byte = fc.oneof(
      fc.constantFrom(...Buffer.from(',,,"\n\r0123456789.eE+- \tabc')),
      fc.integer({ min: 0, max: 255 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(byte, { maxLength: 120 }),
        fc.integer({ min: 1, max: 9 }),
        fc.boolean(),
        fc.constantFrom('error', 'skip'),
        async (bytes, size, hasHeader, onBadRow) => {
          for (const engine of ['fast', 'csv-parse'] as const) {
            const options: CsvSourceOptions = { classes: 10, hasHeader, onBadRow, engine, maxRecordSize: 64 };
            const result: Sample[] | unknown = await all(stream(Buffer.from(bytes), size), options).catch((e: unknown) => e);
            if (Array.isArray(result)) {
              for (const s of result as Sample[]) expect(s.x.some((v) => Number.isNaN(v))).toBe(false);
            } else {
              expect(result).toBeInstanceOf(CsvError);
              expect((result as CsvError).code).toMatch(/^(CSV_|INVALID_OPENING_QUOTE)/);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
