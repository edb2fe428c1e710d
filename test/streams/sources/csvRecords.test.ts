/**
 * publishCsv's record splitter (redis/csvRecords.ts) against csv-parse, the oracle: on random CSV
 * text — quoted fields with commas, `""` and line breaks, CRLF, LF and lone CR endings — cut into random
 * chunks (a CRLF split between its halves too), it finds the same records with the same fields, and the
 * line of each record is its first line in the file.
 */
import { parse } from 'csv-parse/sync';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RecordSplitter, type SplitRecord, fieldsOf } from '../../../src/streams/sources/redis/csvRecords.js';

const field = fc.oneof(
  fc.constantFrom('1', '2.5', '-3', 'abc', ''),
  fc.array(fc.constantFrom('a', ',', '""', '\n', '\r\n', ' ', '7'), { maxLength: 5 }).map((parts) => `"${parts.join('')}"`),
);
const eol = fc.constantFrom('\n', '\r\n', '\r');
const csv = fc
  .array(fc.tuple(fc.array(field, { minLength: 1, maxLength: 4 }), eol), { minLength: 1, maxLength: 12 })
  .map((rows) => rows.map(([fields, end]) => `${fields.join(',')}${end}`).join(''))
  .filter((text) => !/(^|[\r\n])(\r?\n|\r)/.test(text)); // no empty lines: csv-parse and fromCsv differ on them by design

function split(text: string, cuts: number[]): SplitRecord[] {
  const out: SplitRecord[] = [];
  const s = new RecordSplitter('t.csv', 1 << 20);
  let at = 0;
  for (const c of [...cuts].sort((a, b) => a - b)) {
    s.push(text.slice(at, c), false, out);
    at = c;
  }
  s.push(text.slice(at), false, out);
  s.push('', true, out);
  return out;
}

describe('RecordSplitter', () => {
  it('finds the records csv-parse finds, whatever the chunks', () => {
    fc.assert(
      fc.property(csv, fc.array(fc.nat(), { maxLength: 6 }), (text, cutsRaw) => {
        const cuts = cutsRaw.map((c) => c % (text.length + 1));
        const records = split(text, cuts);
        const fields = records.map((r) => (r.hasQuote ? fieldsOf('t.csv', r) : r.text.split(',')));
        expect(fields).toEqual(parse(text, { relax_column_count: true, record_delimiter: ['\r\n', '\n', '\r'] }));
        let line = 1;
        for (const r of records) {
          expect(r.line).toBe(line);
          line += 1 + (r.text.match(/\r\n|\n|\r/g)?.length ?? 0);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('takes a last record without a line ending, and waits at a CR that ends a chunk', () => {
    const out: SplitRecord[] = [];
    const s = new RecordSplitter('t.csv', 100);
    s.push('a,b\r', false, out);
    expect(out).toEqual([]);
    s.push('\n1,2', false, out);
    expect(out.map((r) => r.text)).toEqual(['a,b']);
    s.push('', true, out);
    expect(out.map((r) => [r.text, r.line])).toEqual([['a,b', 1], ['1,2', 2]]);
  });

  it('states a record over the size limit at its line', () => {
    const s = new RecordSplitter('t.csv', 8);
    expect(() => s.push('a,b\n123456789', false, [])).toThrow('t.csv:2: record larger than 8 bytes (max record size); is the delimiter a comma?');
  });
});
