/**
 * `summary.json` in a training run folder: what the run read, trained and skipped, and where its model is.
 *
 *   {"status": "done", "rowsTrained": 997, "rowsSkipped": 3, "skippedByCode": {"CSV_NOT_A_NUMBER": 2, "CSV_EMPTY_LINE": 1},
 *    "dataRows": 1000, "steps": 32, "epochs": 1, "testAccuracy": 0.93, "model": "runs/x/model.json", …}
 *
 * The row counters are those of ONE pass over the training data (every epoch reads the same rows, so
 * they are the same for every complete epoch; the last completed pass is reported, else the pass under
 * way) and always satisfy `rowsTrained + rowsPending + rowsSkipped == dataRows`. `rowsTrained` counts
 * rows an update was computed from; `rowsPending` rows that were read and valid but not trained yet
 * when the run ended inside a pass (held in the shuffle window or an unfinished batch) — 0 for a
 * complete pass. `steps` counts optimizer updates over the whole run, `epochs` the completed epochs. A
 * failed run writes the file too, with `status: "failed"` and the error line, and a run stopped by
 * SIGINT/SIGTERM with `status: "stopped"` and the signal.
 *
 * The file is written atomically (temporary file + rename), so a reader never sees half of one.
 */
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/layers/writeFileAtomic.js';
import type { CsvCounters } from '../../src/streams/sources/fromCsv.js';

export const SUMMARY_FILE = 'summary.json';

/** The counters of one pass over the training data. */
export interface RowCounts {
  /** Rows an update was computed from. */
  readonly rowsTrained: number;
  /** Rows read and valid, not trained when the run ended inside the pass (0 for a complete pass). */
  readonly rowsPending: number;
  readonly rowsSkipped: number;
  /** Skipped rows per error code (`CSV_NOT_A_NUMBER`, `CSV_EMPTY_LINE`, …). */
  readonly skippedByCode: Readonly<Record<string, number>>;
  /** Data rows met in the pass: rowsTrained + rowsPending + rowsSkipped. */
  readonly dataRows: number;
}

export interface RunSummary extends RowCounts {
  readonly status: 'done' | 'failed' | 'stopped';
  /** Optimizer updates applied over the run. */
  readonly steps: number;
  /** Completed epochs. */
  readonly epochs: number;
  /** Test accuracy after the last completed epoch (null without test data or for regression). */
  readonly testAccuracy: number | null;
  readonly testLoss: number | null;
  readonly trainLoss: number | null;
  /** Path of model.json, or null when no epoch completed (no model was written). */
  readonly model: string | null;
  /** Path of rejected.csv, or null when no row was rejected. */
  readonly rejected: string | null;
  /** With `--on-bad-row skip`: the counts of the last pass over the test data. */
  readonly test?: RowCounts;
  /** The error line of a failed run. */
  readonly error?: string;
  /** The signal that stopped the run (status `stopped`). */
  readonly signal?: string;
}

/** Zero counts. */
export function emptyRowCounts(): RowCounts {
  return { rowsTrained: 0, rowsPending: 0, skippedByCode: {}, rowsSkipped: 0, dataRows: 0 };
}

/**
 * The counts of a source's counters (a copy). Every row it emitted counts as trained unless
 * `trained` says how many of them were: then the rest are pending (a pass that ended early).
 */
export function rowCountsOf(c: Pick<CsvCounters, 'rowsEmitted' | 'rowsSkipped' | 'skippedByCode' | 'dataRows'>, trained?: number): RowCounts {
  const rowsTrained = Math.min(trained ?? c.rowsEmitted, c.rowsEmitted);
  return { rowsTrained, rowsPending: c.rowsEmitted - rowsTrained, rowsSkipped: c.rowsSkipped, skippedByCode: { ...c.skippedByCode }, dataRows: c.dataRows };
}

/** `997 rows trained + 3 skipped = 1000 data rows (CSV_NOT_A_NUMBER 2, CSV_EMPTY_LINE 1)`, with `+ N pending (read, not trained)` when some are. */
export function describeRowCounts(c: RowCounts): string {
  const codes = Object.entries(c.skippedByCode).map(([code, n]) => `${code} ${n}`);
  const pending = c.rowsPending > 0 ? ` + ${c.rowsPending} pending (read, not trained)` : '';
  return `${c.rowsTrained} rows trained${pending} + ${c.rowsSkipped} skipped = ${c.dataRows} data rows${codes.length === 0 ? '' : ` (${codes.join(', ')})`}`;
}

/** Atomic writes (temporary file, fsync, rename, fsync of the folder): the one the model files use. */
export { writeFileAtomic };

/** Write `summary.json` into the run folder `dir`; returns its path. */
export async function writeSummary(dir: string, summary: RunSummary): Promise<string> {
  const path = join(dir, SUMMARY_FILE);
  await writeFileAtomic(path, `${JSON.stringify(summary, null, 2)}\n`);
  return path;
}
