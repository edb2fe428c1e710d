/**
 * `fromCsv`: the CSV source. Reads a file or a byte stream, pull-driven, and emits one validated
 * Sample per data row, or a CsvError naming `file:line:column` (RELIABILITY.md cases 1–30).
 *
 * How a run reads (each step below is one function of this file):
 *
 *   ByteSource ── chunks ──▶ strip one UTF-8 BOM ──▶ header (csv-parse) ──▶ data rows: fast scanner
 *                                                                         └─ or csv-parse, which also
 *                                                                            takes over from the fast
 *                                                                            scanner at the first row
 *                                                                            it does not handle
 *
 * - Reading is a `for await` over the input's chunks; each record is emitted synchronously to the
 *   subscriber before the next chunk is asked for, so a synchronous pipeline bounds read-ahead to one
 *   chunk. Unsubscribing aborts the loop and destroys the stream. An asynchronous pipeline adds a
 *   `Gate` (gate.ts): the source takes a credit before each row.
 * - csv-parse 7.0.3 (array mode, never `cast`) splits records and unquotes fields. Everything it is
 *   weak at is done here on the bytes: line numbers (its own count a `\r\n` inside quotes twice),
 *   byte offsets for resume, UTF-8 validation (it would decode to U+FFFD), empty lines, and locating
 *   quote errors (it reports an unclosed quote at the end of the input, not where it opened).
 * - Errors are raised in input order: every row before the bad one has been emitted first, whatever
 *   the chunking and whichever reader met the error.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Parser } from 'csv-parse';
import { Observable, type Subscriber } from 'rxjs';
import {
  CsvError,
  type SkipReport,
  budgetError,
  countLineBreaks,
  emptyLineError,
  findInvalidUtf8,
  noDataError,
  place,
  readError,
  scanStructure,
  showLiteral,
  utf8Error,
} from './csvErrors.js';
import { type ColumnPlan, type SchemaOptions, checkHeader, checkSchemaOptions, convertRecord, resolvePlan } from './csvSchema.js';
import { type Cursor, readFast } from './fastCsv.js';
import type { Gate } from './gate.js';
import type { Sample } from './types.js';

/** Counts a source keeps while it reads; pass your own object to read them during or after a run. */
export interface CsvCounters {
  /** Data records met: rows emitted + rows skipped (the header and a final newline are not rows). */
  dataRows: number;
  rowsEmitted: number;
  rowsSkipped: number;
  /** Skipped rows per error code, e.g. `{ CSV_NOT_A_NUMBER: 2, CSV_EMPTY_LINE: 1 }`. */
  skippedByCode: Record<string, number>;
  /** Bytes read from the input so far (ahead of the last emitted row by at most the read-ahead). */
  bytesRead: number;
}

/** A zeroed counters object. */
export function createCounters(): CsvCounters {
  return { dataRows: 0, rowsEmitted: 0, rowsSkipped: 0, skippedByCode: {}, bytesRead: 0 };
}

/** Options of `fromCsv`. Only `classes` (for classification) is required. */
export interface CsvSourceOptions extends SchemaOptions {
  /** Source name in messages and origins. Default: the path, or `stdin` for a stream. */
  readonly name?: string;
  /** The first line is a header of column names (default true). */
  readonly hasHeader?: boolean;
  /**
   * The declared schema: the header must be exactly these names in this order (else a fatal error
   * listing expected vs found), or, with `hasHeader: false`, the names of the columns.
   */
  readonly columns?: readonly string[];
  /** Label column, by name or 0-based index. Default: the column named `label`, else column 0 (none for task `predict`). */
  readonly label?: string | number;
  /** Feature columns in the order they fill `x`. Default: every column but the label/targets (every column for task `predict`). */
  readonly features?: readonly (string | number)[];
  /**
   * `classify` (default): one-hot targets from the label. `regress`: targets are the values of `targets`.
   * `predict`: features only, for rows to predict — no label nor target column is read (`label`,
   * `targets` and `classes` must be unset); every Sample has an empty `target` and `label` −1. The
   * rows get the same checks and messages as training data (field count, values, structure).
   */
  readonly task?: 'classify' | 'regress' | 'predict';
  /**
   * Classification classes: a count `n` (labels must be integers in [0, n)) or a fixed list of names
   * (string labels map through it). A label outside the classes is an error, never a new class.
   */
  readonly classes?: number | readonly string[];
  /** Regression target columns (names or indices). Default: the label column. */
  readonly targets?: readonly (string | number)[];
  /** Constant multiplier on every feature (e.g. 1/255), applied before `normalize`. */
  readonly scale?: number;
  /**
   * Per-feature `x' = (x·scale − a) / b`, statistics computed beforehand (`featureStats`):
   * zscore a = mean, b = std; minmax a = min, b = max − min. Every b must be > 0.
   */
  readonly normalize?: { readonly kind: 'zscore' | 'minmax'; readonly a: readonly number[]; readonly b: readonly number[] };
  /** `[c, h, w]` of an image input: the feature count must equal c·h·w (checked at the header / first row). */
  readonly shape?: readonly [number, number, number];
  /** A bad row fails the run (`error`, default) or is skipped, counted and reported (`skip`). Structural errors always fail. */
  readonly onBadRow?: 'error' | 'skip';
  /** With `skip`: fail once more than this many rows have been skipped (counted in `counters`). */
  readonly maxBadRows?: number;
  /** With `skip`: fail at the end if more than this fraction (0–1) of the data rows were skipped. */
  readonly maxBadFraction?: number;
  /** Called with every skipped row: place, code, message and the raw text (for a rejects file). */
  readonly onSkip?: (report: SkipReport) => void;
  /** Resume a FILE at this byte offset (a record's `origin.endOffset`); the header is still read from the start. */
  readonly startOffset?: number;
  /** Record index of the first record read (resume: the last emitted `origin.record` + 1). Default 0. */
  readonly startRecord?: number;
  /** 1-based line at `startOffset` (resume); when absent it is counted by reading the file up to there. */
  readonly startLine?: number;
  /** Credits for an asynchronous consumer: one is acquired before each row is emitted (see gate.ts). */
  readonly gate?: Gate;
  /** Read chunk size in bytes for a file (default 64 KiB). */
  readonly highWaterMark?: number;
  /** Largest record in bytes before the run fails with `CSV_MAX_RECORD_SIZE` (default 1 MiB). */
  readonly maxRecordSize?: number;
  /** Counters filled in while reading (added to, never reset: pass a fresh object per epoch). */
  readonly counters?: CsvCounters;
  /** `fast` (default): byte scanner, handing over to csv-parse at the first row it does not handle. */
  readonly engine?: 'fast' | 'csv-parse';
  /** Complete without error when the input has no data rows (an empty epoch). Default false. */
  readonly allowEmpty?: boolean;
}

const DEFAULT_HIGH_WATER_MARK = 64 * 1024;
const DEFAULT_MAX_RECORD_SIZE = 1024 * 1024;

function checkOptions(input: unknown, o: CsvSourceOptions): void {
  const bad = (option: string, rule: string, value: unknown): never => {
    throw new TypeError(`fromCsv: option "${option}" must be ${rule}, got ${JSON.stringify(value) ?? String(value)}`);
  };
  const count = (option: string, v: number | undefined, min: number): void => {
    if (v !== undefined && !(Number.isSafeInteger(v) && v >= min)) bad(option, `an integer ≥ ${min}`, v);
  };
  if (typeof input !== 'string' && !(input !== null && typeof input === 'object' && Symbol.asyncIterator in input)) {
    throw new TypeError('fromCsv: input must be a file path or a readable stream');
  }
  checkSchemaOptions(o);
  if (o.onBadRow !== undefined && o.onBadRow !== 'error' && o.onBadRow !== 'skip') bad('onBadRow', "'error' or 'skip'", o.onBadRow);
  count('maxBadRows', o.maxBadRows, 0);
  if (o.maxBadFraction !== undefined && !(o.maxBadFraction >= 0 && o.maxBadFraction <= 1)) {
    bad('maxBadFraction', 'a number in [0, 1]', o.maxBadFraction);
  }
  count('startOffset', o.startOffset, 0);
  count('startRecord', o.startRecord, 0);
  count('startLine', o.startLine, 1);
  count('highWaterMark', o.highWaterMark, 1);
  count('maxRecordSize', o.maxRecordSize, 1);
  if ((o.startOffset ?? 0) > 0 && typeof input !== 'string') bad('startOffset', '0 unless the input is a file path', o.startOffset);
  if (o.engine !== undefined && o.engine !== 'fast' && o.engine !== 'csv-parse') bad('engine', "'fast' or 'csv-parse'", o.engine);
}

/**
 * A pull-driven source of Samples from a CSV file (path) or byte stream (e.g. `process.stdin`).
 *
 * @example
 * const counters = createCounters();
 * fromCsv('mnist_train.csv', { classes: 10, scale: 1 / 255, shape: [1, 28, 28], counters })
 *   .pipe(batch(32), train(model, opts))
 *   .subscribe({ complete: () => console.log(counters) });
 */
export function fromCsv(input: string | NodeJS.ReadableStream, options: CsvSourceOptions): Observable<Sample> {
  checkOptions(input, options);
  return new Observable<Sample>((subscriber) => {
    const abort = new AbortController();
    const run = new Run(input, options, subscriber, abort.signal);
    run.readAll().then(
      () => subscriber.complete(),
      (err: unknown) => subscriber.error(err),
    );
    return () => {
      abort.abort();
      run.destroy();
    };
  });
}

/** Per-feature statistics of a CSV's features (after `scale`), for `normalize`. */
export interface FeatureStats {
  readonly mean: number[];
  /** Population standard deviation (÷ rows). */
  readonly std: number[];
  readonly min: number[];
  readonly max: number[];
  readonly rows: number;
}

/**
 * Computes mean, std, min and max of every feature in one streaming pass (Welford, float64), reading
 * with the same options as `fromCsv` (any `normalize` is ignored; `scale` applies).
 *
 * @example
 * const s = await featureStats('train.csv', { classes: 10 });
 * fromCsv('train.csv', { classes: 10, normalize: { kind: 'zscore', a: s.mean, b: s.std.map((d) => d || 1) } });
 */
export function featureStats(input: string | NodeJS.ReadableStream, options: CsvSourceOptions): Promise<FeatureStats> {
  const { normalize: _ignored, ...rest } = options;
  return new Promise((resolve, reject) => {
    let n = 0;
    let mean = new Float64Array(0);
    let m2 = new Float64Array(0);
    let min = new Float64Array(0);
    let max = new Float64Array(0);
    fromCsv(input, rest).subscribe({
      next: ({ x }) => {
        if (n === 0) {
          mean = new Float64Array(x.length);
          m2 = new Float64Array(x.length);
          min = new Float64Array(x.length).fill(Infinity);
          max = new Float64Array(x.length).fill(-Infinity);
        }
        n++;
        for (let i = 0; i < x.length; i++) {
          const v = x[i];
          const d = v - mean[i];
          mean[i] += d / n;
          m2[i] += d * (v - mean[i]);
          if (v < min[i]) min[i] = v;
          if (v > max[i]) max[i] = v;
        }
      },
      error: reject,
      complete: () =>
        resolve({
          mean: Array.from(mean),
          std: Array.from(m2, (s) => Math.sqrt(s / n)),
          min: Array.from(min),
          max: Array.from(max),
          rows: n,
        }),
    });
  });
}

// ───────────────────────────── bytes in ─────────────────────────────

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk;
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  throw new TypeError(`expected bytes or strings from the input stream, got ${typeof chunk}`);
}

/** The input's chunks as Buffers, with bytes given back (`unshift`) when a reader hands over. */
export class ByteSource {
  private readonly it: AsyncIterator<unknown>;
  private readonly pushed: Buffer[] = [];

  constructor(
    stream: AsyncIterable<unknown>,
    private readonly name: string,
    /** Absolute offset of the next byte from the stream. */
    private offset: number,
    private readonly counters: CsvCounters,
  ) {
    this.it = stream[Symbol.asyncIterator]();
  }

  /** The next chunk, or null at the end. Stream failures become `CSV_READ_ERROR` at the offset reached. */
  async next(): Promise<Buffer | null> {
    const back = this.pushed.pop();
    if (back !== undefined) return back;
    let step: IteratorResult<unknown>;
    try {
      step = await this.it.next();
      if (step.done === true) return null;
      const buf = toBuffer(step.value);
      this.offset += buf.length;
      this.counters.bytesRead += buf.length;
      return buf;
    } catch (err) {
      throw readError(this.name, this.offset, err);
    }
  }

  unshift(bytes: Buffer): void {
    if (bytes.length > 0) this.pushed.push(bytes);
  }

  async close(): Promise<void> {
    await this.it.return?.();
  }
}

/** The bytes of the records not yet taken, kept so lines, offsets and raw text come from the bytes. */
class ByteWindow {
  private chunks: Buffer[] = [];
  private start: number;
  end: number;

  constructor(offset: number) {
    this.start = offset;
    this.end = offset;
  }

  append(b: Buffer): void {
    this.chunks.push(b);
    this.end += b.length;
  }

  /** Bytes `[from, to)` in absolute offsets (`from ≥` the first byte kept). */
  slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    let at = this.start;
    for (const c of this.chunks) {
      const lo = Math.max(from, at);
      const hi = Math.min(to, at + c.length);
      if (lo < hi) parts.push(c.subarray(lo - at, hi - at));
      at += c.length;
      if (at >= to) break;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  discardBefore(offset: number): void {
    while (this.chunks.length > 0 && this.start + this.chunks[0].length <= offset) {
      this.start += this.chunks[0].length;
      this.chunks.shift();
    }
  }
}

/** Drops one leading UTF-8 BOM (even split across chunks); returns the first record's offset. */
async function skipBom(src: ByteSource, at: Cursor): Promise<Cursor> {
  let head: Buffer = Buffer.alloc(0);
  while (head.length < 3) {
    const chunk = await src.next();
    if (chunk === null) break;
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
  }
  const hasBom = head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf;
  src.unshift(hasBom ? head.subarray(3) : head);
  return hasBom ? { ...at, offset: at.offset + 3 } : at;
}

/** 1-based line at `end` in a file: 1 + line breaks before it. */
async function lineAt(path: string, end: number, name: string): Promise<number> {
  if (end === 0) return 1;
  const src = new ByteSource(createReadStream(path, { end: end - 1 }), name, 0, createCounters());
  let line = 1;
  let lastWasCr = false;
  for (let chunk = await src.next(); chunk !== null; chunk = await src.next()) {
    line += countLineBreaks(chunk);
    if (lastWasCr && chunk[0] === 0x0a) line--;
    lastWasCr = chunk[chunk.length - 1] === 0x0d;
  }
  return line;
}

// ───────────────────────────── one run ─────────────────────────────

/** The state of one subscription: options, plan, counters, and where rows go. */
export class Run {
  readonly name: string;
  readonly maxRecordSize: number;
  plan: ColumnPlan | null = null;
  needsHeader: boolean;
  /** While re-reading the header for a resume: records are looked at, never emitted nor counted. */
  isSilent = false;
  private readonly counters: CsvCounters;
  private emitted = 0;
  private skipped = 0;
  private lastSkip: CsvError | null = null;
  private stream: Readable | NodeJS.ReadableStream | null = null;

  constructor(
    private readonly input: string | NodeJS.ReadableStream,
    readonly options: CsvSourceOptions,
    private readonly subscriber: Subscriber<Sample>,
    readonly signal: AbortSignal,
  ) {
    this.name = options.name ?? (typeof input === 'string' ? input : 'stdin');
    this.maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.needsHeader = options.hasHeader ?? true;
    this.counters = options.counters ?? createCounters();
  }

  /** Stops reading now: destroys the stream even while a read is pending. */
  destroy(): void {
    const s = this.stream;
    if (s !== null && 'destroy' in s && typeof s.destroy === 'function') s.destroy();
  }

  private open(offset: number, isCounted = true): ByteSource {
    const o = this.options;
    const stream =
      typeof this.input === 'string'
        ? createReadStream(this.input, { start: offset, highWaterMark: o.highWaterMark ?? DEFAULT_HIGH_WATER_MARK })
        : this.input;
    this.stream = stream;
    return new ByteSource(stream as AsyncIterable<unknown>, this.name, offset, isCounted ? this.counters : createCounters());
  }

  async readAll(): Promise<void> {
    const o = this.options;
    const startOffset = o.startOffset ?? 0;
    const startRecord = o.startRecord ?? 0;
    let src: ByteSource;
    let at: Cursor;
    if (startOffset > 0 && typeof this.input === 'string') {
      await this.readPlanSilently();
      if (this.signal.aborted) return;
      const line = o.startLine ?? (await lineAt(this.input, startOffset, this.name));
      src = this.open(startOffset);
      at = { offset: startOffset, line, record: startRecord };
    } else {
      src = this.open(0);
      at = await skipBom(src, { offset: 0, line: 1, record: startRecord });
    }
    try {
      await this.readFrom(src, at);
    } finally {
      this.destroy();
    }
    if (this.signal.aborted) return;
    this.checkEnd(startOffset);
  }

  /** Header (or first row) of a resumed file, from the file start, to resolve the columns. */
  private async readPlanSilently(): Promise<void> {
    this.isSilent = true;
    const src = this.open(0, false);
    try {
      const at = await skipBom(src, { offset: 0, line: 1, record: 0 });
      await readWithCsvParse(src, at, this, true);
    } finally {
      this.destroy();
      this.isSilent = false;
    }
  }

  private async readFrom(src: ByteSource, at: Cursor): Promise<void> {
    if (this.options.engine === 'csv-parse') {
      await readWithCsvParse(src, at, this, false);
      return;
    }
    let cursor: Cursor | null = at;
    if (this.plan === null || this.needsHeader) cursor = await readWithCsvParse(src, at, this, true);
    if (cursor !== null) cursor = await readFast(src, cursor, this);
    if (cursor !== null) await readWithCsvParse(src, cursor, this, false);
  }

  private checkEnd(startOffset: number): void {
    const o = this.options;
    if (this.emitted === 0 && startOffset === 0 && o.allowEmpty !== true) {
      throw noDataError(this.name, this.skipped > 0 ? ` (all ${this.skipped} rows were skipped)` : '');
    }
    // NOTE: on the counters, not on this read's own skips: a read resumed from a checkpoint starts with
    // the pass's counters, and the rows it skipped before the checkpoint count against the budget too.
    const c = this.counters;
    if (o.maxBadFraction !== undefined && c.rowsSkipped > o.maxBadFraction * c.dataRows) {
      const pct = ((100 * c.rowsSkipped) / c.dataRows).toFixed(1);
      throw budgetError(
        this.name,
        this.lastSkip,
        `${c.rowsSkipped} of ${c.dataRows} rows skipped (${pct}%), more than maxBadFraction ${o.maxBadFraction}`,
        startOffset > 0 ? `before byte offset ${startOffset}, where this read resumed` : 'before this read',
      );
    }
  }

  /**
   * Takes one record's outcome: emits a Sample (after a gate credit, if any), or fails / skips a
   * row-level error by the policy. Returns a promise only when it has to wait for a credit.
   */
  accept(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void> {
    if (this.isSilent || this.signal.aborted) return;
    if (result instanceof CsvError) {
      this.skip(result, record, raw);
      return;
    }
    const wait = this.options.gate?.acquire(this.signal);
    if (wait === undefined) {
      this.emit(result);
      return;
    }
    return wait.then(() => this.emit(result));
  }

  private emit(sample: Sample): void {
    if (this.signal.aborted) return;
    this.emitted++;
    this.counters.dataRows++;
    this.counters.rowsEmitted++;
    this.subscriber.next(sample);
  }

  private skip(err: CsvError, record: number, raw: () => string): void {
    const o = this.options;
    if (o.onBadRow !== 'skip' || !err.isRowLevel) throw err;
    const c = this.counters;
    this.skipped++;
    this.lastSkip = err;
    c.dataRows++;
    c.rowsSkipped++;
    c.skippedByCode[err.code] = (c.skippedByCode[err.code] ?? 0) + 1;
    o.onSkip?.({
      source: this.name,
      line: err.line,
      record,
      column: err.column,
      code: err.code as SkipReport['code'],
      message: err.message,
      raw: raw(),
    });
    if (o.maxBadRows !== undefined && c.rowsSkipped > o.maxBadRows) {
      throw budgetError(this.name, err, `${c.rowsSkipped} skipped, more than maxBadRows ${o.maxBadRows}`);
    }
  }
}

/** The row's text without its line ending (valid UTF-8 by then). */
function rawText(bytes: Buffer): string {
  let end = bytes.length;
  while (end > 0 && (bytes[end - 1] === 0x0a || bytes[end - 1] === 0x0d)) end--;
  return bytes.toString('utf8', 0, end);
}

// ───────────────────────────── csv-parse reader ─────────────────────────────

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
export async function readWithCsvParse(src: ByteSource, at: Cursor, run: Run, untilPlan: boolean): Promise<Cursor | null> {
  const queue: ParsedRecord[] = [];
  const parser = newParser(at, run.maxRecordSize, queue);
  const window = new ByteWindow(at.offset);
  const cur: Cursor = { ...at };
  try {
    for (;;) {
      const chunk = await src.next();
      if (chunk !== null) window.append(chunk);
      const err = await feed(parser, chunk);
      for (const rec of queue) {
        if (untilPlan && run.plan !== null && !run.needsHeader) break;
        const wait = takeRecord(rec, cur, window, run, untilPlan);
        if (wait !== undefined) await wait;
        if (run.signal.aborted) return null;
      }
      queue.length = 0;
      if (untilPlan && run.plan !== null && !run.needsHeader) {
        src.unshift(window.slice(cur.offset, window.end));
        return cur;
      }
      if (err !== undefined) throw locateError(err, window, cur, run);
      if (chunk === null) return null;
    }
  } finally {
    parser.destroy();
  }
}

/** One csv-parse record: the header, an empty line, or a data row (advances `cur`). */
function takeRecord(rec: ParsedRecord, cur: Cursor, window: ByteWindow, run: Run, untilPlan: boolean): void | Promise<void> {
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

/** csv-parse's error, placed by our own scan of the failing record's bytes (see scanStructure). */
function locateError(err: Error, window: ByteWindow, cur: Cursor, run: Run): CsvError {
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
