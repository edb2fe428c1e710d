/**
 * `streamColumns(url)`: the column names of a Redis stream's rows, read from its first entry (`XRANGE
 * key - + COUNT 1`) without a consumer group: a header entry's names (`header=label,x1,x2`, what
 * `deltaflow publish` writes first), or a field-form entry's field names. Null when the first entry
 * is a `row=` or `end` entry (no names to read: pass `columns`), or the stream is empty or missing.
 * The command line uses it to describe a stream's data before it reads it.
 */
import { parse } from 'csv-parse/sync';
import { checkHeader } from '../csvSchema.js';
import { asArray, asText, connectRedis } from './redisConnection.js';
import { streamTarget } from './redisUrl.js';

/**
 * The columns of the stream at `url` (see the file comment).
 *
 * @example const names = await streamColumns('redis://127.0.0.1:6379/rows'); // ['label', 'x1', 'x2'] or null
 */
export async function streamColumns(url: string, options: { readonly stream?: string; readonly timeoutMs?: number } = {}): Promise<string[] | null> {
  const target = streamTarget(url, options.stream);
  const conn = await connectRedis(target, { timeoutMs: options.timeoutMs, forKey: target.stream });
  try {
    const entries = asArray(await conn.send(['XRANGE', target.stream, '-', '+', 'COUNT', '1']), 'XRANGE');
    if (entries.length === 0) return null;
    const entry = asArray(entries[0], 'XRANGE entry');
    const id = asText(entry[0], 'entry id');
    const fields = asArray(entry[1], 'entry fields').map((f) => asText(f, 'entry field'));
    if (fields.length === 2 && (fields[0] === 'row' || fields[0] === 'end')) return null;
    const where = `${target.display} entry ${id}`;
    if (fields.length === 2 && fields[0] === 'header') {
      const line = fields[1];
      const split = /["\r\n]/.test(line) ? (parse(line, { relax_column_count: true }) as string[][])[0] ?? [] : line.split(',');
      return checkHeader(where, 0, split);
    }
    return checkHeader(where, 0, fields.filter((_, i) => i % 2 === 0));
  } finally {
    await conn.close();
  }
}
