/**
 * Splitting decoded CSV text into records for `publishCsv`, without parsing fields: a record ends at
 * `\r\n`, `\n` or a lone `\r` outside quotes (RFC 4180: every `"` toggles "inside quotes", a `""`
 * twice). A record without any quote is taken as it is (its fields are its commas + 1); one with a
 * quote is split by csv-parse (`fieldsOf`) and, when it does not parse, placed at the file's line and
 * field by scanStructure, in fromCsv's words.
 *
 * Lines are 1-based and count `\r\n`, `\n` and a lone `\r` once each, inside quotes too, as fromCsv
 * counts them. A `\r` that ends a chunk waits for the next one (it may be the first half of `\r\n`).
 */
import { parse } from 'csv-parse/sync';
import { CsvError, countLineBreaks, place, scanStructure, showLiteral } from '../csvErrors.js';

export interface SplitRecord {
  /** The record's text, without its line ending. */
  readonly text: string;
  /** 1-based line where it starts. */
  readonly line: number;
  readonly hasQuote: boolean;
}

export class RecordSplitter {
  private carry = '';
  private isInQuote = false;
  private hasQuote = false;
  /** The carry ends with a `\r` not yet taken as a line ending (the next chunk may start with `\n`). */
  private hasPendingCr = false;
  private line = 1;

  constructor(
    private readonly name: string,
    private readonly maxRecordSize: number,
  ) {}

  /** Appends `text` (the next decoded chunk; `isEnd` after the last) and pushes the complete records to `out`. */
  push(text: string, isEnd: boolean, out: SplitRecord[]): void {
    const buf = this.carry + text;
    let start = 0;
    let i = this.carry.length - (this.hasPendingCr ? 1 : 0);
    this.hasPendingCr = false;
    const n = buf.length;
    for (; i < n; i++) {
      const c = buf.charCodeAt(i);
      if (c === 0x22) {
        this.isInQuote = !this.isInQuote;
        this.hasQuote = true;
      } else if ((c === 0x0a || c === 0x0d) && !this.isInQuote) {
        let end = i + 1;
        if (c === 0x0d) {
          if (i + 1 === n && !isEnd) {
            this.hasPendingCr = true; // maybe \r\n across chunks
            break;
          }
          if (buf.charCodeAt(i + 1) === 0x0a) end = i + 2;
        }
        this.take(buf.slice(start, i), out);
        start = end;
        i = end - 1;
      }
    }
    this.carry = buf.slice(start);
    if (this.carry.length > this.maxRecordSize) {
      throw new CsvError({ source: this.name, line: this.line, column: 0, code: 'CSV_MAX_RECORD_SIZE' }, `${place(this.name, this.line)}: record larger than ${this.maxRecordSize} bytes (max record size); is the delimiter a comma?`);
    }
    if (isEnd && this.carry !== '') {
      this.take(this.carry, out);
      this.carry = '';
    }
  }

  private take(text: string, out: SplitRecord[]): void {
    out.push({ text, line: this.line, hasQuote: this.hasQuote });
    this.line += 1 + (this.hasQuote ? countLineBreaks(Buffer.from(text, 'utf8')) : 0);
    this.hasQuote = false;
    this.isInQuote = false;
  }
}

/** The fields of a record with quotes (csv-parse), or the structural error at its place. */
export function fieldsOf(name: string, r: SplitRecord): string[] {
  let records: string[][];
  try {
    records = parse(r.text, { delimiter: ',', quote: '"', escape: '"', relax_column_count: true, record_delimiter: ['\r\n', '\n', '\r'], bom: false });
  } catch {
    records = [];
  }
  if (records.length === 1) return records[0];
  const bytes = Buffer.from(r.text, 'utf8');
  const f = scanStructure(bytes);
  const lineAt = (pos: number): number => r.line + countLineBreaks(bytes, 0, pos);
  if (f.kind === 'opening-quote') {
    const value = bytes.toString('utf8', f.fieldStart, f.pos + 1);
    return fail(name, lineAt(f.pos), f.field, 'INVALID_OPENING_QUOTE', `quote inside an unquoted field (${showLiteral(value)}); quote the whole field`);
  }
  if (f.kind === 'closing-quote') {
    return fail(name, lineAt(f.pos), f.field, 'CSV_INVALID_CLOSING_QUOTE', `a closing quote must be followed by a comma or a line break, found ${showLiteral(bytes.toString('utf8', f.pos, f.pos + 1))}`);
  }
  if (f.kind === 'open-at-end') return fail(name, lineAt(f.pos), f.field, 'CSV_QUOTE_NOT_CLOSED', 'the quote opened here is never closed (the input ends inside it)');
  return fail(name, r.line, 0, 'CSV_PARSE_ERROR', 'the record cannot be parsed');
}

function fail(name: string, line: number, column: number, code: 'INVALID_OPENING_QUOTE' | 'CSV_INVALID_CLOSING_QUOTE' | 'CSV_QUOTE_NOT_CLOSED' | 'CSV_PARSE_ERROR', detail: string): never {
  throw new CsvError({ source: name, line, column, code }, `${place(name, line, column)}: ${detail}`);
}
