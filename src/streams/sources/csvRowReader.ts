/**
 * The reading half of `fromCsv` (fromCsv.ts): from the input's bytes to each record's outcome — a
 * Sample or a row-level CsvError — handed in input order to a sink, pull-driven. What happens to an
 * outcome (emitted, skipped, counted, failed) is the other half, csvRowPolicy.ts; the two are joined
 * on this thread by fromCsv, or across threads by the parser thread (csvThread.ts, csvWorker.ts).
 *
 *   ByteSource ── chunks ──▶ strip one UTF-8 BOM ──▶ header (csv-parse) ──▶ data rows: fast scanner
 *   (byteSource.ts)          (skipBom)               (csvParseReader.ts)    (fastCsv.ts)
 *                                                                         └─ or csv-parse, which also
 *                                                                            takes over from the fast
 *                                                                            scanner at the first row
 *                                                                            it does not handle
 *
 * The sink is called synchronously for each record; when it returns a promise, reading waits for it
 * before the next record (a gate credit, or a free slot of the parser thread's ring). Structural
 * errors are thrown by the readers (and reject `readAll`) after every record before them was handed
 * to the sink.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ByteSource, lineAt, skipBom } from './byteSource.js';
import type { CsvError } from './csvErrors.js';
import { readWithCsvParse } from './csvParseReader.js';
import type { ColumnPlan, SchemaOptions } from './csvSchema.js';
import { type Cursor, readFast } from './fastCsv.js';
import type { RowPlacer } from './rowPlacer.js';
import { type FollowOptions, type FollowedFile, followFile } from './followFile.js';
import type { Sample } from '../types.js';
import { isWebStream, webStreamChunks, type WebByteStream } from './webStream.js';

/** What the reader reads: a file path, a Node byte stream (process.stdin), or a web ReadableStream<Uint8Array>. */
export type CsvInput = string | NodeJS.ReadableStream | WebByteStream;

/** The options the reading half uses (a part of fromCsv's CsvSourceOptions). */
export interface ReadOptions extends SchemaOptions {
  readonly name?: string;
  readonly startOffset?: number;
  readonly startRecord?: number;
  readonly startLine?: number;
  readonly highWaterMark?: number;
  readonly maxRecordSize?: number;
  readonly engine?: 'fast' | 'csv-parse';
  readonly follow?: boolean | FollowOptions;
  /** Rows per block a multiple of this where one fits (fromCsv `alignRows`). */
  readonly alignRows?: number;
}

/** Receives each record's outcome in input order; a promise makes reading wait before the next record. */
export type OutcomeSink = (result: Sample | CsvError, record: number, raw: () => string) => void | Promise<void>;

/**
 * Read chunk of a file: 1 MiB. A file stream keeps one chunk ahead, so each chunk's read (a hop through
 * libuv's thread pool, 0.1–0.2 ms) is waited for; at 64 KiB those waits made reading an MNIST CSV on
 * one thread take 8.4 µs a row instead of 6.1 (medians of 8 alternated runs). A followed file keeps
 * 64 KiB: its reads return what was appended.
 */
export const DEFAULT_HIGH_WATER_MARK = 1024 * 1024;
const FOLLOW_HIGH_WATER_MARK = 64 * 1024;
export const DEFAULT_MAX_RECORD_SIZE = 1024 * 1024;

/** The source name in messages and origins: `name`, else the path, else `stream` (web) or `stdin`. */
export function sourceName(input: CsvInput, options: { readonly name?: string }): string {
  return options.name ?? (typeof input === 'string' ? input : isWebStream(input) ? 'stream' : 'stdin');
}

/** One reading of a CSV input: resolves the columns, then hands every record's outcome to the sink. */
export class CsvRowReader {
  readonly name: string;
  readonly maxRecordSize: number;
  readonly alignRows: number | undefined;
  plan: ColumnPlan | null = null;
  needsHeader: boolean;
  /** While re-reading the header for a resume: records are looked at, never handed on. */
  isSilent = false;
  private stream: Readable | NodeJS.ReadableStream | FollowedFile | ReturnType<typeof webStreamChunks> | null = null;

  constructor(
    private readonly input: CsvInput,
    readonly options: ReadOptions,
    private readonly sink: OutcomeSink,
    readonly signal: AbortSignal,
    /** Bytes read so far (CsvCounters.bytesRead): grows by every chunk read from the input. */
    private readonly counters: { bytesRead: number },
    /** Called when a followed file is at its end for now (followFile's empty chunk). */
    private readonly onIdle?: () => void,
    /** Where the fast scanner writes good rows in place (the parser thread's ring); null: new Samples. */
    readonly placer: RowPlacer | null = null,
  ) {
    this.name = sourceName(input, options);
    this.maxRecordSize = options.maxRecordSize ?? DEFAULT_MAX_RECORD_SIZE;
    this.alignRows = options.alignRows;
    this.needsHeader = options.hasHeader ?? true;
  }

  /** Stops reading now: destroys the stream even while a read is pending. */
  destroy(): void {
    const s = this.stream;
    if (s !== null && 'destroy' in s && typeof s.destroy === 'function') s.destroy();
  }

  private open(offset: number, isCounted = true, isFollowed = this.options.follow !== undefined && this.options.follow !== false): ByteSource {
    const o = this.options;
    const highWaterMark = o.highWaterMark ?? (isFollowed ? FOLLOW_HIGH_WATER_MARK : DEFAULT_HIGH_WATER_MARK);
    const stream =
      typeof this.input !== 'string'
        ? isWebStream(this.input)
          ? webStreamChunks(this.input, this.name)
          : this.input
        : isFollowed
          ? followFile(this.input, offset, { highWaterMark, ...(typeof o.follow === 'object' ? o.follow : {}) })
          : createReadStream(this.input, { start: offset, highWaterMark });
    this.stream = stream;
    const chunks = isFollowed && this.onIdle !== undefined ? withIdleHook(stream as AsyncIterable<unknown>, this.onIdle) : (stream as AsyncIterable<unknown>);
    return new ByteSource(chunks, this.name, offset, isCounted ? this.counters : { bytesRead: 0 });
  }

  /** Reads to the end (or until aborted). Rejects with the first structural error, or the sink's. */
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

  /** The readers' sink (ParseRun / FastRun): nothing is handed on while silent or after an abort. */
  accept(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void> {
    if (this.isSilent || this.signal.aborted) return;
    return this.sink(result, record, raw);
  }
}

/**
 * The chunks of `stream`, calling `onIdle` after each empty chunk (a followed file at its end for now)
 * has been read: when the next chunk is asked for, the readers have handed on every row it released.
 */
async function* withIdleHook(stream: AsyncIterable<unknown>, onIdle: () => void): AsyncGenerator<unknown> {
  for await (const chunk of stream) {
    yield chunk;
    if (chunk instanceof Uint8Array && chunk.length === 0) onIdle();
  }
}
