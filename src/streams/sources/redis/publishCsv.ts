/**
 * `publishCsv`: a producer that writes the rows of a CSV file (or stream) to a Redis stream — or to
 * N partition streams — in the row form fromRedisStream reads (redisEntry.ts):
 *
 *   header=<header line>   once, first, in every partition
 *   row=<one record>       row i of the file in partition i mod N (partitions.ts), in file order
 *   end=1                  last, in every partition (unless `end: false`)
 *
 * Records are split by csvRecords.ts (a quote-aware line scan; csv-parse only for records with
 * quotes). It checks the file's STRUCTURE as fromCsv does — UTF-8, quotes, the header (empty or duplicate
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
import { CsvError, fieldCountError, emptyLineError, findInvalidUtf8, noDataError } from '../csvErrors.js';
import { checkHeader } from '../csvSchema.js';
import { RecordSplitter, type SplitRecord, fieldsOf } from './csvRecords.js';
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
    const splitter = new RecordSplitter(name, options.maxRecordSize ?? 1024 * 1024);
    const records: SplitRecord[] = [];
    let nFields = -1;
    let rows = 0;
    const take = (): void => {
      for (const r of records) {
        if (nFields < 0) {
          const names = checkHeader(name, r.line, r.hasQuote ? fieldsOf(name, r) : r.text.split(','));
          nFields = names.length;
          const header = r.hasQuote ? fieldsOf(name, r).map(csvQuote).join(',') : r.text;
          for (const w of writers) w.add(['header', header]);
          continue;
        }
        if (r.text === '') throw emptyLineError(name, r.line);
        let text = r.text;
        let count: number;
        if (r.hasQuote) {
          const fields = fieldsOf(name, r);
          count = fields.length;
          text = fields.map(csvQuote).join(',');
        } else {
          count = 1;
          for (let i = text.indexOf(','); i >= 0; i = text.indexOf(',', i + 1)) count++;
        }
        if (count !== nFields) throw fieldCountError(name, r.line, nFields, count);
        writers[rows % n].add(['row', text]);
        rows++;
      }
      records.length = 0;
    };
    for await (const text of utf8Text(bytes, name)) {
      splitter.push(text, false, records);
      take();
      for (const w of writers) if (w.inFlight >= batch) await w.drain(batch >> 1);
    }
    splitter.push('', true, records);
    take();
    if (rows === 0) throw noDataError(name);
    if (options.end !== false) for (const w of writers) w.add(['end', '1']);
    await Promise.all(writers.map((w) => w.close()));
    return { rows, keys, addresses: writers.map((w) => w.address) };
  } catch (e) {
    for (const w of writers) w.destroy();
    throw e;
  }
}
