/**
 * `publishCsv`: a producer that writes the rows of a CSV file (or stream) to a Redis stream — or to
 * N partition streams — in the row form fromRedisStream reads (redisEntry.ts):
 *
 *   header=<header line>   once, first, in every partition
 *   row=<one record>       row i of the file in partition i mod N (partitions.ts), in file order
 *   end=1                  last, in every partition (unless `end: false`)
 *
 * It checks the file's STRUCTURE as fromCsv does — UTF-8, quotes, the header (empty or duplicate
 * names), the field count of every row, empty lines — and fails at the first problem, naming the file
 * and line (rows before it are already published). It does not check VALUES: what a value means
 * (a label, a class name, a feature) belongs to the consumer's schema, and the consumer validates it
 * with fromCsv's rules, naming the entry id. Each entry holds exactly one record, re-written as one
 * CSV line (fields quoted only where they must be: `,` `"` CR LF), so a quoted newline can never split
 * a row across entries.
 *
 * Writes are pipelined, at most `batch` entries in flight per partition: the file is read only as
 * fast as Redis acknowledges (bounded memory for any file size). `maxLen` trims each stream to about
 * that many entries (`XADD … MAXLEN ~`); NOTE: trimming drops the header entry too, so a consumer that
 * starts late on a trimmed stream needs the columns given (`columns`) — a resumed one has the header in
 * its position.
 */
import { createReadStream } from 'node:fs';
import { CsvError as ParseError, Parser } from 'csv-parse';
import { CsvError, fieldCountError, emptyLineError, findInvalidUtf8, noDataError } from '../csvErrors.js';
import { checkHeader } from '../csvSchema.js';
import { partitionKey } from './partitions.js';
import { parseRedisUrl } from './redisUrl.js';
import { StreamWriter } from './streamWriter.js';

export interface PublishOptions {
  /** The stream (or give it in the URL). With partitions, the keys are `partitionKey(stream, p, n)`. */
  readonly stream?: string;
  /** Number of partition streams (default 1: the stream key itself). */
  readonly partitions?: number;
  /** Trim each stream to about this many entries (`MAXLEN ~`). */
  readonly maxLen?: number;
  /** Entries in flight per partition before reading waits (default 1000). */
  readonly batch?: number;
  /** Write the end marker `end=1` after the last row (default true). */
  readonly end?: boolean;
  /** Name of the input in messages (default: the path, or `stdin`). */
  readonly name?: string;
  readonly timeoutMs?: number;
  /** Largest record in bytes (default 1 MiB). */
  readonly maxRecordSize?: number;
}

export interface PublishResult {
  readonly rows: number;
  /** The stream keys written, partition 0 first. */
  readonly keys: readonly string[];
  /** The server each key lives on (`HOST:PORT`; on a cluster, its master). */
  readonly addresses: readonly string[];
}

function csvQuote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The input decoded as UTF-8 (fatal on an invalid byte, naming its offset); a leading BOM dropped. */
async function* utf8Text(input: AsyncIterable<Buffer | string>, name: string): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let offset = 0;
  for await (const chunk of input) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    try {
      yield decoder.decode(bytes, { stream: true });
    } catch {
      const at = findInvalidUtf8(bytes);
      throw new CsvError({ source: name, line: 0, column: 0, code: 'CSV_INVALID_UTF8' }, `invalid UTF-8 in ${name} (near byte offset ${offset + Math.max(0, at)})`);
    }
    offset += bytes.length;
  }
  try {
    yield decoder.decode();
  } catch {
    throw new CsvError({ source: name, line: 0, column: 0, code: 'CSV_INVALID_UTF8' }, `invalid UTF-8 in ${name} (the input ends inside a character)`);
  }
}

/**
 * Publishes a CSV file's rows to Redis (see the file comment); resolves once Redis has acknowledged
 * every entry.
 *
 * @example
 * await publishCsv('train.csv', 'redis://127.0.0.1:6379/rows', { partitions: 3, maxLen: 1_000_000 });
 */
export async function publishCsv(input: string | NodeJS.ReadableStream, url: string, options: PublishOptions = {}): Promise<PublishResult> {
  const target = parseRedisUrl(url);
  const stream = target.stream ?? options.stream;
  if (stream === undefined || stream === '') throw new TypeError(`publishCsv: no stream given for ${target.display}`);
  const n = options.partitions ?? 1;
  const batch = options.batch ?? 1000;
  if (!Number.isSafeInteger(n) || n < 1) throw new TypeError(`publishCsv: option "partitions" must be an integer ≥ 1, got ${String(n)}`);
  if (!Number.isSafeInteger(batch) || batch < 1) throw new TypeError(`publishCsv: option "batch" must be an integer ≥ 1, got ${String(batch)}`);
  const name = options.name ?? (typeof input === 'string' ? input : 'stdin');
  const keys = n === 1 ? [stream] : Array.from({ length: n }, (_, p) => partitionKey(stream, p, n));
  const writers: StreamWriter[] = [];
  try {
    for (const key of keys) writers.push(await StreamWriter.open(target, key, { maxLen: options.maxLen, timeoutMs: options.timeoutMs }));
    const bytes: AsyncIterable<Buffer | string> = typeof input === 'string' ? createReadStream(input) : (input as AsyncIterable<Buffer | string>);
    // Records are collected per chunk by on_record and written synchronously (no promise per row).
    const queue: { record: string[]; lines: number }[] = [];
    const parser = new Parser({
      delimiter: ',',
      quote: '"',
      escape: '"',
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      max_record_size: options.maxRecordSize ?? 1024 * 1024,
      bom: false,
      on_record: (record: string[], context) => {
        queue.push({ record, lines: context.lines });
        return null;
      },
    });
    parser.on('error', () => {}); // errors arrive through the write/end callbacks
    let nFields = -1;
    let rows = 0;
    let nextLine = 1;
    const take = (): void => {
      for (const { record, lines } of queue) {
        const line = nextLine;
        nextLine = lines + 1;
        if (nFields < 0) {
          nFields = checkHeader(name, line, record).length;
          const header = record.map(csvQuote).join(',');
          for (const w of writers) w.add(['header', header]);
          continue;
        }
        if (record.length === 1 && record[0] === '') throw emptyLineError(name, line);
        if (record.length !== nFields) throw fieldCountError(name, line, nFields, record.length);
        writers[rows % n].add(['row', record.map(csvQuote).join(',')]);
        rows++;
      }
      queue.length = 0;
    };
    const feed = (text: string | null): Promise<Error | undefined> =>
      new Promise((resolve) => {
        const done = (err?: Error | null): void => resolve(err ?? undefined);
        if (text === null) parser.end(done);
        else parser.write(text, done);
      });
    const parseError = (e: Error): CsvError => {
      // csv-parse's own errors (quotes, record size) name their line in words.
      const code = e instanceof ParseError && e.code === 'CSV_MAX_RECORD_SIZE' ? 'CSV_MAX_RECORD_SIZE' : 'CSV_PARSE_ERROR';
      return new CsvError({ source: name, line: 0, column: 0, code }, `${name}: ${e.message}`);
    };
    try {
      for await (const text of utf8Text(bytes, name)) {
        const err = await feed(text);
        take();
        if (err !== undefined) throw parseError(err);
        for (const w of writers) if (w.inFlight >= batch) await w.drain(batch >> 1);
      }
      const err = await feed(null);
      take();
      if (err !== undefined) throw parseError(err);
    } finally {
      parser.destroy();
    }
    if (rows === 0) throw noDataError(name);
    if (options.end !== false) for (const w of writers) w.add(['end', '1']);
    await Promise.all(writers.map((w) => w.close()));
    return { rows, keys, addresses: writers.map((w) => w.address) };
  } catch (e) {
    for (const w of writers) w.destroy();
    throw e;
  }
}
