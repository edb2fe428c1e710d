/**
 * The fast CSV reader: a byte scanner that turns unquoted ASCII records straight into Samples,
 * without csv-parse and without a string per field.
 *
 * It handles the simple case only, and hands over to csv-parse (csvParseReader.ts) at the first record that
 * is not simple — a `"` or a byte ≥ 0x80 anywhere in it, or a record longer than the max record size —
 * so quoting, UTF-8 validation and size errors are always csv-parse's path with our own placing.
 * Within the simple case it must agree exactly with `convertRecord` (csvSchema.ts) on csv-parse's
 * fields: the same records (split at `\r\n`, `\n`, lone `\r`), lines, offsets, values and errors.
 * It gets there by doing only what it can prove and deferring the rest:
 *
 * - a field is parsed from bytes when it is a plain decimal with at most 15 significant digits and a
 *   decimal exponent |e| ≤ 22: then m (< 10^15 < 2^53) and 10^|e| are exact doubles and one IEEE
 *   multiplication or division gives the correctly rounded value, which is what `Number(text)` returns
 *   (Clinger's fast path; W. D. Clinger, "How to read floating point numbers accurately", PLDI 1990);
 * - any other field is decoded (latin1 = ASCII here) and given to `parseValue`, the reference grammar;
 * - any record with a problem (field count, bad value, bad label) is split into strings and converted
 *   by `convertRecord`, so its error is the reference error, word for word.
 */
import { type CsvError, emptyLineError } from './csvErrors.js';
import {
  type ColumnPlan,
  ROLE_FEATURE,
  ROLE_LABEL,
  ROLE_SKIP,
  ROLE_TARGET,
  convertRecord,
  parseValue,
  storeFeature,
  trimField,
} from './csvSchema.js';
import type { RowPlacer } from './rowPlacer.js';
import { SampleBlocks } from './sampleBlocks.js';
import type { Sample } from '../types.js';

/** Where the next record starts. */
export interface Cursor {
  /** Absolute byte offset in the input. */
  offset: number;
  /** 1-based line. */
  line: number;
  /** 0-based index among data records. */
  record: number;
}

/** Receives each record's outcome; returns a promise when the reader must wait (gate credit). */
export type RowSink = (result: Sample | CsvError, record: number, raw: () => string) => void | Promise<void>;

/** Where the fast reader gets its chunks, and gives back bytes when it hands over (byteSource.ts). */
export interface ChunkSource {
  next(): Promise<Buffer | null>;
  unshift(bytes: Buffer): void;
}

/** What the fast reader needs of a run (fromCsv's Run). */
export interface FastRun {
  readonly plan: ColumnPlan | null;
  readonly maxRecordSize: number;
  readonly signal: AbortSignal;
  /** Given: good rows are written in place (see RowPlacer); absent: each becomes a new Sample. */
  readonly placer?: RowPlacer | null;
  /** Rows per block of the blocks made on this thread (absent placer): a multiple of this where one fits. */
  readonly alignRows?: number;
  accept(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void>;
}

const LF = 0x0a;
const CR = 0x0d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const SPACE = 0x20;
const TAB = 0x09;
const PLUS = 0x2b;
const MINUS = 0x2d;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;

const NO_RAW = (): string => '';

/** 10^0 … 10^22, every one exact in float64. */
const POW10 = Array.from({ length: 23 }, (_, k) => Number(`1e${k}`));

/** `scan` result when the record is not complete in the buffer yet. */
const NEED_MORE = -1;
/** `scan` result when the record is not simple: csv-parse takes over from its first byte. */
const HAND_OVER = -2;

export class FastScanner {
  /** Set when the sink asked to wait; the caller awaits it, clears it and calls `scan` again. */
  wait: Promise<void> | null = null;
  /** Set when a record is not simple; `scan` returned its start. */
  handOver = false;
  private readonly scanned: FieldScan = { num: NaN, special: false };
  /** `runEnd[col]`: the end of the run of plain feature columns from `col` (see `featureRuns`). */
  private readonly runEnd: Int32Array;

  constructor(
    private readonly plan: ColumnPlan,
    private readonly maxRecordSize: number,
    private readonly sink: RowSink,
    private readonly placer: RowPlacer | null = null,
  ) {
    this.runEnd = featureRuns(plan);
  }

  /**
   * Reads the complete records of `buf` from `from` (a record start, at `cur`), advancing `cur`.
   * Returns the start of the first record not taken: incomplete (unless `isEnd`), not simple
   * (`handOver` set), or after one whose sink call returned a promise (`wait` set).
   */
  scan(buf: Buffer, from: number, isEnd: boolean, cur: Cursor): number {
    let pos = from;
    const { placer, plan } = this;
    while (pos < buf.length) {
      if (placer !== null && !placer.isReady(plan.nX, plan.nTarget)) {
        this.wait = placer.whenReady();
        return pos;
      }
      const next = this.record(buf, pos, isEnd, cur);
      if (next === NEED_MORE) return pos;
      if (next === HAND_OVER) {
        this.handOver = true;
        return pos;
      }
      cur.offset += next - pos;
      pos = next;
      if (this.wait !== null) return pos;
    }
    return pos;
  }

  /** One record from `start`: emits it and returns the index past its line ending, or NEED_MORE / HAND_OVER. */
  private record(buf: Buffer, start: number, isEnd: boolean, cur: Cursor): number {
    const n = buf.length;
    const plan = this.plan;
    const first = buf[start];
    if (first === LF || first === CR) {
      const next = this.lineEnd(buf, start, isEnd);
      if (next === NEED_MORE) return NEED_MORE;
      this.emit(emptyLineError(plan.source, cur.line), cur, '');
      return next;
    }
    const { nFields, role, slot, keepSlot, idCol, scale } = plan;
    // Without normalize a feature is v · scale: storeFeature's expression, inline.
    const isScaleOnly = plan.a === null || plan.b === null;
    const placer = this.placer;
    let x: Float32Array;
    let xAt = 0;
    let target: Float32Array;
    let targetAt = 0;
    if (placer === null) {
      x = new Float32Array(plan.nX);
      target = new Float32Array(plan.nTarget);
    } else {
      ({ x, xAt, target, targetAt } = placer);
      target.fill(0, targetAt, targetAt + plan.nTarget);
    }
    const kept = keepSlot === null ? null : new Array<string>(plan.nKept);
    let id: string | null = null;
    let label = -1;
    let isBad = false;
    let col = 0;
    let p = start;
    let end: number;
    const runEnd = this.runEnd;
    for (;;) {
      if (col < nFields && runEnd[col] > col) {
        // A run of plain feature columns: each field of up to 15 digits and a comma is stored as
        // m · scale, the expression below, with nothing else to decide. The run stops at any other
        // field (the last of a record among them), which the general code below reads.
        const stop = runEnd[col];
        let o = xAt + slot[col];
        while (col < stop) {
          // "0," — most pixels of an image — first.
          if (p + 1 < n && buf[p] === ZERO && buf[p + 1] === COMMA) {
            x[o++] = 0 * scale;
            col++;
            p += 2;
            continue;
          }
          let q = p;
          let m = 0;
          let c = 0;
          const digitsEnd = p + 15 < n ? p + 15 : n;
          while (q < digitsEnd && (c = buf[q]) >= ZERO && c <= NINE) {
            m = m * 10 + (c - ZERO);
            q++;
          }
          if (q === p || q === digitsEnd || c !== COMMA) break;
          x[o++] = m * scale;
          col++;
          p = q + 1;
        }
        if (p - start > this.maxRecordSize) return HAND_OVER;
      }
      // The common field first, inline: up to 15 plain digits, then the delimiter. Its value is the
      // integer m, exactly Number(text) (m < 10^15 < 2^53); anything else goes through scanField.
      let q = p;
      let m = 0;
      let c = 0;
      const digitsEnd = p + 15 < n ? p + 15 : n;
      while (q < digitsEnd && (c = buf[q]) >= ZERO && c <= NINE) {
        m = m * 10 + (c - ZERO);
        q++;
      }
      let num: number;
      if (q > p && (q === n || c === COMMA || c === LF || c === CR)) {
        end = q;
        num = m;
      } else {
        end = scanField(buf, p, n, this.scanned);
        if (this.scanned.special) return HAND_OVER;
        num = this.scanned.num;
      }
      if (end === n && !isEnd) return NEED_MORE;
      if (end - start > this.maxRecordSize) return HAND_OVER;
      const r = col < nFields ? role[col] : ROLE_SKIP;
      // Kept and id columns: their trimmed text (ASCII on this path, so latin1 is exact).
      if (kept !== null && col < nFields && keepSlot !== null && keepSlot[col] >= 0) kept[keepSlot[col]] = trimField(buf.toString('latin1', p, end));
      if (col === idCol) id = trimField(buf.toString('latin1', p, end));
      if (r !== ROLE_SKIP && !isBad) {
        let v = num;
        if (r === ROLE_LABEL && plan.classIndex !== null) {
          const k = plan.classIndex.get(trimField(buf.toString('latin1', p, end)));
          if (k === undefined) isBad = true;
          else label = k;
        } else {
          if (Number.isNaN(v)) {
            const slow = parseValue(buf.toString('latin1', p, end));
            if (typeof slow === 'number') v = slow;
            else isBad = true;
          }
          if (isBad) {
            // the reference conversion below words the error
          } else if (r === ROLE_FEATURE) {
            if (isScaleOnly) x[xAt + slot[col]] = v * scale;
            else storeFeature(plan, x, xAt + slot[col], v, slot[col]);
          }
          else if (r === ROLE_TARGET) target[targetAt + slot[col]] = v;
          else if (Number.isInteger(v) && v >= 0 && v < plan.nTarget) label = v + 0; // -0 → 0, as labelFromNumber
          else isBad = true;
        }
      }
      col++;
      if (end < n && buf[end] === COMMA) p = end + 1;
      else break;
    }
    const next = end === n ? n : this.lineEnd(buf, end, isEnd);
    if (next === NEED_MORE) return NEED_MORE;
    const endOffset = cur.offset + (next - start);
    const origin = { source: plan.source, line: cur.line, record: cur.record, endOffset };
    if (isBad || col !== nFields) {
      const text = buf.toString('latin1', start, end);
      this.emit(convertRecord(plan, text.split(','), origin), cur, text);
    } else if (placer !== null) {
      if (label >= 0) target[targetAt + label] = 1;
      const record = cur.record++;
      cur.line++;
      const wait = placer.placed(origin.line, record, endOffset, label, id, kept);
      if (wait !== undefined) this.wait = wait;
    } else {
      if (label >= 0) target[label] = 1;
      const withId = id === null ? origin : { ...origin, id };
      this.emit(kept === null ? { x, target, label, origin: withId } : { x, target, label, origin: withId, kept }, cur, '');
    }
    return next;
  }

  /** Index past the line ending at `at` (`\r\n`, `\n` or a lone `\r`); NEED_MORE if a final `\r` may be followed by `\n`. */
  private lineEnd(buf: Buffer, at: number, isEnd: boolean): number {
    if (buf[at] === LF) return at + 1;
    if (at + 1 < buf.length) return buf[at + 1] === LF ? at + 2 : at + 1;
    return isEnd ? at + 1 : NEED_MORE;
  }

  private emit(result: Sample | CsvError, cur: Cursor, raw: string): void {
    const record = cur.record++;
    cur.line++;
    const wait = this.sink(result, record, () => raw);
    if (wait !== undefined) this.wait = wait;
  }
}

/**
 * Reads data rows with the fast byte scanner from `at`. Returns null at the end, or the cursor of the
 * first row it does not handle (quotes, non-ASCII bytes, very long records), with the bytes from
 * there given back to `src` for csv-parse.
 */
export async function readFast(src: ChunkSource, at: Cursor, run: FastRun): Promise<Cursor | null> {
  const plan = run.plan;
  if (plan === null) return at;
  // Good rows go into the run's placer (the parser thread's ring), else into blocks of rows on this thread.
  const placer = run.placer ?? new SampleBlocks(plan.source, (sample, record) => run.accept(sample, record, NO_RAW), run.alignRows);
  const scanner = new FastScanner(plan, run.maxRecordSize, (result, record, raw) => run.accept(result, record, raw), placer);
  const cur: Cursor = { ...at };
  let carry: Buffer[] = [];
  let carryLength = 0;
  for (;;) {
    const chunk = await src.next();
    const isEnd = chunk === null;
    if (chunk !== null && chunk.indexOf(0x0a) < 0 && chunk.indexOf(0x0d) < 0) {
      // No line ends here: keep it without rescanning the carried bytes (no quadratic concat).
      carry.push(chunk);
      carryLength += chunk.length;
      if (carryLength <= run.maxRecordSize) continue;
      src.unshift(Buffer.concat(carry));
      return cur;
    }
    if (chunk !== null) carry.push(chunk);
    if (carry.length === 0) return null;
    const buf = carry.length === 1 ? carry[0] : Buffer.concat(carry);
    let pos = 0;
    for (;;) {
      pos = scanner.scan(buf, pos, isEnd, cur);
      if (scanner.wait !== null) {
        await scanner.wait;
        scanner.wait = null;
        if (run.signal.aborted) return null;
        continue;
      }
      break;
    }
    if (run.signal.aborted) return null;
    if (scanner.handOver || (pos < buf.length && buf.length - pos > run.maxRecordSize)) {
      src.unshift(buf.subarray(pos));
      return cur;
    }
    if (isEnd) return null;
    carry = pos < buf.length ? [buf.subarray(pos)] : [];
    carryLength = buf.length - pos;
  }
}

/**
 * For each column, the end (exclusive) of the run of columns from it that the scanner may store
 * without deciding anything per field: features, not kept, not the id, with consecutive x slots,
 * and no normalization (x = v · scale). `col` itself when it is not such a column.
 */
export function featureRuns(plan: ColumnPlan): Int32Array {
  const { nFields, role, slot, keepSlot, idCol } = plan;
  const isPlain = (col: number): boolean => role[col] === ROLE_FEATURE && (keepSlot === null || keepSlot[col] < 0) && col !== idCol;
  const runEnd = new Int32Array(nFields);
  const isScaleOnly = plan.a === null || plan.b === null;
  for (let col = nFields - 1; col >= 0; col--) {
    if (!isScaleOnly || !isPlain(col)) runEnd[col] = col;
    else runEnd[col] = col + 1 < nFields && isPlain(col + 1) && slot[col + 1] === slot[col] + 1 ? runEnd[col + 1] : col + 1;
  }
  return runEnd;
}

/** What `scanField` found in one field. */
export interface FieldScan {
  /** The field's value when it is a decimal within the exact fast path (see the file comment), else NaN. */
  num: number;
  /** The field holds a quote or a non-ASCII byte: only csv-parse may read it. */
  special: boolean;
}

/**
 * Scans one field from `p` to its delimiter (`,`, `\r`, `\n`) or `n`, returns that index and fills
 * `out`. The grammar is DECIMAL of csvSchema.ts with spaces and tabs trimmed; a field it accepts gets
 * exactly `Number(trimmed text)`, any other field gets NaN and is left to `parseValue`.
 */
export function scanField(buf: Uint8Array, p: number, n: number, out: FieldScan): number {
  let i = p;
  let c = 0;
  out.num = NaN;
  out.special = false;
  while (i < n && ((c = buf[i]) === SPACE || c === TAB)) i++;
  let isNegative = false;
  if (i < n && (c === MINUS || c === PLUS)) {
    isNegative = c === MINUS;
    i++;
  }
  // m: the significant digits as an integer (exact while ≤ 15 of them); e10: its decimal exponent.
  let m = 0;
  let nSignificant = 0;
  let nDigits = 0;
  let e10 = 0;
  while (i < n && (c = buf[i]) >= ZERO && c <= NINE) {
    if (nSignificant > 0 || c !== ZERO) {
      m = m * 10 + (c - ZERO);
      nSignificant++;
    }
    nDigits++;
    i++;
  }
  if (i < n && buf[i] === DOT) {
    i++;
    while (i < n && (c = buf[i]) >= ZERO && c <= NINE) {
      if (nSignificant > 0 || c !== ZERO) {
        m = m * 10 + (c - ZERO);
        nSignificant++;
      }
      e10--;
      nDigits++;
      i++;
    }
  }
  let isDecimal = nDigits > 0;
  if (isDecimal && i < n && ((c = buf[i]) === LOWER_E || c === UPPER_E)) {
    i++;
    let isExpNegative = false;
    if (i < n && ((c = buf[i]) === MINUS || c === PLUS)) {
      isExpNegative = c === MINUS;
      i++;
    }
    let exp = 0;
    let nExpDigits = 0;
    while (i < n && (c = buf[i]) >= ZERO && c <= NINE) {
      if (exp < 1e6) exp = exp * 10 + (c - ZERO);
      nExpDigits++;
      i++;
    }
    isDecimal = nExpDigits > 0;
    e10 += isExpNegative ? -exp : exp;
  }
  while (i < n && ((c = buf[i]) === SPACE || c === TAB)) i++;
  if (isDecimal && (i === n || (c = buf[i]) === COMMA || c === LF || c === CR)) {
    if (m === 0) out.num = isNegative ? -0 : 0;
    else if (nSignificant <= 15 && e10 >= -22 && e10 <= 22) {
      // (Clinger) both operands exact, so the one rounding of * or / is the correctly rounded value.
      const v = e10 >= 0 ? m * POW10[e10] : m / POW10[-e10];
      out.num = isNegative ? -v : v;
    }
    return i;
  }
  // Not a fast-path decimal: find the delimiter, watching for what only csv-parse handles.
  while (i < n) {
    c = buf[i];
    if (c === COMMA || c === LF || c === CR) break;
    if (c === QUOTE || c >= 0x80) out.special = true;
    i++;
  }
  return i;
}
