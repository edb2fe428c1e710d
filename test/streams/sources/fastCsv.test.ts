/**
 * The fast reader against the reference: its field scan against `Number()`, and whole readings
 * against the csv-parse engine on random CSVs — good and bad numbers in many notations, quotes,
 * non-ASCII, wrong field counts, empty lines, every line ending, random chunking and options —
 * asserting identical samples, errors (code, place, message), counters and skip reports (the
 * generators are in messyCsv.ts).
 * (Every RELIABILITY case in csvReliability.test.ts is also read by both engines and compared.)
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CsvError, type SkipReport } from '../../../src/streams/sources/csvErrors.js';
import { DECIMAL, trimField } from '../../../src/streams/sources/csvSchema.js';
import { type FieldScan, scanField } from '../../../src/streams/sources/fastCsv.js';
import { type CsvSourceOptions, createCounters, fromCsv } from '../../../src/streams/sources/fromCsv.js';
import { messyCsv, messyOptions, sourceOptions, wideCsv, wideOptions, wideSourceOptions } from './messyCsv.js';

function scan(text: string): { num: number; end: number; special: boolean } {
  const bytes = Buffer.from(text, 'utf8');
  const out: FieldScan = { num: NaN, special: false };
  const end = scanField(bytes, 0, bytes.length, out);
  return { num: out.num, end, special: out.special };
}

describe('scanField', () => {
  it('reads plain decimals exactly, and stops at the delimiter', () => {
    expect(scan('0.1')).toEqual({ num: 0.1, end: 3, special: false });
    expect(scan(' -12.5e-1\t,7')).toEqual({ num: -1.25, end: 10, special: false });
    expect(scan('1e22\n').num).toBe(1e22);
    expect(scan('123456789012345').num).toBe(123456789012345);
    expect(scan('0.000000000000000000001').num).toBe(1e-21);
    expect(Object.is(scan('-0').num, -0)).toBe(true);
    expect(scan('0e999').num).toBe(0);
    expect(scan('255\r\n').end).toBe(3);
  });

  it('defers what the exact fast path cannot prove (NaN): > 15 digits, |e| > 22, non-decimals', () => {
    for (const text of ['9007199254740993', '1e23', '1e-23', '1.5e400', '0x10', 'abc', '', '.', '1e', '1.2.3', '1 2', '--1']) {
      expect(scan(text).num, text).toBeNaN();
    }
  });

  it('flags quotes and non-ASCII bytes, which only csv-parse may read', () => {
    expect(scan('1"2"').special).toBe(true);
    expect(scan('"12"').special).toBe(true);
    expect(scan('12é,3')).toEqual({ num: NaN, end: 4, special: true });
    expect(scan('12,"3"').special).toBe(false);
  });

  const digits = (max: number) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 0, maxLength: max }).map((d) => d.join(''));
  const decimalText = fc
    .record({
      blank: fc.constantFrom('', ' ', '\t', '  '),
      sign: fc.constantFrom('', '+', '-'),
      int: digits(20),
      hasDot: fc.boolean(),
      frac: digits(20),
      exp: fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 400 }))),
    })
    .map(({ blank, sign, int, hasDot, frac, exp }) => {
      const e = exp === null ? '' : `${exp[0]}${exp[1]}${exp[2]}`;
      return `${blank}${sign}${int}${hasDot ? '.' : ''}${hasDot ? frac : ''}${e}${blank}`;
    });

  it('property: whenever it gives a value, it is exactly Number(trimmed text), and only for the decimal grammar', () => {
    let nFast = 0;
    fc.assert(
      fc.property(decimalText, (text) => {
        const { num } = scan(text);
        const t = trimField(text);
        if (Number.isNaN(num)) return;
        nFast++;
        expect(DECIMAL.test(t)).toBe(true);
        expect(Object.is(num, Number(t))).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(nFast).toBeGreaterThan(2_000);
  });

  it('property: it never gives a value to a text outside the grammar', () => {
    const anyText = fc.string({ unit: fc.constantFrom(...'0123456789.eE+- \txX_a\u0000'.split('')), maxLength: 12 });
    fc.assert(
      fc.property(anyText, (text) => {
        if (!DECIMAL.test(trimField(text))) expect(scan(text).num).toBeNaN();
      }),
      { numRuns: 20_000 },
    );
  });
});

// ───────────────────────── whole readings, both engines ─────────────────────────

interface Outcome {
  rows: unknown[];
  error: { code: string; line: number; column: number; columnName?: string; value?: string; message: string } | null;
  counters: unknown;
  skips: SkipReport[];
}

function readOnce(parts: Buffer[], options: CsvSourceOptions, engine: 'fast' | 'csv-parse'): Promise<Outcome> {
  const counters = createCounters();
  const skips: SkipReport[] = [];
  const rows: unknown[] = [];
  return new Promise((resolve, reject) => {
    const done = (error: Outcome['error']): void => {
      const { bytesRead: _b, ...rest } = counters;
      resolve({ rows, error, counters: rest, skips });
    };
    fromCsv(Readable.from(parts), { name: 'data.csv', ...options, engine, counters, onSkip: (r) => skips.push(r) }).subscribe({
      next: (s) => rows.push({ x: Array.from(s.x), target: Array.from(s.target), label: s.label, origin: s.origin, kept: s.kept }),
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

function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const c of at) {
    if (c > from) parts.push(bytes.subarray(from, c));
    from = Math.max(from, c);
  }
  if (from < bytes.length) parts.push(bytes.subarray(from));
  return parts;
}

describe('fast engine = csv-parse engine', () => {
  it('property: random messy CSVs in random chunks give identical samples (kept columns and ids too), errors, counters and skips', async () => {
    await fc.assert(
      fc.asyncProperty(messyCsv, fc.array(fc.nat(), { maxLength: 10 }), messyOptions, async (bytes, cuts, o) => {
        const opts = sourceOptions(o);
        const reference = await readOnce([bytes], opts, 'csv-parse');
        const parts = split(bytes, cuts);
        expect(await readOnce(parts, opts, 'fast')).toEqual(reference);
        expect(await readOnce(parts, opts, 'csv-parse')).toEqual(reference);
      }),
      { numRuns: 600 },
    );
  });

  it('property: wide rows (runs of plain feature columns, broken by other fields) in random chunks read identically', async () => {
    await fc.assert(
      fc.asyncProperty(wideCsv, fc.array(fc.nat(), { maxLength: 10 }), wideOptions, async ({ bytes, names }, cuts, o) => {
        const opts = wideSourceOptions(o, names);
        const reference = await readOnce([bytes], opts, 'csv-parse');
        expect(await readOnce(split(bytes, cuts), opts, 'fast')).toEqual(reference);
      }),
      { numRuns: 400 },
    );
  });

  it('an MNIST-like file reads identically, in 1 KiB chunks, with a quoted row in the middle', async () => {
    const lines = ['label,' + Array.from({ length: 784 }, (_, i) => `p${i}`).join(',')];
    for (let r = 0; r < 40; r++) lines.push([r % 10, ...Array.from({ length: 784 }, (_, i) => (r * 13 + i * 29) % 256)].join(','));
    lines[20] = lines[20].replace(/,(\d+),/, ',"$1",');
    const bytes = Buffer.from(lines.join('\r\n') + '\r\n');
    const opts: CsvSourceOptions = { classes: 10, scale: 1 / 255, shape: [1, 28, 28] };
    const parts = split(bytes, Array.from({ length: Math.ceil(bytes.length / 1024) }, (_, i) => i * 1024));
    const reference = await readOnce([bytes], opts, 'csv-parse');
    expect(reference.rows).toHaveLength(40);
    expect(await readOnce(parts, opts, 'fast')).toEqual(reference);
  });
});
