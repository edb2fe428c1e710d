/**
 * From CSV columns to Sample fields: which column is the label, which are features or targets
 * (resolved once, from the header or the first row), and how each field's text becomes a number.
 *
 * Value grammar (RELIABILITY.md cases 18–24), the same for features, labels and targets:
 *   - a value is a strict decimal `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`, then
 *     `Number.isFinite`; `0x10`, `0b1`, `0o7`, `NaN`, `Infinity`, `1e400`, `1,5`, `12abc` and NUL are
 *     rejected with the literal shown, never turned into 0, 16 or NaN;
 *   - WHITESPACE CHOICE (case 24): spaces and tabs around a field are trimmed and `" 3 "` reads as 3.
 *     The same trimming applies everywhere: values, labels, class names, header names. Only ASCII
 *     space (0x20) and tab (0x09) are trimmed; any other character (NBSP, `\v`, `\f`, NUL) makes the
 *     field "not a number". A field that is empty after trimming is a missing value.
 *
 * A feature value becomes `x = (v · scale − a[i]) / b[i]` (or `v · scale` without `normalize`),
 * computed in float64 and stored as float32, by `storeFeature` — the one expression both readers use.
 */
import {
  type CsvError,
  type CsvRowCode,
  fieldCountError,
  headerError,
  listNames,
  showLiteral,
  valueError,
} from './csvErrors.js';
import type { RowOrigin, Sample } from '../types.js';

/** Schema options of `fromCsv`; see `CsvSourceOptions` there for each one's documentation. */
export interface SchemaOptions {
  readonly hasHeader?: boolean;
  readonly columns?: readonly string[];
  readonly label?: string | number;
  readonly features?: readonly (string | number)[];
  readonly task?: 'classify' | 'regress' | 'predict';
  readonly classes?: number | readonly string[];
  readonly targets?: readonly (string | number)[];
  readonly scale?: number;
  readonly normalize?: { readonly kind: 'zscore' | 'minmax'; readonly a: readonly number[]; readonly b: readonly number[] };
  readonly shape?: readonly [number, number, number];
  readonly id?: string | number;
  readonly keep?: readonly (string | number)[];
}

/** What each column is for. */
export const ROLE_SKIP = 0;
export const ROLE_FEATURE = 1;
export const ROLE_LABEL = 2;
export const ROLE_TARGET = 3;

/** The resolved columns of one source: built once, read for every row. */
export interface ColumnPlan {
  readonly source: string;
  readonly nFields: number;
  /** Trimmed header names, or null without a header. */
  readonly names: readonly string[] | null;
  /** `role[col]`: ROLE_SKIP, ROLE_FEATURE, ROLE_LABEL or ROLE_TARGET. */
  readonly role: Uint8Array;
  /** `slot[col]`: index into `x` for a feature, into `target` for a regression target. */
  readonly slot: Int32Array;
  readonly nX: number;
  /** Length of `Sample.target`: the class count (one-hot) or the number of regression targets. */
  readonly nTarget: number;
  readonly isClassify: boolean;
  /** Features only (task 'predict'): no label nor target column; `target` is empty and `label` −1. */
  readonly isPredict: boolean;
  /** Class names → index when classes are names; null when labels are integers. */
  readonly classIndex: ReadonlyMap<string, number> | null;
  readonly classNames: readonly string[] | null;
  readonly scale: number;
  /** Per-feature normalization `(x − a) / b`, or null. */
  readonly a: Float64Array | null;
  readonly b: Float64Array | null;
  /** Appended to field-count messages when a shape fixes the feature count. */
  readonly shapeNote: string;
  /**
   * `keepSlot[col]`: index into `Sample.kept` of a kept column, or −1; independent of `role` (a
   * feature can be kept too). Null when nothing is kept.
   */
  readonly keepSlot: Int32Array | null;
  readonly nKept: number;
  /** The id column (its text becomes `origin.id`), or −1. */
  readonly idCol: number;
}

// ───────────────────────────── options ─────────────────────────────

function fail(option: string, rule: string, value: unknown): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new TypeError(`fromCsv: option "${option}" must be ${rule}, got ${shown}`);
}

function isColumnRef(v: unknown): v is string | number {
  return typeof v === 'string' || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0);
}

/** Checks the schema options at `fromCsv(...)` time, before anything is read. Throws TypeError. */
export function checkSchemaOptions(o: SchemaOptions): void {
  const hasNames = (o.hasHeader ?? true) || o.columns !== undefined;
  if (o.columns !== undefined) {
    const c = o.columns;
    if (!Array.isArray(c) || c.length === 0 || !c.every((n) => typeof n === 'string' && trimField(n) !== '')) {
      fail('columns', 'a non-empty list of non-empty column names', c);
    }
    if (new Set(c.map(trimField)).size !== c.length) fail('columns', 'a list of distinct names', c);
  }
  const refs = (name: string, list: unknown): void => {
    if (list === undefined) return;
    if (!Array.isArray(list) || list.length === 0 || !list.every(isColumnRef)) {
      fail(name, 'a non-empty list of column names or 0-based indices', list);
    }
    if (new Set(list).size !== list.length) fail(name, 'a list without repeats', list);
    if (!hasNames && list.some((r) => typeof r === 'string')) fail(name, 'column indices when there is no header nor columns', list);
  };
  if (o.label !== undefined && !isColumnRef(o.label)) fail('label', 'a column name or 0-based index', o.label);
  if (typeof o.label === 'string' && !hasNames) fail('label', 'a column index when there is no header nor columns', o.label);
  // An empty feature list is allowed: rows that carry only a label (a stream of late labels).
  if (!(Array.isArray(o.features) && o.features.length === 0)) refs('features', o.features);
  refs('targets', o.targets);
  refs('keep', o.keep);
  if (o.id !== undefined && !isColumnRef(o.id)) fail('id', 'a column name or 0-based index', o.id);
  if (typeof o.id === 'string' && !hasNames) fail('id', 'a column index when there is no header nor columns', o.id);
  const task = o.task ?? 'classify';
  if (task !== 'classify' && task !== 'regress' && task !== 'predict') fail('task', "'classify', 'regress' or 'predict'", o.task);
  if (task === 'predict') {
    if (o.label !== undefined) fail('label', "unset for task 'predict' (features only)", o.label);
    if (o.targets !== undefined) fail('targets', "unset for task 'predict' (features only)", o.targets);
    if (o.classes !== undefined) fail('classes', "unset for task 'predict' (features only)", o.classes);
  }
  if (task === 'classify') {
    const c = o.classes;
    if (typeof c === 'number') {
      if (!Number.isSafeInteger(c) || c < 1) fail('classes', 'a positive integer or a list of class names', c);
    } else if (Array.isArray(c)) {
      const names = c.map((n) => (typeof n === 'string' ? trimField(n) : n));
      if (names.length === 0 || !names.every((n) => typeof n === 'string' && n !== '')) {
        fail('classes', 'a non-empty list of non-empty class names', c);
      }
      if (new Set(names).size !== names.length) fail('classes', 'a list of distinct class names', c);
    } else {
      fail('classes', "a class count or a list of class names (required for task 'classify')", c);
    }
    if (o.targets !== undefined) fail('targets', "unset for task 'classify' (use label)", o.targets);
  }
  if (o.scale !== undefined && !(typeof o.scale === 'number' && Number.isFinite(o.scale))) {
    fail('scale', 'a finite number', o.scale);
  }
  if (o.shape !== undefined) {
    const s = o.shape;
    if (!Array.isArray(s) || s.length !== 3 || !s.every((d) => Number.isSafeInteger(d) && d > 0)) {
      fail('shape', '[c, h, w] with positive integers', s);
    }
  }
  const n = o.normalize;
  if (n !== undefined) {
    if (n.kind !== 'zscore' && n.kind !== 'minmax') fail('normalize.kind', "'zscore' or 'minmax'", n.kind);
    if (!Array.isArray(n.a) || !n.a.every((v) => Number.isFinite(v))) fail('normalize.a', 'a list of finite numbers', n.a);
    if (!Array.isArray(n.b) || !n.b.every((v) => Number.isFinite(v) && v > 0)) {
      fail('normalize.b', 'a list of finite positive numbers (a constant feature needs b = 1, not 0)', n.b);
    }
    if (n.a.length !== n.b.length) fail('normalize.b', `as long as normalize.a (${n.a.length})`, n.b.length);
  }
}

// ───────────────────────────── header → plan ─────────────────────────────

/** The decimal grammar of a value (after trimming). `\d` is ASCII-only without the `u` flag. */
export const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** Strips ASCII spaces and tabs at both ends (the documented whitespace choice). */
export function trimField(text: string): string {
  let i = 0;
  let j = text.length;
  while (i < j && (text.charCodeAt(i) === 0x20 || text.charCodeAt(i) === 0x09)) i++;
  while (j > i && (text.charCodeAt(j - 1) === 0x20 || text.charCodeAt(j - 1) === 0x09)) j--;
  return i === 0 && j === text.length ? text : text.slice(i, j);
}

/**
 * Checks the header (numeric-looking, empty names, duplicates) and returns the trimmed names.
 * Always fatal: a file whose columns cannot be named cannot be read safely.
 */
export function checkHeader(source: string, line: number, fields: readonly string[]): string[] {
  const names = fields.map(trimField);
  if (names.every((n) => DECIMAL.test(n))) {
    throw headerError(
      source,
      line,
      'CSV_NUMERIC_HEADER',
      `the header looks like data (${listNames(names, 4)}); if the file has no header, pass hasHeader: false`,
    );
  }
  const seen = new Map<string, number>();
  for (let i = 0; i < names.length; i++) {
    if (names[i] === '') {
      throw headerError(source, line, 'CSV_EMPTY_COLUMN_NAME', `empty column name at field ${i + 1}`, i + 1, fields[i]);
    }
    const first = seen.get(names[i]);
    if (first !== undefined) {
      throw headerError(
        source,
        line,
        'CSV_DUPLICATE_COLUMN',
        `duplicate column ${JSON.stringify(names[i])} (fields ${first + 1} and ${i + 1})`,
        i + 1,
        names[i],
      );
    }
    seen.set(names[i], i);
  }
  return names;
}

/**
 * Resolves label, features and targets against the header (or, without one, the first row's field
 * count). Structural errors name the header line and list what was expected against what was found.
 */
export function resolvePlan(
  source: string,
  line: number,
  header: readonly string[] | null,
  firstRowFields: number,
  o: SchemaOptions,
): ColumnPlan {
  const mismatch = (detail: string): never => {
    throw headerError(source, line, 'CSV_SCHEMA_MISMATCH', detail);
  };
  const declared = o.columns?.map(trimField) ?? null;
  if (header !== null && declared !== null && declared.join('\u0000') !== header.join('\u0000')) {
    mismatch(`the header does not match the declared columns: expected ${listNames(declared, 12)}; found ${listNames(header, 12)}`);
  }
  const names = header ?? declared;
  const nFields = names === null ? firstRowFields : names.length;
  const found =
    header !== null
      ? `the header has ${listNames(header)}`
      : names !== null
        ? `the declared columns are ${listNames(names)}`
        : `the rows have ${nFields} fields`;
  const resolve = (ref: string | number, what: string): number => {
    if (typeof ref === 'number') {
      if (ref >= nFields) mismatch(`${what} column ${ref} (0-based) does not exist; ${found}`);
      return ref;
    }
    const col = names === null ? -1 : names.indexOf(ref);
    if (col < 0) mismatch(`${what} column ${JSON.stringify(ref)} not found; ${found}`);
    return col;
  };
  const isClassify = (o.task ?? 'classify') === 'classify';
  const isPredict = o.task === 'predict';
  const labelCol = isPredict
    ? -1
    : o.label !== undefined
      ? resolve(o.label, 'label')
      : names !== null && names.includes('label')
        ? names.indexOf('label')
        : 0;
  const targetCols = isClassify || isPredict ? [] : o.targets !== undefined ? o.targets.map((t) => resolve(t, 'target')) : [labelCol];

  const role = new Uint8Array(nFields);
  const slot = new Int32Array(nFields).fill(-1);
  if (isClassify) role[labelCol] = ROLE_LABEL;
  targetCols.forEach((col, i) => {
    role[col] = ROLE_TARGET;
    slot[col] = i;
  });
  const nameOf = (col: number): string => (names === null ? `${col}` : JSON.stringify(names[col]));
  const featureCols: number[] = [];
  if (o.features !== undefined) {
    for (const ref of o.features) {
      const col = resolve(ref, 'feature');
      if (role[col] !== ROLE_SKIP) {
        mismatch(`column ${nameOf(col)} cannot be both a feature and the ${isClassify ? 'label' : 'target'}`);
      }
      featureCols.push(col);
    }
  } else {
    for (let col = 0; col < nFields; col++) if (role[col] === ROLE_SKIP) featureCols.push(col);
  }
  if (featureCols.length === 0 && o.features === undefined) mismatch(`no feature columns left; ${found}`);
  featureCols.forEach((col, i) => {
    role[col] = ROLE_FEATURE;
    slot[col] = i;
  });
  const nX = featureCols.length;

  let shapeNote = '';
  if (o.shape !== undefined) {
    const [c, h, w] = o.shape;
    const shapeText = `[${c}, ${h}, ${w}]`;
    if (c * h * w !== nX) {
      throw headerError(
        source,
        line,
        'CSV_SHAPE_MISMATCH',
        `shape ${shapeText} needs ${c * h * w} feature columns (c·h·w), found ${nX}`,
      );
    }
    shapeNote = ` (shape ${shapeText} needs ${nX} features)`;
  }
  let a: Float64Array | null = null;
  let b: Float64Array | null = null;
  if (o.normalize !== undefined) {
    if (o.normalize.a.length !== nX) {
      mismatch(`normalize has ${o.normalize.a.length} values per statistic, but there are ${nX} features`);
    }
    a = Float64Array.from(o.normalize.a);
    b = Float64Array.from(o.normalize.b);
  }
  const keepCols = (o.keep ?? []).map((ref) => resolve(ref, 'kept'));
  let keepSlot: Int32Array | null = null;
  if (keepCols.length > 0) {
    keepSlot = new Int32Array(nFields).fill(-1);
    keepCols.forEach((col, i) => {
      if (keepSlot !== null) keepSlot[col] = i;
    });
  }
  const idCol = o.id === undefined ? -1 : resolve(o.id, 'id');
  const classNames = isClassify && Array.isArray(o.classes) ? o.classes.map(trimField) : null;
  const nClasses = typeof o.classes === 'number' ? o.classes : classNames === null ? 0 : classNames.length;
  return {
    source,
    nFields,
    names,
    role,
    slot,
    nX,
    nTarget: isClassify ? nClasses : targetCols.length,
    isClassify,
    isPredict,
    classIndex: classNames === null ? null : new Map(classNames.map((n, i) => [n, i])),
    classNames,
    scale: o.scale ?? 1,
    a,
    b,
    shapeNote,
    keepSlot,
    nKept: keepCols.length,
    idCol,
  };
}

// ───────────────────────────── values ─────────────────────────────

/** Why a field is not a usable number. */
export interface ValueProblem {
  readonly code: CsvRowCode;
  readonly detail: string;
}

const NON_FINITE_WORD = /^[+-]?(nan|inf|infinity)$/i;
const MISSING_WORD = /^(na|n\/a|null|none|nil)$/i;
const OTHER_BASE = /^[+-]?0[xXbBoO]/;

/** Converts one field's text by the grammar in the file comment: a finite number, or why not. */
export function parseValue(text: string): number | ValueProblem {
  const t = trimField(text);
  if (DECIMAL.test(t)) {
    const v = Number(t);
    if (Number.isFinite(v)) return v;
    return { code: 'CSV_NON_FINITE', detail: `${showLiteral(text)} is not a finite number (it overflows)` };
  }
  if (t === '') {
    const detail = text === '' ? 'missing value (empty field)' : `missing value (${showLiteral(text)} is blank)`;
    return { code: 'CSV_MISSING_VALUE', detail };
  }
  if (MISSING_WORD.test(t)) return { code: 'CSV_MISSING_VALUE', detail: `${showLiteral(text)} is a missing value` };
  if (NON_FINITE_WORD.test(t)) return { code: 'CSV_NON_FINITE', detail: `${showLiteral(text)} is not a finite number` };
  if (OTHER_BASE.test(t)) return { code: 'CSV_NOT_A_NUMBER', detail: `${showLiteral(text)} is not a decimal number` };
  return { code: 'CSV_NOT_A_NUMBER', detail: `${showLiteral(text)} is not a number` };
}

/** The class index of a label's text, or the reason it is not one (`label 10 not in [0,10)`). */
export function parseLabel(plan: ColumnPlan, text: string): number | string {
  const t = trimField(text);
  if (plan.classIndex !== null) {
    const k = plan.classIndex.get(t);
    if (k !== undefined) return k;
    return `label ${showLiteral(t)} is not one of the ${plan.nTarget} classes ${listNames(plan.classNames ?? [])}`;
  }
  return labelFromNumber(plan, t, DECIMAL.test(t) ? Number(t) : NaN);
}

/** The class index of a numeric label `v` written as `t`, or the reason it is not one. */
export function labelFromNumber(plan: ColumnPlan, t: string, v: number): number | string {
  const n = plan.nTarget;
  if (Number.isNaN(v)) return `label ${showLiteral(t)} is not a number (classes are 0…${n - 1})`;
  if (!Number.isInteger(v)) return `label ${t} is not an integer in [0,${n})`;
  if (v < 0 || v >= n) return `label ${t} not in [0,${n})`;
  return v + 0; // -0 → 0
}

/** `x[at] = (v · scale − a[slot]) / b[slot]` (`at` defaults to `slot`): the one feature transform both readers use. */
export function storeFeature(plan: ColumnPlan, x: Float32Array, at: number, v: number, slot = at): void {
  const { a, b } = plan;
  x[at] = a === null || b === null ? v * plan.scale : (v * plan.scale - a[slot]) / b[slot];
}

function columnName(plan: ColumnPlan, col: number): string | undefined {
  return plan.names === null ? undefined : plan.names[col];
}

/**
 * One record's fields → a Sample, or the row-level error of its first bad field (left to right).
 * This is the reference conversion: the fast reader must agree with it on every input.
 */
export function convertRecord(plan: ColumnPlan, fields: readonly string[], origin: RowOrigin): Sample | CsvError {
  const { source, line } = origin;
  if (fields.length !== plan.nFields) return fieldCountError(source, line, plan.nFields, fields.length, plan.shapeNote);
  if (plan.idCol >= 0) origin = { ...origin, id: trimField(fields[plan.idCol]) };
  const x = new Float32Array(plan.nX);
  const target = new Float32Array(plan.nTarget);
  let label = -1;
  for (let col = 0; col < plan.nFields; col++) {
    const role = plan.role[col];
    if (role === ROLE_SKIP) continue;
    const text = fields[col];
    if (role === ROLE_LABEL) {
      const k = parseLabel(plan, text);
      if (typeof k === 'string') {
        return valueError(source, line, col + 1, columnName(plan, col), 'CSV_BAD_LABEL', text, k);
      }
      label = k;
      continue;
    }
    const v = parseValue(text);
    if (typeof v !== 'number') return valueError(source, line, col + 1, columnName(plan, col), v.code, text, v.detail);
    if (role === ROLE_FEATURE) storeFeature(plan, x, plan.slot[col], v);
    else target[plan.slot[col]] = v;
  }
  if (label >= 0) target[label] = 1;
  const { keepSlot } = plan;
  if (keepSlot === null) return { x, target, label, origin };
  const kept = new Array<string>(plan.nKept);
  for (let col = 0; col < plan.nFields; col++) if (keepSlot[col] >= 0) kept[keepSlot[col]] = trimField(fields[col]);
  return { x, target, label, origin, kept };
}
