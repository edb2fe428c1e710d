/**
 * Rows of a request, validated exactly as the command line validates CSV rows: the column plan and
 * `convertRecord` of src/streams/sources/csvSchema.ts, built from the model's data description
 * (scripts/commands/meta.ts: features by name, scale, normalize, class names), so a value the CLI
 * rejects in a file is rejected here with the same words, and a value it accepts gives the same x.
 *
 * Two encodings:
 *   application/json  an array of objects keyed by column name: `[{"x": 1.5, "y": "2", "id": "r1"}]`;
 *                     a value is a JSON number or a string in the CSV grammar (`"0x10"`, `"NaN"`,
 *                     `""` and `null` are refused as in a file); keys the model does not read are
 *                     ignored, as `predict` ignores extra columns.
 *   text/csv          a header, then rows (RFC 4180 quoting, `\n`, `\r\n` or `\r` line endings).
 *
 * `/learn` items are labelled rows (every feature and the label column(s)) or late labels (the id
 * and the label column(s), no feature): `{"id": "r1", "species": "setosa"}` — or, when the model has
 * one label column, `{"id": "r1", "label": "setosa"}`. In CSV a request is one or the other, as its
 * header says. Errors are 400s naming the row index (0-based, the JSON array index or the CSV data
 * row) and the column: `row 3, column "x2": "abc" is not a number`; CSV ones also give the body's
 * `line:field`.
 */
import { parse as parseCsvSync } from 'csv-parse/sync';
import { CsvError, emptyLineError, listNames, place } from '../../src/streams/sources/csvErrors.js';
import { checkHeader, convertRecord, parseLabel, parseValue, resolvePlan, trimField, type ColumnPlan } from '../../src/streams/sources/csvSchema.js';
import type { Sample } from '../../src/streams/types.js';
import { csvOptions, type DataMeta } from '../commands/meta.js';
import type { MediaType } from './body.js';
import { HttpError } from './httpError.js';

/** Longest id accepted (ids are compared as text). */
export const MAX_ID_LENGTH = 256;

/** How a model's requests are read. */
export interface RowSchema {
  readonly meta: DataMeta;
  /** The column (JSON key) that carries a row's id. */
  readonly idColumn: string;
  readonly maxRows: number;
  /** Features only (`/predict`): header = meta.features. */
  readonly featurePlan: ColumnPlan;
  /** Features then label column(s) (`/learn`): header = [...meta.features, ...meta.label]. */
  readonly labelledPlan: ColumnPlan;
  /** The JSON key `label` also names the one label column (when no column is called `label`). */
  readonly hasLabelAlias: boolean;
}

export interface PredictRow {
  readonly index: number;
  readonly sample: Sample;
  readonly id: string | null;
}

/** A `/learn` item: a row with its label, or the label of an earlier prediction. */
export type LearnItem =
  | { readonly kind: 'row'; readonly index: number; readonly sample: Sample; readonly id: string | null }
  | { readonly kind: 'label'; readonly index: number; readonly id: string; readonly target: Float32Array; readonly label: number };

const SOURCE = 'body';

/** The plans of `meta`'s requests; a model whose feature list has the id column is refused. */
export function rowSchema(meta: DataMeta, idColumn: string, maxRows: number): RowSchema {
  if (meta.features.includes(idColumn) || meta.label.includes(idColumn)) {
    throw new Error(`--id ${idColumn}: the model reads "${idColumn}" as a ${meta.features.includes(idColumn) ? 'feature' : 'label'}; name another id column with --id`);
  }
  const features = meta.features;
  const { name: _name, ...labelled } = csvOptions(meta);
  const shape = labelled.shape;
  const featurePlan = resolvePlan(SOURCE, 1, features, features.length, {
    task: 'predict',
    features,
    scale: meta.scale,
    ...(meta.normalize === null ? {} : { normalize: meta.normalize }),
    ...(shape === undefined ? {} : { shape }),
  });
  const header = [...features, ...meta.label];
  const labelledPlan = resolvePlan(SOURCE, 1, header, header.length, labelled);
  const hasLabelAlias = meta.label.length === 1 && !header.includes('label') && idColumn !== 'label';
  return { meta, idColumn, maxRows, featurePlan, labelledPlan, hasLabelAlias };
}

// ───────────────────────────── shared checks ─────────────────────────────

function tooManyRows(n: number, max: number): HttpError {
  return new HttpError(413, 'too_many_rows', `the request has ${n} rows, more than the limit of ${max} (--max-rows)`);
}

function badRow(message: string): HttpError {
  return new HttpError(400, 'bad_row', message);
}

/** A CsvError of convertRecord as `row i, column "x": detail` (JSON) — its place words dropped. */
function jsonRowError(index: number, e: CsvError): HttpError {
  const prefix = `${place(e.source, e.line, e.column, e.columnName)}: `;
  const detail = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
  return badRow(`row ${index}${e.columnName === undefined ? '' : `, column ${JSON.stringify(e.columnName)}`}: ${detail}`);
}

/** An id's text: a non-empty string of at most MAX_ID_LENGTH characters, or a safe integer. */
function idText(value: unknown, index: number, column: string): string {
  const text = typeof value === 'number' && Number.isSafeInteger(value) ? String(value) : typeof value === 'string' ? trimField(value) : null;
  if (text === null) return failId(index, column, `must be a string or an integer, got ${value === null ? 'null' : typeof value}`);
  if (text === '') return failId(index, column, 'is empty');
  if (text.length > MAX_ID_LENGTH) return failId(index, column, `is longer than ${MAX_ID_LENGTH} characters`);
  return text;
}

function failId(index: number, column: string, why: string): never {
  throw badRow(`row ${index}, column ${JSON.stringify(column)}: the id ${why}`);
}

// ───────────────────────────── JSON ─────────────────────────────

type JsonRow = Readonly<Record<string, unknown>>;

function jsonRows(text: string, maxRows: number): JsonRow[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'bad_request', `the body is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(doc)) throw new HttpError(400, 'bad_request', 'the body must be a JSON array of rows (objects keyed by column name)');
  if (doc.length > maxRows) throw tooManyRows(doc.length, maxRows);
  if (doc.length === 0) throw new HttpError(400, 'bad_request', 'the body has no rows');
  return doc.map((row: unknown, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw badRow(`row ${i}: expected an object keyed by column name, got ${row === null ? 'null' : Array.isArray(row) ? 'an array' : typeof row}`);
    }
    return row as JsonRow;
  });
}

const has = (row: JsonRow, key: string): boolean => Object.hasOwn(row, key);

/** The fields of `row` in `names` order, as CSV text; a missing key or a non-scalar value is a 400. */
function jsonFields(row: JsonRow, names: readonly string[], index: number, rename: ReadonlyMap<string, string>): string[] {
  return names.map((name) => {
    const key = rename.get(name) ?? name;
    if (!has(row, key)) throw badRow(`row ${index}, column ${JSON.stringify(name)}: missing`);
    const v = row[key];
    // JSON.parse reads 1e400 as Infinity: refused here, as the same text is in a CSV file.
    if (typeof v === 'number' && !Number.isFinite(v)) throw badRow(`row ${index}, column ${JSON.stringify(name)}: the number is not finite (it overflows)`);
    if (typeof v === 'number') return String(v);
    if (typeof v === 'string') return v;
    throw badRow(`row ${index}, column ${JSON.stringify(name)}: expected a number or a string, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  });
}

function jsonSample(plan: ColumnPlan, fields: readonly string[], index: number): Sample {
  const result = convertRecord(plan, fields, { source: SOURCE, line: index, record: index, endOffset: 0 });
  if (result instanceof CsvError) throw jsonRowError(index, result);
  return result;
}

/** The key the one label column is given under in `row`: its name, or `label`. */
function labelKeys(schema: RowSchema, row: JsonRow, index: number): ReadonlyMap<string, string> {
  const name = schema.meta.label[0];
  if (!schema.hasLabelAlias || !has(row, 'label')) return new Map();
  if (has(row, name)) throw badRow(`row ${index}: both "label" and ${JSON.stringify(name)} are given; use one`);
  return new Map([[name, 'label']]);
}

function optionalId(schema: RowSchema, row: JsonRow, index: number): string | null {
  return has(row, schema.idColumn) ? idText(row[schema.idColumn], index, schema.idColumn) : null;
}

// ───────────────────────────── CSV ─────────────────────────────

interface CsvRecord {
  readonly fields: string[];
  readonly line: number;
  readonly index: number;
}

/** A csv-parse record with `info: true, raw: true` (its typings do not describe that mode). */
interface InfoRecord {
  readonly record: string[];
  readonly info: { readonly lines: number };
  readonly raw: string;
}

function isInfoRecord(v: unknown): v is InfoRecord {
  if (v === null || typeof v !== 'object' || !('record' in v) || !('info' in v) || !('raw' in v)) return false;
  const { record, info, raw } = v;
  return Array.isArray(record) && typeof raw === 'string' && info !== null && typeof info === 'object' && 'lines' in info && typeof info.lines === 'number';
}

function csvRecords(text: string, maxRows: number, maxRecordSize: number): { header: string[]; records: CsvRecord[] } {
  let out: unknown;
  try {
    out = parseCsvSync(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, {
      delimiter: ',',
      quote: '"',
      escape: '"',
      record_delimiter: ['\r\n', '\n', '\r'],
      relax_column_count: true,
      max_record_size: maxRecordSize,
      info: true,
      raw: true,
    });
  } catch (e) {
    throw new HttpError(400, 'bad_request', `the CSV body cannot be parsed: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(out) || !out.every(isInfoRecord)) throw new Error('csv-parse: unexpected result shape with info and raw');
  const parsed: InfoRecord[] = out;
  if (parsed.length === 0) throw new HttpError(400, 'bad_request', 'the body has no header');
  let header: string[];
  try {
    header = checkHeader(SOURCE, 1, parsed[0].record);
  } catch (e) {
    throw new HttpError(400, 'bad_request', e instanceof Error ? e.message : String(e));
  }
  if (parsed.length - 1 > maxRows) throw tooManyRows(parsed.length - 1, maxRows);
  if (parsed.length === 1) throw new HttpError(400, 'bad_request', 'the body has no rows');
  const records = parsed.slice(1).map((r, i) => {
    const line = parsed[i].info.lines + 1;
    const isEmpty = r.record.length === 1 && r.record[0] === '' && (r.raw.startsWith('\n') || r.raw.startsWith('\r'));
    if (isEmpty) throw badRow(`row ${i}: ${emptyLineError(SOURCE, line).message}`);
    return { fields: r.record, line, index: i };
  });
  return { header, records };
}

/** A plan for `header` with `options`, or a 400 with its header error. */
function csvPlan(header: readonly string[], options: Parameters<typeof resolvePlan>[4]): ColumnPlan {
  try {
    return resolvePlan(SOURCE, 1, header, header.length, options);
  } catch (e) {
    throw new HttpError(400, 'bad_request', e instanceof Error ? e.message : String(e));
  }
}

function csvSample(plan: ColumnPlan, rec: CsvRecord): Sample {
  const result = convertRecord(plan, rec.fields, { source: SOURCE, line: rec.line, record: rec.index, endOffset: 0 });
  if (result instanceof CsvError) throw badRow(`row ${rec.index}: ${result.message}`);
  return result;
}

function csvId(header: readonly string[], idCol: number, rec: CsvRecord): string | null {
  return idCol < 0 ? null : idText(rec.fields[idCol], rec.index, header[idCol]);
}

function missingFeatures(schema: RowSchema, header: readonly string[]): string[] {
  return schema.meta.features.filter((f) => !header.includes(f));
}

// ───────────────────────────── labels ─────────────────────────────

/** A late label's target: the one-hot of its class, or the raw target values (regression). */
function lateLabel(schema: RowSchema, texts: readonly string[], where: (j: number) => string): { target: Float32Array; label: number } {
  const plan = schema.labelledPlan;
  const target = new Float32Array(plan.nTarget);
  if (plan.isClassify) {
    const k = parseLabel(plan, texts[0]);
    if (typeof k === 'string') throw badRow(`${where(0)}: ${k}`);
    target[k] = 1;
    return { target, label: k };
  }
  texts.forEach((t, j) => {
    const v = parseValue(t);
    if (typeof v !== 'number') throw badRow(`${where(j)}: ${v.detail}`);
    target[j] = v;
  });
  return { target, label: -1 };
}

// ───────────────────────────── requests ─────────────────────────────

export interface ReadLimits {
  readonly maxRecordSize: number;
}

/** The rows of a `/predict` body. */
export function predictRows(schema: RowSchema, text: string, type: MediaType, limits: ReadLimits): PredictRow[] {
  if (type === 'application/json') {
    return jsonRows(text, schema.maxRows).map((row, index) => ({
      index,
      sample: jsonSample(schema.featurePlan, jsonFields(row, schema.meta.features, index, new Map()), index),
      id: optionalId(schema, row, index),
    }));
  }
  const { header, records } = csvRecords(text, schema.maxRows, limits.maxRecordSize);
  const missing = missingFeatures(schema, header);
  if (missing.length > 0) throw new HttpError(400, 'bad_request', `the header lacks the model's feature column(s) ${listNames(missing)}`);
  const plan = csvPlan(header, { task: 'predict', features: schema.meta.features, scale: schema.meta.scale, ...(schema.meta.normalize === null ? {} : { normalize: schema.meta.normalize }) });
  const idCol = header.indexOf(schema.idColumn);
  return records.map((rec) => ({ index: rec.index, sample: csvSample(plan, rec), id: csvId(header, idCol, rec) }));
}

/** The items of a `/learn` body, in order. */
export function learnItems(schema: RowSchema, text: string, type: MediaType, limits: ReadLimits): LearnItem[] {
  const { meta, idColumn } = schema;
  if (type === 'application/json') {
    return jsonRows(text, schema.maxRows).map((row, index): LearnItem => {
      const rename = labelKeys(schema, row, index);
      const hasFeature = meta.features.some((f) => has(row, f));
      if (!hasFeature && has(row, idColumn)) {
        const id = idText(row[idColumn], index, idColumn);
        const texts = jsonFields(row, meta.label, index, rename);
        return { kind: 'label', index, id, ...lateLabel(schema, texts, (j) => `row ${index}, column ${JSON.stringify(meta.label[j])}`) };
      }
      const names = [...meta.features, ...meta.label];
      return { kind: 'row', index, sample: jsonSample(schema.labelledPlan, jsonFields(row, names, index, rename), index), id: optionalId(schema, row, index) };
    });
  }
  const { header, records } = csvRecords(text, schema.maxRows, limits.maxRecordSize);
  const idCol = header.indexOf(idColumn);
  const missing = missingFeatures(schema, header);
  if (missing.length === meta.features.length && idCol >= 0) {
    const labelCols = meta.label.map((name) => header.indexOf(schema.hasLabelAlias && !header.includes(name) ? 'label' : name));
    const absent = meta.label.filter((_, j) => labelCols[j] < 0);
    if (absent.length > 0) throw new HttpError(400, 'bad_request', `a header of late labels needs ${JSON.stringify(idColumn)} and the label column(s) ${listNames(meta.label)}; ${listNames(absent)} missing`);
    return records.map((rec): LearnItem => {
      if (rec.fields.length !== header.length) throw badRow(`row ${rec.index}: ${place(SOURCE, rec.line)}: expected ${header.length} fields, got ${rec.fields.length}`);
      const id = idText(rec.fields[idCol], rec.index, idColumn);
      const texts = labelCols.map((c) => rec.fields[c]);
      const where = (j: number): string => `row ${rec.index}: ${place(SOURCE, rec.line, labelCols[j] + 1, header[labelCols[j]])}`;
      return { kind: 'label', index: rec.index, id, ...lateLabel(schema, texts, where) };
    });
  }
  if (missing.length > 0) throw new HttpError(400, 'bad_request', `the header lacks the model's feature column(s) ${listNames(missing)} (a header of late labels has ${JSON.stringify(idColumn)} and the label column(s) only)`);
  const { name: _name, ...options } = csvOptions(meta);
  const plan = csvPlan(header, options);
  return records.map((rec): LearnItem => ({ kind: 'row', index: rec.index, sample: csvSample(plan, rec), id: csvId(header, idCol, rec) }));
}
