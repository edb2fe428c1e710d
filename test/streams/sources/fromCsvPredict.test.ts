/**
 * fromCsv's features-only mode (`task: 'predict'`): rows to predict have no label nor target column,
 * yet get the same checks, messages and counters as training data — read by both engines in many
 * chunkings, which must all agree.
 */
import { Readable } from 'node:stream';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { CsvError, type SkipReport } from '../../../src/streams/sources/csvErrors.js';
import { type CsvSourceOptions, createCounters, fromCsv } from '../../../src/streams/sources/fromCsv.js';

interface Outcome {
  rows: { x: number[]; target: number[]; label: number; line: number }[];
  error: { code: string; line: number; column: number; columnName?: string; message: string } | null;
  counters: { dataRows: number; rowsEmitted: number; rowsSkipped: number; skippedByCode: Record<string, number> };
  skips: SkipReport[];
}

function chunksOf(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(bytes.subarray(i, i + size));
  return out;
}

function readOnce(bytes: Buffer, options: CsvSourceOptions, engine: 'fast' | 'csv-parse', size: number): Promise<Outcome> {
  const counters = createCounters();
  const skips: SkipReport[] = [];
  const rows: Outcome['rows'] = [];
  return new Promise((resolve, reject) => {
    const done = (error: Outcome['error']): void => {
      const { bytesRead: _b, ...rest } = counters;
      resolve({ rows, error, counters: rest, skips });
    };
    fromCsv(Readable.from(chunksOf(bytes, size)), { name: 'rows.csv', ...options, engine, counters, onSkip: (r) => skips.push(r) }).subscribe({
      next: (s) => rows.push({ x: Array.from(s.x), target: Array.from(s.target), label: s.label, line: s.origin.line }),
      error: (e: unknown) => {
        if (!(e instanceof CsvError)) {
          reject(e);
          return;
        }
        done({ code: e.code, line: e.line, column: e.column, columnName: e.columnName, message: e.message });
      },
      complete: () => done(null),
    });
  });
}

/** Every engine and chunking must agree; returns the one outcome. */
async function read(text: string | Buffer, options: CsvSourceOptions): Promise<Outcome> {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const ref = await readOnce(bytes, options, 'csv-parse', 1 << 30);
  for (const engine of ['csv-parse', 'fast'] as const) {
    for (const size of [1, 2, 5, 13, 1 << 30]) {
      expect(await readOnce(bytes, options, engine, size), `${engine}, ${size}-byte chunks`).toEqual(ref);
    }
  }
  return ref;
}

const PREDICT = { task: 'predict' } as const;

describe("fromCsv task 'predict': features only", () => {
  it('reads every column as a feature by default: empty target, label −1', async () => {
    const out = await read('u,v,w\n1,2,3\n-4.5,0.25,1e3\n', PREDICT);
    expect(out.error).toBeNull();
    expect(out.rows).toEqual([
      { x: [1, 2, 3], target: [], label: -1, line: 2 },
      { x: [-4.5, 0.25, 1000], target: [], label: -1, line: 3 },
    ]);
    expect(out.counters).toEqual({ dataRows: 2, rowsEmitted: 2, rowsSkipped: 0, skippedByCode: {} });
  });

  it('reads the named features in the given order and never looks at other columns (an absent or garbage label is fine)', async () => {
    const text = 'id,label,b,a\nr1,cat,2,1\nr2,,4,3\nr3,NaN,6,5\n';
    const out = await read(text, { ...PREDICT, features: ['a', 'b'] });
    expect(out.error).toBeNull();
    expect(out.rows.map((r) => r.x)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    expect(out.rows.every((r) => r.label === -1 && r.target.length === 0)).toBe(true);
  });

  it('gives the same features as the classify mode, with scale and normalization', async () => {
    const lines = ['label,p,q,r'];
    for (let i = 0; i < 300; i++) lines.push(`${i % 3},${(i * 7) % 255},${(i * 0.37).toFixed(3)},${-i}`);
    const text = `${lines.join('\n')}\n`;
    const common = { features: ['p', 'q', 'r'], scale: 0.5, normalize: { kind: 'zscore' as const, a: [1, 2, 3], b: [2, 4, 8] } };
    const predicted = await read(text, { ...PREDICT, ...common });
    const trained = await lastValueFrom(fromCsv(Readable.from([Buffer.from(text)]), { classes: 3, ...common }).pipe(toArray()));
    expect(predicted.rows.map((r) => r.x)).toEqual(trained.map((s) => Array.from(s.x)));
    expect(predicted.rows.map((r) => r.line)).toEqual(trained.map((s) => s.origin.line));
  });

  it('a bad value fails with the same file:line:column (column "name") message as training', async () => {
    const text = 'a,b,c\n1,2,3\r\n4,5,6\n7,0x1F,9\n';
    const out = await read(text, PREDICT);
    expect(out.error).toEqual({ code: 'CSV_NOT_A_NUMBER', line: 4, column: 2, columnName: 'b', message: 'rows.csv:4:2 (column "b"): "0x1F" is not a decimal number' });
    expect(out.rows.map((r) => r.line)).toEqual([2, 3]);
    const asTraining = await readOnce(Buffer.from(text.replace('a,b,c', 'a,b,label').replace(/,3\r/, ',1\r').replace(/,6\n/, ',1\n').replace(/,9\n/, ',1\n')), { classes: 2 }, 'fast', 1 << 30);
    expect(asTraining.error?.message).toBe(out.error?.message);
  });

  it('a short row, an empty line and a non-finite value are row errors: fatal by default, skipped and counted with onBadRow skip', async () => {
    const text = 'x1,x2\n1,2\n3\n\n5,Infinity\n7,8\n';
    const strict = await read(text, PREDICT);
    expect(strict.error?.message).toBe('rows.csv:3: expected 2 fields, got 1');
    const skipped = await read(text, { ...PREDICT, onBadRow: 'skip' });
    expect(skipped.error).toBeNull();
    expect(skipped.rows.map((r) => r.line)).toEqual([2, 6]);
    expect(skipped.counters).toEqual({
      dataRows: 5,
      rowsEmitted: 2,
      rowsSkipped: 3,
      skippedByCode: { CSV_RECORD_INCONSISTENT_COLUMNS: 1, CSV_EMPTY_LINE: 1, CSV_NON_FINITE: 1 },
    });
    expect(skipped.skips.map((s) => [s.line, s.code, s.raw])).toEqual([
      [3, 'CSV_RECORD_INCONSISTENT_COLUMNS', '3'],
      [4, 'CSV_EMPTY_LINE', ''],
      [5, 'CSV_NON_FINITE', '5,Infinity'],
    ]);
  });

  it('structural errors stay fatal with skip: an unclosed quote names the line where it opened', async () => {
    const out = await read('a,b\n1,2\n3,"4\n5,6\n7,8\n', { ...PREDICT, onBadRow: 'skip' });
    expect(out.error?.code).toBe('CSV_QUOTE_NOT_CLOSED');
    expect(out.error?.message).toBe('rows.csv:3:2 (column "b"): the quote opened here is never closed (the input ends inside it)');
  });

  it('invalid UTF-8 is fatal; a BOM is stripped; a record over maxRecordSize is fatal', async () => {
    const bad = Buffer.concat([Buffer.from('a,b\n1,2\n3,'), Buffer.from([0xff]), Buffer.from('\n')]);
    expect((await read(bad, { ...PREDICT, onBadRow: 'skip' })).error?.code).toBe('CSV_INVALID_UTF8');
    const bom = await read('\ufeffa,b\n1,2\n', { ...PREDICT, features: ['a', 'b'] });
    expect(bom.rows.map((r) => r.x)).toEqual([[1, 2]]);
    const long = await read(`a;b\n${'1;2;'.repeat(100)}\n`, { ...PREDICT, maxRecordSize: 64 });
    expect(long.error?.code).toBe('CSV_MAX_RECORD_SIZE');
    expect(long.error?.message).toBe('rows.csv:2: record larger than 64 bytes (max record size); is the delimiter a comma?');
  });

  it('a header-only input has no data rows; a missing feature column is a schema error', async () => {
    expect((await read('a,b\n', PREDICT)).error?.message).toBe('no data rows in rows.csv');
    const missing = await read('a,b\n1,2\n', { ...PREDICT, features: ['a', 'c'] });
    expect(missing.error?.code).toBe('CSV_SCHEMA_MISMATCH');
    expect(missing.error?.message).toBe('rows.csv:1: feature column "c" not found; the header has "a", "b"');
  });

  it('label, targets and classes are refused with task predict', () => {
    expect(() => fromCsv('x.csv', { task: 'predict', label: 'y' })).toThrow(`fromCsv: option "label" must be unset for task 'predict' (features only), got "y"`);
    expect(() => fromCsv('x.csv', { task: 'predict', classes: 3 })).toThrow(`option "classes" must be unset for task 'predict'`);
    expect(() => fromCsv('x.csv', { task: 'predict', targets: ['y'] })).toThrow(`option "targets" must be unset for task 'predict'`);
  });
});
