/**
 * The policy half of `fromCsv` (fromCsv.ts): what happens to each record's outcome, in input order —
 * a Sample is emitted (after a gate credit, when there is a gate), a row-level CsvError fails the read
 * or, with `onBadRow: 'skip'`, is skipped, counted by code and reported to `onSkip` within the skip
 * budget — and, at the end, the checks of the whole read (no data rows, `maxBadFraction`).
 *
 * It always runs on the subscriber's thread, so the counters, `onSkip` and the gate see exactly the
 * rows the subscriber got, whichever thread parsed them (csvRowReader.ts here, or the parser thread).
 */
import type { Subscriber } from 'rxjs';
import { CsvError, type SkipReport, budgetError, noDataError } from './csvErrors.js';
import type { Gate } from './gate.js';
import type { Sample } from '../types.js';

/** Counts a source keeps while it reads; pass your own object to read them during or after a run. */
export interface CsvCounters {
  /** Data records met: rows emitted + rows skipped (the header and a final newline are not rows). */
  dataRows: number;
  rowsEmitted: number;
  rowsSkipped: number;
  /** Skipped rows per error code, e.g. `{ CSV_NOT_A_NUMBER: 2, CSV_EMPTY_LINE: 1 }`. */
  skippedByCode: Record<string, number>;
  /** Bytes read from the input so far (ahead of the last emitted row by at most the read-ahead). */
  bytesRead: number;
}

/** A zeroed counters object. */
export function createCounters(): CsvCounters {
  return { dataRows: 0, rowsEmitted: 0, rowsSkipped: 0, skippedByCode: {}, bytesRead: 0 };
}

/** The options the policy half uses (a part of fromCsv's CsvSourceOptions). */
export interface PolicyOptions {
  readonly onBadRow?: 'error' | 'skip';
  readonly maxBadRows?: number;
  readonly maxBadFraction?: number;
  readonly onSkip?: (report: SkipReport) => void;
  readonly gate?: Gate;
  readonly allowEmpty?: boolean;
}

/** The state of one subscription's policy: counts, the last skip, where Samples go. */
export class CsvRowPolicy {
  private emitted = 0;
  private skipped = 0;
  private lastSkip: CsvError | null = null;

  constructor(
    private readonly name: string,
    private readonly options: PolicyOptions,
    private readonly counters: CsvCounters,
    private readonly subscriber: Subscriber<Sample>,
    private readonly signal: AbortSignal,
  ) {}

  /**
   * Takes one record's outcome: emits a Sample (after a gate credit, if any), or fails / skips a
   * row-level error by the policy. Returns a promise only when it has to wait for a credit.
   */
  accept(result: Sample | CsvError, record: number, raw: () => string): void | Promise<void> {
    if (this.signal.aborted) return;
    if (result instanceof CsvError) {
      this.skip(result, record, raw);
      return;
    }
    const wait = this.options.gate?.acquire(this.signal);
    if (wait === undefined) {
      this.emit(result);
      return;
    }
    return wait.then(() => this.emit(result));
  }

  /** At the end of the input: no data rows is an error (unless `allowEmpty`), and so is too large a skipped fraction. */
  checkEnd(startOffset: number): void {
    const o = this.options;
    if (this.emitted === 0 && startOffset === 0 && o.allowEmpty !== true) {
      throw noDataError(this.name, this.skipped > 0 ? ` (all ${this.skipped} rows were skipped)` : '');
    }
    // NOTE: on the counters, not on this read's own skips: a read resumed from a checkpoint starts with
    // the pass's counters, and the rows it skipped before the checkpoint count against the budget too.
    const c = this.counters;
    if (o.maxBadFraction !== undefined && c.rowsSkipped > o.maxBadFraction * c.dataRows) {
      const pct = ((100 * c.rowsSkipped) / c.dataRows).toFixed(1);
      throw budgetError(
        this.name,
        this.lastSkip,
        `${c.rowsSkipped} of ${c.dataRows} rows skipped (${pct}%), more than maxBadFraction ${o.maxBadFraction}`,
        startOffset > 0 ? `before byte offset ${startOffset}, where this read resumed` : 'before this read',
      );
    }
  }

  private emit(sample: Sample): void {
    if (this.signal.aborted) return;
    this.emitted++;
    this.counters.dataRows++;
    this.counters.rowsEmitted++;
    this.subscriber.next(sample);
  }

  private skip(err: CsvError, record: number, raw: () => string): void {
    const o = this.options;
    if (o.onBadRow !== 'skip' || !err.isRowLevel) throw err;
    const c = this.counters;
    this.skipped++;
    this.lastSkip = err;
    c.dataRows++;
    c.rowsSkipped++;
    c.skippedByCode[err.code] = (c.skippedByCode[err.code] ?? 0) + 1;
    o.onSkip?.({
      source: this.name,
      line: err.line,
      record,
      column: err.column,
      code: err.code as SkipReport['code'],
      message: err.message,
      raw: raw(),
    });
    if (o.maxBadRows !== undefined && c.rowsSkipped > o.maxBadRows) {
      throw budgetError(this.name, err, `${c.rowsSkipped} skipped, more than maxBadRows ${o.maxBadRows}`);
    }
  }
}
