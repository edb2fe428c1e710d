/**
 * `fromCsv`: the CSV source. Reads a file or a byte stream, pull-driven, and emits one validated
 * Sample per data row, or a CsvError naming `file:line:column` (RELIABILITY.md cases 1–30).
 *
 * How a run reads (`Run`, at the end of this file, drives the steps; the readers live in their own files):
 *
 *   ByteSource ── chunks ──▶ strip one UTF-8 BOM ──▶ header (csv-parse) ──▶ data rows: fast scanner
 *   (byteSource.ts)          (skipBom)               (csvParseReader.ts)    (fastCsv.ts)
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
 *   weak at is done by the readers on the bytes: line numbers (its own count a `\r\n` inside quotes
 *   twice), byte offsets for resume, UTF-8 validation (it would decode to U+FFFD), empty lines, and
 *   locating quote errors (it reports an unclosed quote at the end of the input, not where it opened).
 * - Errors are raised in input order: every row before the bad one has been emitted first, whatever
 *   the chunking and whichever reader met the error.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { Observable, type Subscriber } from 'rxjs';
import { ByteSource, lineAt, skipBom } from './byteSource.js';
import { CsvError, type SkipReport, budgetError, noDataError } from './csvErrors.js';
import { readWithCsvParse } from './csvParseReader.js';
import { type ColumnPlan, type SchemaOptions, checkSchemaOptions } from './csvSchema.js';
import { type Cursor, readFast } from './fastCsv.js';
import { type FollowOptions, type FollowedFile, followFile } from './followFile.js';
import type { Gate } from './gate.js';
import type { Sample } from '../types.js';
import { isWebStream, webStreamChunks, type WebByteStream } from './webStream.js';

/** What fromCsv reads: a file path, a Node byte stream (process.stdin), or a web ReadableStream<Uint8Array>. */
export type CsvInput = string | NodeJS.ReadableStream | WebByteStream;

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
  /**
   * Feature columns in the order they fill `x`. Default: every column but the label/targets (every
   * column for task `predict`). `[]`: none — rows carry only their label (a stream of late labels).
   */
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
  /**
   * Follow a FILE that another program keeps appending to, like `tail -f` (followFile.ts): read to
   * the end, then wait for more rows, until unsubscribed. A row is read once its line ending arrives;
   * a truncated or rotated file ends the read with an error saying so. `true`, or `{ pollMs }`.
   */
  readonly follow?: boolean | FollowOptions;
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
  if (typeof input !== 'string' && !isWebStream(input) && !(input !== null && typeof input === 'object' && Symbol.asyncIterator in input)) {
    throw new TypeError('fromCsv: input must be a file path, a readable stream or a web ReadableStream');
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
  if (o.follow !== undefined && o.follow !== false) {
    if (typeof input !== 'string') bad('follow', 'unset unless the input is a file path (a stream is followed as it is)', o.follow);
    if (typeof o.follow === 'object') count('follow.pollMs', o.follow.pollMs, 1);
    else if (o.follow !== true) bad('follow', 'true, false or { pollMs }', o.follow);
  }
}

/**
 * A pull-driven source of Samples from a CSV file (path), a byte stream (e.g. `process.stdin`), or a
 * web `ReadableStream<Uint8Array>` (a browser File's `stream()`, a fetch Response's `body`).
 *
 * @example
 * const counters = createCounters();
 * fromCsv('mnist_train.csv', { classes: 10, scale: 1 / 255, shape: [1, 28, 28], counters })
 *   .pipe(batch(32), train(model, opts))
 *   .subscribe({ complete: () => console.log(counters) });
 */
export function fromCsv(input: CsvInput, options: CsvSourceOptions): Observable<Sample> {
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
export function featureStats(input: CsvInput, options: CsvSourceOptions): Promise<FeatureStats> {
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
  private stream: Readable | NodeJS.ReadableStream | FollowedFile | ReturnType<typeof webStreamChunks> | null = null;

  constructor(
    private readonly input: CsvInput,
    readonly options: CsvSourceOptions,
    private readonly subscriber: Subscriber<Sample>,
    readonly signal: AbortSignal,
  ) {
    this.name = options.name ?? (typeof input === 'string' ? input : isWebStream(input) ? 'stream' : 'stdin');
    this.maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.needsHeader = options.hasHeader ?? true;
    this.counters = options.counters ?? createCounters();
  }

  /** Stops reading now: destroys the stream even while a read is pending. */
  destroy(): void {
    const s = this.stream;
    if (s !== null && 'destroy' in s && typeof s.destroy === 'function') s.destroy();
  }

  private open(offset: number, isCounted = true, isFollowed = this.options.follow !== undefined && this.options.follow !== false): ByteSource {
    const o = this.options;
    const highWaterMark = o.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    const stream =
      typeof this.input !== 'string'
        ? isWebStream(this.input)
          ? webStreamChunks(this.input, this.name)
          : this.input
        : isFollowed
          ? followFile(this.input, offset, { highWaterMark, ...(typeof o.follow === 'object' ? o.follow : {}) })
          : createReadStream(this.input, { start: offset, highWaterMark });
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
    const src = this.open(0, false, false);
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
