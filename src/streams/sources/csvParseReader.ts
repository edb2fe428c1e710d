/**
 * The csv-parse reader of `fromCsv`: reads the header, and data rows with csv-parse 7.0.3 (array
 * mode, never `cast`) — every row for `engine: 'csv-parse'`, else from the first row the fast
 * scanner (fastCsv.ts) does not handle.
 *
 * csv-parse splits records and unquotes fields; everything it is weak at is done here on the bytes
 * (kept in a ByteWindow, byteSource.ts): line numbers (its own count a `\r\n` inside quotes twice),
 * byte offsets for resume, UTF-8 validation (it would decode to U+FFFD), empty lines, and locating
 * quote errors (it reports an unclosed quote at the end of the input, not where it opened).
 */
import { Parser } from 'csv-parse';
import { ByteWindow, type ByteSource } from './byteSource.js';
import {
  CsvError,
  countLineBreaks,
  emptyLineError,
  findInvalidUtf8,
  place,
  scanStructure,
  showLiteral,
  utf8Error,
} from './csvErrors.js';
import { type ColumnPlan, type SchemaOptions, checkHeader, convertRecord, resolvePlan } from './csvSchema.js';
import type { Cursor } from './fastCsv.js';
import type { Sample } from '../types.js';

/** What the csv-parse reader needs of a run (fromCsv's Run): unlike the fast reader, it resolves the plan. */
export interface ParseRun {
  readonly name: string;
  readonly maxRecordSize: number;
  readonly options: SchemaOptions;
  readonly signal: AbortSignal;
  plan: ColumnPlan | null;
  needsHeader: boolean;
  accept(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void>;
}

interface ParsedRecord {
  readonly fields: string[];
  /** Absolute offset just past the record's line ending. */
  readonly end: number;
}

function newParser(at: Cursor, maxRecordSize: number, queue: ParsedRecord[]): Parser {
  const parser = new Parser({
    delimiter: ',',
    quote: '"',
    escape: '"',
    // NOTE: a lone '\r' is supported too (old-Mac files, case 8): csv-parse tries '\r\n' first and
    // waits for the next chunk when a '\r' ends one. Without it such a file is one giant record.
    record_delimiter: ['\r\n', '\n', '\r'],
    // NOTE: the BOM is stripped once by skipBom for both readers; csv-parse's `bom: true` would also
    // switch to UTF-16 on FF FE, which we reject as invalid UTF-8 instead.
    bom: false,
    max_record_size: maxRecordSize,
    // Field counts are checked by convertRecord, so the row can be skipped and counted.
    relax_column_count: true,
    on_record: (record: string[], context) => {
      queue.push({ fields: record, end: at.offset + context.bytes });
      return null;
    },
  });
  parser.on('error', () => {}); // errors arrive through the write/end callbacks below
  return parser;
}

function feed(parser: Parser, chunk: Buffer | null): Promise<Error | undefined> {
  return new Promise((resolve) => {
    const done = (err?: Error | null): void => resolve(err ?? undefined);
    if (chunk === null) parser.end(done);
    else parser.write(chunk, done);
  });
}

/**
 * Reads records with csv-parse from `at` to the end (returns null), or — with `untilPlan` — until the
 * columns are resolved (header read, or first data row seen), returning where the next reader starts
 * and giving back the bytes csv-parse had read past it.
 */
export async function readWithCsvParse(src: ByteSource, at: Cursor, run: ParseRun, untilPlan: boolean): Promise<Cursor | null> {
  const queue: ParsedRecord[] = [];
  let parser = newParser(at, run.maxRecordSize, queue);
  const window = new ByteWindow(at.offset);
  const cur: Cursor = { ...at };
  const isPlanned = (): boolean => untilPlan && run.plan !== null && !run.needsHeader;
  /** Takes the parsed records; true when reading must stop (aborted). */
  const takeQueued = async (): Promise<boolean> => {
    for (const rec of queue) {
      if (isPlanned()) break;
      const wait = takeRecord(rec, cur, window, run, untilPlan);
      if (wait !== undefined) await wait;
      if (run.signal.aborted) return true;
    }
    queue.length = 0;
    return false;
  };
  /**
   * Feeds `chunk` a line (and one byte: csv-parse holds a record until it sees what follows) at a
   * time until the columns are resolved; returns where the bytes not fed start, or null if aborted.
   */
  const feedLines = async (chunk: Buffer): Promise<number | null> => {
    let from = 0;
    while (from < chunk.length && !isPlanned()) {
      const lf = chunk.indexOf(0x0a, from);
      const to = lf < 0 ? chunk.length : Math.min(chunk.length, lf + 2);
      const piece = chunk.subarray(from, to);
      from = to;
      window.append(piece);
      const err = await feed(parser, piece);
      if (await takeQueued()) return null;
      if (err !== undefined && !isPlanned()) throw locateError(err, window, cur, run);
    }
    return from;
  };
  try {
    for (;;) {
      const chunk = await src.next();
      if (chunk !== null && chunk.length === 0) {
        // A followed file is idle at its end (followFile.ts). NOTE: csv-parse keeps the last record
        // until it sees bytes after it (a record delimiter may be longer), so a row would wait for the
        // next one; when the bytes not taken are whole lines (LF last, no quote open) the parser is
        // ended to hand over those records, and a new one goes on from there.
        const pending = window.slice(cur.offset, window.end);
        if (pending.length === 0 || pending[pending.length - 1] !== 0x0a || scanStructure(pending).kind === 'open-at-end') continue;
        const err = await feed(parser, null);
        if (await takeQueued()) return null;
        if (err !== undefined) throw locateError(err, window, cur, run);
        parser.destroy();
        parser = newParser({ ...cur }, run.maxRecordSize, queue);
        if (isPlanned()) {
          src.unshift(window.slice(cur.offset, window.end));
          return cur;
        }
        continue;
      }
      if (chunk !== null && untilPlan) {
        // Fed a line at a time: csv-parse parses all it is given, and only the header (or the first
        // row) is wanted here; a 64 KiB chunk of wide rows costs it tens of milliseconds.
        const rest = await feedLines(chunk);
        if (rest === null) return null;
        if (isPlanned()) {
          src.unshift(chunk.subarray(rest));
          src.unshift(window.slice(cur.offset, window.end));
          return cur;
        }
        continue;
      }
      if (chunk !== null) window.append(chunk);
      const err = await feed(parser, chunk);
      if (await takeQueued()) return null;
      if (isPlanned()) {
        src.unshift(window.slice(cur.offset, window.end));
        return cur;
      }
      if (err !== undefined) throw locateError(err, window, cur, run);
      if (chunk === null) return null;
    }
  } finally {
    // NOTE: csv-parse's browser build (the browser bundle, src/browser.ts) runs on an older stream
    // polyfill that has no destroy(); there the parser is simply dropped.
    if (typeof parser.destroy === 'function') parser.destroy();
  }
}

/** One csv-parse record: the header, an empty line, or a data row (advances `cur`). */
function takeRecord(rec: ParsedRecord, cur: Cursor, window: ByteWindow, run: ParseRun, untilPlan: boolean): void | Promise<void> {
  const bytes = window.slice(cur.offset, rec.end);
  const bad = findInvalidUtf8(bytes);
  if (bad >= 0) throw utf8Error(run.name, cur.line + countLineBreaks(bytes, 0, bad), bytes[bad], cur.offset + bad);
  const line = cur.line;
  const isHeader = run.needsHeader;
  // An empty line is a record of one empty field whose bytes are only its line ending ("" is not empty).
  const isEmpty = !isHeader && rec.fields.length === 1 && rec.fields[0] === '' && (bytes[0] === 0x0a || bytes[0] === 0x0d);
  if (isHeader) {
    const names = checkHeader(run.name, line, rec.fields);
    run.plan = resolvePlan(run.name, line, names, names.length, run.options);
    run.needsHeader = false;
  } else if (run.plan === null && !isEmpty) {
    run.plan = resolvePlan(run.name, line, null, rec.fields.length, run.options);
    if (untilPlan) return; // the next reader starts with this row
  }
  cur.offset = rec.end;
  cur.line += countLineBreaks(bytes);
  window.discardBefore(rec.end);
  if (isHeader) return;
  const record = cur.record++;
  const result =
    isEmpty || run.plan === null
      ? emptyLineError(run.name, line)
      : convertRecord(run.plan, rec.fields, { source: run.name, line, record, endOffset: rec.end });
  return run.accept(result, record, () => rawText(bytes));
}

/** The row's text without its line ending (valid UTF-8 by then). */
function rawText(bytes: Buffer): string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.toString('utf8', 0, end);
}

/** csv-parse's error, placed by our own scan of the failing record's bytes (see scanStructure). */
function locateError(err: Error, window: ByteWindow, cur: Cursor, run: ParseRun): CsvError {
  const code = (err as { code?: string }).code;
  // NOTE: csv-parse fails a record for size at or after its first max-record-size bytes (it does not
  // count delimiters); scanning exactly those bytes makes the verdict independent of the chunking.
  const to = code === 'CSV_MAX_RECORD_SIZE' ? Math.min(window.end, cur.offset + run.maxRecordSize) : window.end;
  const bytes = window.slice(cur.offset, to);
  const f = scanStructure(bytes);
  const lineAtPos = (pos: number): number => cur.line + countLineBreaks(bytes, 0, pos);
  const nameOf = (field: number): string | undefined => run.plan?.names?.[field - 1];
  const { name } = run;
  switch (f.kind) {
    case 'utf8':
      return utf8Error(name, lineAtPos(f.pos), bytes[f.pos], cur.offset + f.pos);
    case 'opening-quote': {
      const line = lineAtPos(f.pos);
      const value = bytes.toString('utf8', f.fieldStart, f.pos + 1);
      return new CsvError(
        { source: name, line, column: f.field, columnName: nameOf(f.field), code: 'INVALID_OPENING_QUOTE', value },
        `${place(name, line, f.field, nameOf(f.field))}: quote inside an unquoted field (${showLiteral(value)}); quote the whole field`,
      );
    }
    case 'closing-quote': {
      const line = lineAtPos(f.pos);
      const value = bytes.toString('utf8', f.pos, f.pos + 1);
      return new CsvError(
        { source: name, line, column: f.field, columnName: nameOf(f.field), code: 'CSV_INVALID_CLOSING_QUOTE', value },
        `${place(name, line, f.field, nameOf(f.field))}: a closing quote must be followed by a comma or a line break, found ${showLiteral(value)}`,
      );
    }
    case 'open-at-end': {
      const line = lineAtPos(f.pos);
      const why =
        code === 'CSV_MAX_RECORD_SIZE'
          ? `is still open after ${run.maxRecordSize} bytes (max record size)`
          : 'is never closed (the input ends inside it)';
      return new CsvError(
        { source: name, line, column: f.field, columnName: nameOf(f.field), code: 'CSV_QUOTE_NOT_CLOSED' },
        `${place(name, line, f.field, nameOf(f.field))}: the quote opened here ${why}`,
      );
    }
    case 'none':
      if (code === 'CSV_MAX_RECORD_SIZE') {
        return new CsvError(
          { source: name, line: cur.line, column: 0, code: 'CSV_MAX_RECORD_SIZE' },
          `${place(name, cur.line)}: record larger than ${run.maxRecordSize} bytes (max record size); is the delimiter a comma?`,
        );
      }
      return new CsvError({ source: name, line: cur.line, column: 0, code: 'CSV_PARSE_ERROR' }, `${place(name, cur.line)}: ${err.message}`);
  }
}
