/**
 * Typed CSV errors, the one place their messages are worded, and the byte scans that find where a
 * structural error really is.
 *
 * Every error names its place as `file:line:column (column "name")`, with `line` 1-based and counted
 * by this module (a line break is `\r\n`, `\n` or a lone `\r`, inside quotes too — csv-parse 7.0.3
 * counts a `\r\n` inside a quoted field twice, so its line numbers are never used), and `column` the
 * 1-based field index (0 when the error is about the whole line).
 *
 * Two kinds (RELIABILITY.md, key decision 2):
 * - structural errors (quotes, header, UTF-8, record size, no data, budget) are always fatal;
 * - row-level errors (field count, empty line, bad value, bad label) fail the run by default, or are
 *   skipped, counted by code and reported with `onBadRow: 'skip'`.
 *
 * Both readers (csv-parse and the fast byte scanner) build their errors only through the functions
 * below, so the same input gives the same code, place and message whichever reader met it.
 */

/** Errors that are always fatal, whatever the bad-row policy. */
export type CsvStructuralCode =
  | 'CSV_QUOTE_NOT_CLOSED'
  | 'CSV_INVALID_CLOSING_QUOTE'
  | 'INVALID_OPENING_QUOTE'
  | 'CSV_MAX_RECORD_SIZE'
  | 'CSV_INVALID_UTF8'
  | 'CSV_DUPLICATE_COLUMN'
  | 'CSV_EMPTY_COLUMN_NAME'
  | 'CSV_SCHEMA_MISMATCH'
  | 'CSV_NUMERIC_HEADER'
  | 'CSV_SHAPE_MISMATCH'
  | 'CSV_NO_DATA'
  | 'CSV_TOO_MANY_BAD_ROWS'
  | 'CSV_READ_ERROR'
  | 'CSV_PARSE_ERROR';

/** Problems of one row: fatal by default, skipped and counted with `onBadRow: 'skip'`. */
export type CsvRowCode =
  | 'CSV_RECORD_INCONSISTENT_COLUMNS'
  | 'CSV_EMPTY_LINE'
  | 'CSV_NOT_A_NUMBER'
  | 'CSV_MISSING_VALUE'
  | 'CSV_NON_FINITE'
  | 'CSV_BAD_LABEL';

export type CsvErrorCode = CsvStructuralCode | CsvRowCode;

const ROW_CODES: ReadonlySet<string> = new Set<CsvRowCode>([
  'CSV_RECORD_INCONSISTENT_COLUMNS',
  'CSV_EMPTY_LINE',
  'CSV_NOT_A_NUMBER',
  'CSV_MISSING_VALUE',
  'CSV_NON_FINITE',
  'CSV_BAD_LABEL',
]);

/** The facts of a CSV error; the message says them in words. */
export interface CsvErrorFacts {
  /** File path or stream name (`stdin`). */
  readonly source: string;
  /** 1-based line (0 when the error is about the whole input). */
  readonly line: number;
  /** 1-based field index (0 when the error is about the whole line). */
  readonly column: number;
  readonly columnName?: string;
  readonly code: CsvErrorCode;
  /** The offending literal, as read (header name, value, label). */
  readonly value?: string;
}

/** A CSV input problem: the facts are fields, the message names `file:line:column` in words. */
export class CsvError extends Error implements CsvErrorFacts {
  readonly source: string;
  readonly line: number;
  readonly column: number;
  readonly columnName?: string;
  readonly code: CsvErrorCode;
  readonly value?: string;

  constructor(facts: CsvErrorFacts, message: string) {
    super(message);
    this.name = 'CsvError';
    this.source = facts.source;
    this.line = facts.line;
    this.column = facts.column;
    if (facts.columnName !== undefined) this.columnName = facts.columnName;
    this.code = facts.code;
    if (facts.value !== undefined) this.value = facts.value;
  }

  /** True for problems of one row, which `onBadRow: 'skip'` may skip; structural errors are never skipped. */
  get isRowLevel(): boolean {
    return ROW_CODES.has(this.code);
  }
}

/** What `onSkip` receives for each skipped row (the CLI writes these to rejects.csv). */
export interface SkipReport {
  readonly source: string;
  readonly line: number;
  /** 0-based index of the record among the data records (skipped ones included). */
  readonly record: number;
  /** 1-based field index of the bad value, 0 for a whole-row problem. */
  readonly column: number;
  readonly code: CsvRowCode;
  readonly message: string;
  /** The row as it appears in the input, without its line ending. */
  readonly raw: string;
  /** The entry id, for an entry of a Redis stream (fromRedisStream). */
  readonly id?: string;
}

// ───────────────────────────── wording ─────────────────────────────

const MAX_SHOWN = 40;

/** `"abc"`, `"\u0000"`, `"aaaa…"`: a literal as messages show it (JSON-escaped, long ones cut). */
export function showLiteral(text: string): string {
  const cut = text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
  return JSON.stringify(cut);
}

/** `data.csv:9:3 (column "x2")`, or `data.csv:9` for a whole-line place. */
export function place(source: string, line: number, column = 0, columnName?: string): string {
  if (column === 0) return `${source}:${line}`;
  const name = columnName === undefined ? '' : ` (column ${JSON.stringify(columnName)})`;
  return `${source}:${line}:${column}${name}`;
}

export function listNames(names: readonly string[], max = 8): string {
  const shown = names.slice(0, max).map((n) => JSON.stringify(n));
  return names.length > max ? `${shown.join(', ')}, … (${names.length} in all)` : shown.join(', ');
}

/** A bad value in a field: `data.csv:9:3 (column "x2"): "abc" is not a number`. */
export function valueError(
  source: string,
  line: number,
  column: number,
  columnName: string | undefined,
  code: CsvRowCode,
  value: string,
  detail: string,
): CsvError {
  const facts = { source, line, column, columnName, code, value };
  return new CsvError(facts, `${place(source, line, column, columnName)}: ${detail}`);
}

/** `data.csv:5: expected 3 fields, got 2` (with the shape that needs them, when one is set). */
export function fieldCountError(source: string, line: number, expected: number, got: number, why = ''): CsvError {
  const facts = { source, line, column: 0, code: 'CSV_RECORD_INCONSISTENT_COLUMNS' as const };
  return new CsvError(facts, `${place(source, line)}: expected ${expected} fields, got ${got}${why}`);
}

/** `empty line at data.csv:7` */
export function emptyLineError(source: string, line: number): CsvError {
  return new CsvError({ source, line, column: 0, code: 'CSV_EMPTY_LINE' }, `empty line at ${place(source, line)}`);
}

/** `invalid UTF-8 at data.csv:4 (byte 0xff at offset 57)` — fatal, so no U+FFFD ever reaches data. */
export function utf8Error(source: string, line: number, byte: number, offset: number): CsvError {
  const hex = `0x${byte.toString(16).padStart(2, '0')}`;
  return new CsvError(
    { source, line, column: 0, code: 'CSV_INVALID_UTF8' },
    `invalid UTF-8 at ${place(source, line)} (byte ${hex} at offset ${offset})`,
  );
}

/** `no data rows in data.csv` (empty file, header only, or every row skipped). */
export function noDataError(source: string, why = ''): CsvError {
  return new CsvError({ source, line: 0, column: 0, code: 'CSV_NO_DATA' }, `no data rows in ${source}${why}`);
}

/** A header problem at the header line (always fatal). */
export function headerError(
  source: string,
  line: number,
  code: 'CSV_DUPLICATE_COLUMN' | 'CSV_EMPTY_COLUMN_NAME' | 'CSV_NUMERIC_HEADER' | 'CSV_SCHEMA_MISMATCH' | 'CSV_SHAPE_MISMATCH',
  detail: string,
  column = 0,
  value?: string,
): CsvError {
  return new CsvError({ source, line, column, code, value }, `${place(source, line)}: ${detail}`);
}

/**
 * Skip budget exceeded: the run ends, naming the row that went over and why it was bad. `last` is null
 * when this read skipped nothing itself (its counters came from earlier reads, e.g. a resume from a
 * checkpoint): `where` then says where those skips were counted, and the message has no line.
 */
export function budgetError(source: string, last: CsvError | null, detail: string, where = 'before this read'): CsvError {
  if (last === null) {
    return new CsvError({ source, line: 0, column: 0, code: 'CSV_TOO_MANY_BAD_ROWS' }, `${source}: too many bad rows: ${detail} (every skip counted ${where})`);
  }
  return new CsvError(
    { source, line: last.line, column: 0, code: 'CSV_TOO_MANY_BAD_ROWS' },
    `${place(source, last.line)}: too many bad rows: ${detail} (last: ${last.message})`,
  );
}

/** The input stream failed: names the file and the byte offset reached. */
export function readError(source: string, offset: number, cause: unknown): CsvError {
  const why = cause instanceof Error ? cause.message : String(cause);
  const err = new CsvError(
    { source, line: 0, column: 0, code: 'CSV_READ_ERROR' },
    `${source}: cannot read at byte offset ${offset}: ${why}`,
  );
  err.cause = cause;
  return err;
}

// ─────────────────────────── byte scans ───────────────────────────

const LF = 0x0a;
const CR = 0x0d;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** Number of line breaks in `bytes[from, to)`: `\r\n`, `\n` and a lone `\r` each count once. */
export function countLineBreaks(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = bytes[i];
    if (c === LF) n++;
    else if (c === CR && bytes[i + 1] !== LF) n++;
  }
  return n;
}

/**
 * Length of the valid UTF-8 sequence starting at `bytes[i]` (1 to 4), or 0 if it is invalid there.
 * Overlong forms, surrogates and code points above U+10FFFF are invalid (as for a fatal TextDecoder);
 * a sequence cut by `to` is invalid at its lead byte.
 */
export function utf8SequenceLength(bytes: Uint8Array, i: number, to: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  let need: number;
  let lo = 0x80;
  let hi = 0xbf;
  if (b >= 0xc2 && b <= 0xdf) need = 1;
  else if (b >= 0xe0 && b <= 0xef) {
    need = 2;
    if (b === 0xe0) lo = 0xa0;
    if (b === 0xed) hi = 0x9f;
  } else if (b >= 0xf0 && b <= 0xf4) {
    need = 3;
    if (b === 0xf0) lo = 0x90;
    if (b === 0xf4) hi = 0x8f;
  } else return 0;
  if (i + need >= to) return 0;
  const c1 = bytes[i + 1];
  if (c1 < lo || c1 > hi) return 0;
  for (let k = 2; k <= need; k++) {
    const c = bytes[i + k];
    if (c < 0x80 || c > 0xbf) return 0;
  }
  return need + 1;
}

/** Index of the first byte of the first invalid UTF-8 sequence in `bytes[from, to)`, or -1. */
export function findInvalidUtf8(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let i = from;
  while (i < to) {
    if (bytes[i] < 0x80) {
      i++;
      continue;
    }
    const n = utf8SequenceLength(bytes, i, to);
    if (n === 0) return i;
    i += n;
  }
  return -1;
}

/** What a quote-aware scan of one failing record found, in byte order. */
export type StructuralFinding =
  | { readonly kind: 'utf8'; readonly pos: number; readonly field: number }
  | { readonly kind: 'opening-quote'; readonly pos: number; readonly field: number; readonly fieldStart: number }
  | { readonly kind: 'closing-quote'; readonly pos: number; readonly field: number }
  | { readonly kind: 'open-at-end'; readonly pos: number; readonly field: number }
  | { readonly kind: 'none' };

/**
 * Finds where a record that csv-parse rejected goes wrong, following csv-parse's own rules (RFC 4180
 * with `"` as quote and escape): a quote opens a field only as its first byte, `""` inside quotes is
 * one quote, and a closing quote must be followed by `,`, a line break or the end. Also reports the
 * first invalid UTF-8 byte, whichever comes first. `pos` is an index into `bytes`; `field` is 1-based.
 */
export function scanStructure(bytes: Uint8Array): StructuralFinding {
  const to = bytes.length;
  let field = 1;
  let fieldStart = 0;
  let inQuote = false;
  let openedAt = -1;
  let i = 0;
  while (i < to) {
    const c = bytes[i];
    if (c >= 0x80) {
      const n = utf8SequenceLength(bytes, i, to);
      if (n === 0) return { kind: 'utf8', pos: i, field };
      i += n;
      continue;
    }
    if (inQuote) {
      if (c === QUOTE) {
        if (bytes[i + 1] === QUOTE) {
          i += 2;
          continue;
        }
        const next = bytes[i + 1];
        if (i + 1 < to && next !== COMMA && next !== LF && next !== CR) return { kind: 'closing-quote', pos: i + 1, field };
        inQuote = false;
      }
      i++;
      continue;
    }
    if (c === QUOTE) {
      if (i !== fieldStart) return { kind: 'opening-quote', pos: i, field, fieldStart };
      inQuote = true;
      openedAt = i;
    } else if (c === COMMA) {
      field++;
      fieldStart = i + 1;
    } else if (c === LF || c === CR) {
      field = 1;
      fieldStart = c === CR && bytes[i + 1] === LF ? i + 2 : i + 1;
    }
    i++;
  }
  return inQuote ? { kind: 'open-at-end', pos: openedAt, field } : { kind: 'none' };
}
