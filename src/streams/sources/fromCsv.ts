import { Observable } from 'rxjs';
import type { SkipReport } from './csvErrors.js';
import { type CsvCounters, CsvRowPolicy, createCounters } from './csvRowPolicy.js';
import { type CsvInput, CsvRowReader, sourceName } from './csvRowReader.js';
import { type SchemaOptions, checkSchemaOptions } from './csvSchema.js';
import { CsvThread, readOnThread } from './csvThread.js';
import type { FollowOptions } from './followFile.js';
import type { Gate } from './gate.js';
import type { Sample } from '../types.js';
import { isWebStream } from './webStream.js';

export type { CsvInput } from './csvRowReader.js';

export { createCounters, type CsvCounters } from './csvRowPolicy.js';

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
  /** Read chunk size in bytes for a file (default 1 MiB; 64 KiB for a followed file). */
  readonly highWaterMark?: number;
  /** Largest record in bytes before the run fails with `CSV_MAX_RECORD_SIZE` (default 1 MiB). */
  readonly maxRecordSize?: number;
  /** Counters filled in while reading (added to, never reset: pass a fresh object per epoch). */
  readonly counters?: CsvCounters;
  /** `fast` (default): byte scanner, handing over to csv-parse at the first row it does not handle. */
  readonly engine?: 'fast' | 'csv-parse';
  /**
   * Make the rows of a block a multiple of this where one fits (or exactly this, up to 4× the usual
   * block size). Give the batch size: then, read in file order, each batch's rows lie in one block
   * and batch() takes them as a view of it instead of copying them. Rows and results are the same
   * whatever it is. Default 1.
   */
  readonly alignRows?: number;
  /** Complete without error when the input has no data rows (an empty epoch). Default false. */
  readonly allowEmpty?: boolean;
  /**
   * Follow a FILE that another program keeps appending to, like `tail -f` (followFile.ts): read to
   * the end, then wait for more rows, until unsubscribed. A row is read once its line ending arrives;
   * a truncated or rotated file ends the read with an error saying so. `true`, or `{ pollMs }`.
   */
  readonly follow?: boolean | FollowOptions;
  /**
   * Parse on another thread (a file path only): `true` starts a parser thread for this subscription
   * and ends it with the subscription; a `createCsvThread()` is used and left running, so the reads
   * of many subscriptions (epochs) share one thread. Rows, errors, counters and skip reports are
   * exactly those of a read on this thread; read-ahead is bounded by the thread's ring.
   */
  readonly thread?: boolean | CsvThread;
}

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
  count('alignRows', o.alignRows, 1);
  if ((o.startOffset ?? 0) > 0 && typeof input !== 'string') bad('startOffset', '0 unless the input is a file path', o.startOffset);
  if (o.engine !== undefined && o.engine !== 'fast' && o.engine !== 'csv-parse') bad('engine', "'fast' or 'csv-parse'", o.engine);
  if (o.follow !== undefined && o.follow !== false) {
    if (typeof input !== 'string') bad('follow', 'unset unless the input is a file path (a stream is followed as it is)', o.follow);
    if (typeof o.follow === 'object') count('follow.pollMs', o.follow.pollMs, 1);
    else if (o.follow !== true) bad('follow', 'true, false or { pollMs }', o.follow);
  }
  if (o.thread !== undefined && o.thread !== false) {
    if (typeof input !== 'string') bad('thread', 'unset unless the input is a file path', o.thread);
    if (o.thread !== true && !(o.thread instanceof CsvThread)) bad('thread', 'true, false or a createCsvThread()', o.thread);
  }
}

/**
 * A pull-driven source of Samples from a CSV file (path), a byte stream (e.g. `process.stdin`), or a
 * web `ReadableStream<Uint8Array>` (a browser File's `stream()`, a fetch Response's `body`).
 *
 * The rows are read in blocks: a Sample's `x` and `target` may be views of a block shared with the
 * rows around it (never written again once emitted). To hold a few rows of a long read for long —
 * a reservoir, a delay — keep `ownedSample(s)`, which copies a view into arrays of its own, so the
 * rest of its block can be freed; shuffle and the online run's held rows do so.
 *
 * @example
 * const counters = createCounters();
 * fromCsv('mnist_train.csv', { classes: 10, scale: 1 / 255, shape: [1, 28, 28], counters })
 *   .pipe(batch(32), train(model, opts))
 *   .subscribe({ complete: () => console.log(counters) });
 */
export function fromCsv(input: CsvInput, options: CsvSourceOptions): Observable<Sample> {
  checkOptions(input, options);
  const { thread } = options;
  if (typeof input === 'string' && thread !== undefined && thread !== false) return readOnThread(thread, input, options);
  return new Observable<Sample>((subscriber) => {
    const abort = new AbortController();
    const counters = options.counters ?? createCounters();
    const policy = new CsvRowPolicy(sourceName(input, options), options, counters, subscriber, abort.signal);
    const reader = new CsvRowReader(input, options, (result, record, raw) => policy.accept(result, record, raw), abort.signal, counters);
    reader
      .readAll()
      .then(() => {
        if (!abort.signal.aborted) policy.checkEnd(options.startOffset ?? 0);
      })
      .then(
        () => subscriber.complete(),
        (err: unknown) => subscriber.error(err),
      );
    return () => {
      abort.abort();
      reader.destroy();
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
