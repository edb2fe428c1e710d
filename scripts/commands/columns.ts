/**
 * What the CLI learns about a CSV before streaming it: its header (from a file, or peeked from stdin
 * without losing a byte), which columns are labels and which are features, an estimate of its row
 * count for the progress bar, and — when `--classes` is not given — the label values of a first pass.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { CsvError } from '../../src/streams/sources/csvErrors.js';
import { checkHeader } from '../../src/streams/sources/csvSchema.js';
import { CliError } from './args.js';
import { DEFAULT_MAX_RECORD_SIZE } from './badRows.js';

/** A CSV input: a file path, or stdin (`-`). */
export interface CsvInput {
  /** The name used in messages: the path, or `stdin`. */
  readonly name: string;
  /** The file path, or null for stdin. */
  readonly path: string | null;
  readonly header: readonly string[];
  /** For stdin: the stream to read (the peeked header bytes put back in front). Null for a file. */
  readonly stream: Readable | null;
}

/**
 * The header's names, checked as fromCsv checks them (duplicates, empty names, a header that looks like
 * data), so the first error a user sees about the header is the same whichever step meets it.
 */
function parseHeader(line: string, name: string): string[] {
  const text = line.replace(/\r$/, '');
  if (text.trim() === '') throw new CliError(`${name}: the first line is empty (expected a header of column names)`);
  let rows: unknown;
  try {
    rows = parseSync(text, { bom: true, relax_column_count: true });
  } catch (e) {
    throw new CliError(`${name}:1: cannot read the header (${e instanceof Error ? e.message : String(e)})`);
  }
  const first = Array.isArray(rows) ? (rows[0] as unknown) : undefined;
  if (!Array.isArray(first) || !first.every((s) => typeof s === 'string')) throw new CliError(`${name}:1: cannot read the header`);
  try {
    return checkHeader(name, 1, first as string[]);
  } catch (e) {
    // The library's hint names its option; the CLI reads files with a header only.
    if (e instanceof CsvError && e.code === 'CSV_NUMERIC_HEADER') {
      throw new CsvError(e, e.message.replace(/; if the file has no header, pass hasHeader: false$/, '; the first line must be a header of column names'));
    }
    throw e;
  }
}

/** First index of a line break (LF or CR) in `b`, or -1. */
function lineBreakIn(b: Buffer): number {
  const lf = b.indexOf(10);
  const cr = b.indexOf(13);
  return lf < 0 ? cr : cr < 0 ? lf : Math.min(lf, cr);
}

/**
 * Read bytes from `source` until the first line break; returns the line and every chunk read (to replay).
 * A first line longer than `maxRecordSize` fails like fromCsv's CSV_MAX_RECORD_SIZE (a wrong delimiter, or not a CSV).
 */
async function readFirstLine(source: AsyncIterable<Buffer | string>, name: string, maxRecordSize: number): Promise<{ line: string; chunks: Buffer[]; rest: AsyncIterator<Buffer | string> }> {
  const chunks: Buffer[] = [];
  let size = 0;
  const it = source[Symbol.asyncIterator]();
  for (;;) {
    const { value, done } = await it.next();
    if (done === true) break;
    const chunk = typeof value === 'string' ? Buffer.from(value) : value;
    chunks.push(chunk);
    size += chunk.length;
    if (lineBreakIn(chunk) >= 0) break;
    if (size > maxRecordSize) {
      throw new CsvError(
        { source: name, line: 1, column: 0, code: 'CSV_MAX_RECORD_SIZE' },
        `${name}:1: record larger than ${maxRecordSize} bytes (max record size); is the delimiter a comma?`,
      );
    }
  }
  const all = Buffer.concat(chunks);
  const end = lineBreakIn(all);
  const line = all.subarray(0, end < 0 ? all.length : end).toString('utf8');
  return { line, chunks, rest: it };
}

/** Open `--data FILE` or `--data -` and read its header. */
export async function openCsv(arg: string, option = '--data', maxRecordSize = DEFAULT_MAX_RECORD_SIZE): Promise<CsvInput> {
  if (arg === '-') {
    const { line, chunks, rest } = await readFirstLine(process.stdin, 'stdin', maxRecordSize);
    if (chunks.length === 0) throw new CliError(`${option} -: stdin is empty (expected a CSV with a header line)`);
    async function* replay(): AsyncGenerator<Buffer | string> {
      yield* chunks;
      for (;;) {
        const { value, done } = await rest.next();
        if (done === true) return;
        yield value;
      }
    }
    return { name: 'stdin', path: null, header: parseHeader(line, 'stdin'), stream: Readable.from(replay(), { objectMode: false }) };
  }
  const stream = createReadStream(arg);
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', reject);
  });
  try {
    await opened;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`${option} ${arg}: no such file`);
    if (code === 'EISDIR') throw new CliError(`${option} ${arg}: is a directory, not a CSV file`);
    throw e;
  }
  try {
    const { line, chunks } = await readFirstLine(stream, arg, maxRecordSize);
    if (chunks.length === 0) throw new CliError(`${arg}: the file is empty (expected a CSV with a header line)`);
    return { name: arg, path: arg, header: parseHeader(line, arg), stream: null };
  } finally {
    stream.destroy();
  }
}

/**
 * Resolve `--label NAME|INDEX[,…]` against the header: the label column indices. Without the option,
 * the column named `label`.
 */
export function labelColumns(input: CsvInput, label: readonly string[] | undefined): number[] {
  const header = input.header;
  const list = label ?? ['label'];
  return list.map((item) => {
    const byName = header.indexOf(item);
    if (byName >= 0) return byName;
    if (/^\d+$/.test(item)) {
      const index = Number(item);
      if (index < header.length) return index;
      throw new CliError(`--label ${item}: ${input.name} has ${header.length} columns (indices 0..${header.length - 1})`);
    }
    const shown = header.length > 8 ? `${header.slice(0, 8).join(', ')}, … (${header.length} columns)` : header.join(', ');
    const delimiter = header.length === 1 ? [';', '\t', '|'].find((d) => header[0].includes(d)) : undefined;
    const hint =
      delimiter !== undefined
        ? `; the header is one column holding ${JSON.stringify(delimiter)}: is the delimiter a comma?`
        : label === undefined
          ? '; pass --label NAME or --label INDEX'
          : '';
    throw new CliError(`${input.name}: no column named "${item}" (columns: ${shown})${hint}`);
  });
}

/** Files up to this size have their rows counted; larger ones have them estimated from their start. */
export const COUNTED_BYTES = 64 * 1024 * 1024;
/** The start of a large file whose rows per byte give the estimate. */
export const SAMPLE_BYTES = 4 * 1024 * 1024;

/** Data rows of a file, and whether they were counted (else estimated). */
export interface RowCount {
  readonly rows: number;
  readonly isCounted: boolean;
}

/**
 * The data rows of a file: its line breaks minus the header, counted for a file of at most
 * `countedBytes` (exact for files without quoted line breaks); for a larger one, estimated from the
 * line breaks of its first `sampleBytes` and its size, so a file larger than memory is not read an
 * extra time before training starts. The figure only sizes progress reports and choices that check
 * themselves (the pass cache keeps a pass only if it fit).
 */
export async function estimateRows(path: string, countedBytes = COUNTED_BYTES, sampleBytes = SAMPLE_BYTES): Promise<RowCount> {
  const size = (await stat(path)).size;
  const isCounted = size <= countedBytes;
  let breaks = 0;
  let read = 0;
  let last = 10;
  for await (const chunk of createReadStream(path, isCounted ? {} : { end: sampleBytes - 1 }) as AsyncIterable<Buffer>) {
    let i = chunk.indexOf(10);
    while (i >= 0) {
      breaks++;
      i = chunk.indexOf(10, i + 1);
    }
    read += chunk.length;
    if (chunk.length > 0) last = chunk[chunk.length - 1];
  }
  if (isCounted) return { rows: Math.max(0, breaks + (last === 10 ? 0 : 1) - 1), isCounted };
  return { rows: Math.max(0, Math.round((breaks * size) / Math.max(1, read)) - 1), isCounted };
}

export const MAX_INFERRED_CLASSES = 1000;

/**
 * The distinct values of column `column` in a first pass over `path`, in a stable order: numerically
 * when every value is a non-negative integer, otherwise by string; and the rows read. Fails beyond
 * MAX_INFERRED_CLASSES.
 */
export async function scanLabelValues(path: string, column: number, nColumns = column + 1, maxRecordSize = DEFAULT_MAX_RECORD_SIZE): Promise<{ values: string[]; rows: number }> {
  const seen = new Set<string>();
  const parser = createReadStream(path).pipe(
    parse({ bom: true, from_line: 2, relax_column_count: true, skip_empty_lines: true, record_delimiter: ['\r\n', '\n', '\r'], max_record_size: maxRecordSize }),
  );
  // A row of the wrong length is not read (its label position means nothing); a structural error ends the
  // scan quietly — the training pass meets it at the same place and reports it in fromCsv's words.
  const records = (async function* (): AsyncGenerator<string[]> {
    try {
      yield* parser as AsyncIterable<string[]>;
    } catch {
      return;
    }
  })();
  let rows = 0;
  for await (const record of records) {
    const v = record[column];
    if (v === undefined || record.length !== nColumns) continue;
    rows++;
    seen.add(v.trim());
    if (seen.size > MAX_INFERRED_CLASSES) {
      parser.destroy();
      throw new CliError(`${path}: the label column has more than ${MAX_INFERRED_CLASSES} distinct values; for a numeric target use --task regress`);
    }
  }
  const values = [...seen];
  if (values.every((v) => /^\d+$/.test(v))) return { values: values.sort((a, b) => Number(a) - Number(b)), rows };
  return { values: values.sort(), rows };
}

/** More distinct numeric labels than this (and than CONTINUOUS_FRACTION of the rows) look like a continuous target. */
export const CONTINUOUS_MIN_VALUES = 30;
export const CONTINUOUS_FRACTION = 0.05;

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Why label values look like a continuous target rather than classes — every value a number, and
 * some not an integer, or more than CONTINUOUS_MIN_VALUES distinct values and more than
 * CONTINUOUS_FRACTION of the rows — or null when they look like classes.
 */
export function continuousLabelReason(values: readonly string[], rows: number): string | null {
  if (values.length < 2 || !values.every((v) => DECIMAL.test(v))) return null;
  const fractional = values.find((v) => !Number.isInteger(Number(v)));
  if (fractional !== undefined) return `non-integer values such as ${fractional}`;
  if (values.length > CONTINUOUS_MIN_VALUES && values.length > CONTINUOUS_FRACTION * rows) return `${values.length} distinct numbers in ${rows} rows`;
  return null;
}
