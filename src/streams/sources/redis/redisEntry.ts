/**
 * From one Redis stream entry to a Sample, validated exactly as `fromCsv` validates a CSV row: the
 * column plan, the value grammar and the conversion are csvSchema.ts's (`checkHeader`, `resolvePlan`,
 * `convertRecord`), so the same bad value gets the same words; only the place differs —
 * `redis://127.0.0.1:6379/rows entry 1733-0 (column "x2"): "abc" is not a number` instead of
 * `data.csv:9:3 (column "x2"): …`.
 *
 * Entry forms (field names are case-sensitive):
 *
 *   row form     row=<one CSV line>           the line's fields, split like fromCsv (quotes allowed)
 *   header entry header=<the CSV header line> names the columns of the row entries after it
 *   field form   x1=0.5 x2=1 label=3          one field per column; the first such entry's field
 *                                              names (or the `columns` option) fix the columns
 *   end marker   end=<anything>               the end of a bounded stream (see fromRedisStream)
 *
 * An entry with exactly one field named `row`, `header` or `end` has that meaning; any other entry is
 * of the field form. The row form's columns come from the `columns` option, else from the header entry
 * (`deltaflow publish` writes one first), else — with `hasHeader: false` — from the first row's field
 * count (columns by index). A later header entry must repeat the same names. A field-form entry must
 * hold each column once, in any order; a missing, unknown or repeated field is a row-level error
 * (`CSV_RECORD_INCONSISTENT_COLUMNS`), skippable like a short CSV row.
 *
 * A row of plain ASCII without quotes (the common case) is read by fromCsv's fast scanner
 * (fastCsv.ts) straight from the entry's bytes; any other row by the reference conversion. The two
 * agree on every input (fastCsv.ts), so which one read a row never shows.
 *
 * Always fatal, as in fromCsv: invalid UTF-8 in a field, a quote error in a row, a header problem, and
 * a row before any header. Redis holds bytes, so UTF-8 is checked on the bytes (no U+FFFD in data).
 */
import { parse } from 'csv-parse/sync';
import { CsvError, type CsvErrorCode, findInvalidUtf8, place, scanStructure } from '../csvErrors.js';
import { type ColumnPlan, type SchemaOptions, checkHeader, convertRecord, resolvePlan } from '../csvSchema.js';
import { FastScanner } from '../fastCsv.js';
import type { Sample } from '../../types.js';

/** A problem of a stream entry: a CsvError (same codes, same policy) that also names the entry. */
export class RedisEntryError extends CsvError {
  constructor(
    /** The entry id, `MS-SEQ`. */
    readonly entryId: string,
    facts: ConstructorParameters<typeof CsvError>[0],
    message: string,
  ) {
    super(facts, message);
  }
}

export type DecodedEntry =
  | { readonly kind: 'data'; readonly result: Sample | CsvError; readonly raw: string }
  | { readonly kind: 'header' }
  | { readonly kind: 'end' };

export interface EntrySchemaOptions extends SchemaOptions {
  /** Row form without a header entry and without `columns`: the rows' fields are columns by index. */
  readonly hasHeader?: boolean;
}

function columnPart(columnName: string | undefined, column: number): string {
  if (columnName !== undefined) return ` (column ${JSON.stringify(columnName)})`;
  return column > 0 ? ` (field ${column})` : '';
}

/** `NAME entry ID (column "x"): detail` as a RedisEntryError with the given facts. */
export function entryError(name: string, id: string, record: number, code: CsvErrorCode, detail: string, column = 0, columnName?: string, value?: string): RedisEntryError {
  return new RedisEntryError(id, { source: name, line: record + 1, column, columnName, code, value }, `${name} entry ${id}${columnPart(columnName, column)}: ${detail}`);
}

/** Re-places a CsvError of convertRecord (`NAME:LINE:COL (column "x"): detail`) at the entry. */
function atEntry(err: CsvError, id: string, record: number, isHeader = false): RedisEntryError {
  // NOTE: csvErrors.ts words every message as `${place(...)}: ${detail}` (with or without the column);
  // the detail is kept word for word, only the place is replaced.
  const long = `${place(err.source, err.line, err.column, err.columnName)}: `;
  const short = `${place(err.source, err.line)}: `;
  const detail = err.message.startsWith(long) ? err.message.slice(long.length) : err.message.startsWith(short) ? err.message.slice(short.length) : err.message;
  if (isHeader) {
    const facts = { source: err.source, line: record + 1, column: err.column, code: err.code, value: err.value };
    return new RedisEntryError(id, facts, `${err.source} entry ${id} (header): ${detail}`);
  }
  return entryError(err.source, id, record, err.code, detail, err.column, err.columnName, err.value);
}

/** Runs a header or plan step of csvSchema.ts, placing its error at the entry. */
function atEntryOf<T>(id: string, record: number, step: () => T, isHeader = false): T {
  try {
    return step();
  } catch (e) {
    throw e instanceof CsvError && !(e instanceof RedisEntryError) ? atEntry(e, id, record, isHeader) : e;
  }
}

const ROW = Buffer.from('row');

function csvQuote(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Decodes the entries of one stream, in order; holds the column plan once it is known. */
export class EntryDecoder {
  plan: ColumnPlan | null = null;
  /** The header line the row form is read with, when it came from a header entry (or a resume). */
  header: string | null = null;
  private fieldIndex: Map<string, number> | null = null;
  private scanner: FastScanner | null = null;
  private scanned: Sample | CsvError | null = null;

  constructor(
    private readonly name: string,
    private readonly options: EntrySchemaOptions,
    header?: string,
  ) {
    if (header !== undefined) this.takeHeader('(resumed)', header, 0);
  }

  /** One entry: `fields` is the flat list name₁, value₁, name₂, value₂, … as Redis returns it. */
  decode(id: string, fields: readonly Buffer[], record: number): DecodedEntry {
    if (fields.length === 2 && this.plan !== null && fields[0].equals(ROW)) {
      const fast = this.fastRow(id, fields[1], record);
      if (fast !== null) return fast;
    }
    const texts: string[] = [];
    for (let i = 0; i < fields.length; i++) {
      const b = fields[i];
      const bad = findInvalidUtf8(b);
      if (bad >= 0) {
        const what = i % 2 === 0 ? `field name ${i / 2 + 1}` : `field ${JSON.stringify(fields[i - 1].toString('latin1'))}`;
        const hex = `0x${b[bad].toString(16).padStart(2, '0')}`;
        throw entryError(this.name, id, record, 'CSV_INVALID_UTF8', `invalid UTF-8 in ${what} (byte ${hex} at byte ${bad} of the field)`);
      }
      texts.push(b.toString('utf8'));
    }
    if (texts.length === 2) {
      if (texts[0] === 'end') return { kind: 'end' };
      if (texts[0] === 'header') {
        this.takeHeader(id, texts[1], record);
        return { kind: 'header' };
      }
      if (texts[0] === 'row') return this.row(id, texts[1], record);
    }
    return this.fieldForm(id, texts, record);
  }

  private takeHeader(id: string, line: string, record: number): void {
    const fields = this.split(id, line, record);
    const names = atEntryOf(id, record, () => checkHeader(this.name, 0, fields), true);
    if (this.plan !== null) {
      const known = this.plan.names;
      if (known === null || known.join('\u0000') !== names.join('\u0000')) {
        throw entryError(this.name, id, record, 'CSV_SCHEMA_MISMATCH', `the header changed: the columns were ${known === null ? `${this.plan.nFields} unnamed fields` : known.map((n) => JSON.stringify(n)).join(', ')}, this header entry has ${names.map((n) => JSON.stringify(n)).join(', ')}`);
      }
      return;
    }
    this.plan = atEntryOf(id, record, () => resolvePlan(this.name, 0, names, names.length, this.options), true);
    this.header = line;
  }

  /** One CSV line's fields (quotes as in fromCsv); exactly one record, else a fatal error. */
  private split(id: string, line: string, record: number): string[] {
    if (!line.includes('"') && !line.includes('\n') && !line.includes('\r')) return line.split(',');
    let records: string[][];
    try {
      records = parse(line, { delimiter: ',', quote: '"', escape: '"', relax_column_count: true, record_delimiter: ['\r\n', '\n', '\r'], bom: false });
    } catch {
      const f = scanStructure(Buffer.from(line, 'utf8'));
      const why =
        f.kind === 'opening-quote'
          ? ['INVALID_OPENING_QUOTE', 'quote inside an unquoted field; quote the whole field'] as const
          : f.kind === 'closing-quote'
            ? ['CSV_INVALID_CLOSING_QUOTE', 'a closing quote must be followed by a comma or a line break'] as const
            : ['CSV_QUOTE_NOT_CLOSED', 'the quote opened here is never closed (the row ends inside it)'] as const;
      throw entryError(this.name, id, record, why[0], why[1], f.kind === 'none' ? 0 : f.field);
    }
    if (records.length !== 1) {
      throw entryError(this.name, id, record, 'CSV_PARSE_ERROR', `the row holds ${records.length} CSV records; an entry holds one line`);
    }
    return records[0];
  }

  /** A row by the fast scanner, or null when it is not a plain one-line ASCII row without quotes. */
  private fastRow(id: string, bytes: Buffer, record: number): DecodedEntry | null {
    const plan = this.plan;
    if (plan === null || bytes.length === 0 || bytes.indexOf(0x0a) >= 0 || bytes.indexOf(0x0d) >= 0) return null;
    if (this.scanner === null) {
      this.scanner = new FastScanner(plan, Number.MAX_SAFE_INTEGER, (result) => {
        this.scanned = result;
      });
    }
    const scanner = this.scanner;
    scanner.handOver = false;
    this.scanned = null;
    scanner.scan(bytes, 0, true, { offset: 0, line: record + 1, record });
    const result = this.takeScanned();
    if (scanner.handOver || result === null) return null;
    if (result instanceof CsvError) return { kind: 'data', result: atEntry(result, id, record), raw: bytes.toString('latin1') };
    // The raw text is only for skip reports: a Sample needs none.
    return { kind: 'data', result: { x: result.x, target: result.target, label: result.label, origin: this.origin(id, record) }, raw: '' };
  }

  private takeScanned(): Sample | CsvError | null {
    const result = this.scanned;
    this.scanned = null;
    return result;
  }

  private origin(id: string, record: number): Sample['origin'] {
    return { source: this.name, line: record + 1, record, endOffset: 0, id };
  }

  private row(id: string, line: string, record: number): DecodedEntry {
    const fields = this.split(id, line, record);
    if (this.plan === null) {
      const o = this.options;
      if (o.columns !== undefined) this.plan = atEntryOf(id, record, () => resolvePlan(this.name, 0, null, o.columns?.length ?? 0, o));
      else if (o.hasHeader === false) this.plan = atEntryOf(id, record, () => resolvePlan(this.name, 0, null, fields.length, o));
      else {
        throw entryError(this.name, id, record, 'CSV_SCHEMA_MISMATCH', 'a row before any header entry: publish the header first (an entry header=<CSV header line>, as deltaflow publish does), or pass columns, or hasHeader: false');
      }
    }
    if (line === '') return { kind: 'data', result: entryError(this.name, id, record, 'CSV_EMPTY_LINE', 'empty row'), raw: '' };
    const result = convertRecord(this.plan, fields, this.origin(id, record));
    return { kind: 'data', result: result instanceof CsvError ? atEntry(result, id, record) : result, raw: line };
  }

  private fieldForm(id: string, texts: readonly string[], record: number): DecodedEntry {
    if (this.plan === null) {
      const names: string[] = [];
      for (let i = 0; i < texts.length; i += 2) names.push(texts[i]);
      const declared = this.options.columns;
      this.plan = atEntryOf(id, record, () =>
        declared !== undefined
          ? resolvePlan(this.name, 0, null, declared.length, this.options)
          : resolvePlan(this.name, 0, checkHeader(this.name, 0, names), names.length, this.options),
      );
    }
    const plan = this.plan;
    const names = plan.names ?? this.options.columns ?? [];
    if (this.fieldIndex === null) this.fieldIndex = new Map(names.map((n, i) => [n, i]));
    const index = this.fieldIndex;
    const fields = new Array<string>(names.length);
    const seen = new Uint8Array(names.length);
    const rowLevel = (detail: string): DecodedEntry => ({
      kind: 'data',
      result: entryError(this.name, id, record, 'CSV_RECORD_INCONSISTENT_COLUMNS', detail),
      raw: rawFields(texts),
    });
    for (let i = 0; i < texts.length; i += 2) {
      const col = index.get(texts[i]);
      if (col === undefined) return rowLevel(`unknown column ${JSON.stringify(texts[i])}; the columns are ${names.map((n) => JSON.stringify(n)).join(', ')}`);
      if (seen[col] === 1) return rowLevel(`column ${JSON.stringify(texts[i])} given twice`);
      seen[col] = 1;
      fields[col] = texts[i + 1];
    }
    const missing = seen.indexOf(0);
    if (missing >= 0) return rowLevel(`missing column ${JSON.stringify(names[missing])}`);
    const result = convertRecord(plan, fields, this.origin(id, record));
    return { kind: 'data', result: result instanceof CsvError ? atEntry(result, id, record) : result, raw: fields.map(csvQuote).join(',') };
  }
}

function rawFields(texts: readonly string[]): string {
  const parts: string[] = [];
  for (let i = 0; i < texts.length; i += 2) parts.push(`${texts[i]}=${texts[i + 1]}`);
  return parts.join(' ');
}
