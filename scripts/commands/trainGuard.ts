/**
 * What `deltaflow train` does so that every row is trained or reported and a failure loses nothing:
 *
 * - before any work: the bad-row options are checked and the run folder is created and probe-written
 *   (an unwritable `--out` is an error before the first pass over the data);
 * - every pass over the training data gets fresh counters; with `--on-bad-row skip` skipped rows go to
 *   rejected.csv (once, even when later epochs meet them again); a resumed run keeps the rows its
 *   checkpoint covers (`resumeRejects`) instead of starting the file anew;
 * - at the end: `rowsTrained + rowsPending + rowsSkipped == dataRows` is printed, added to the `--json`
 *   summary line and written to summary.json (summary.ts), also when the run fails or is stopped by a
 *   signal; only rows an update was computed from count as trained;
 * - a NonFiniteError says which model.json the run kept: the one of the last completed epoch (weights are
 *   never written with NaN — a non-finite step or update is refused before it changes them), or none.
 */
import { existsSync } from 'node:fs';
import type { CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { createCounters, type CsvCounters } from '../../src/streams/sources/fromCsv.js';
import { NonFiniteError } from '../../src/streams/training/numerics.js';
import type { SkipReport } from '../../src/streams/sources/csvErrors.js';
import { badRowCsvOptions, checkBadRowOptions, openRejects, resumeRejects, type BadRowOptions, type RejectsFile } from './badRows.js';
import { probeOutputDir } from './outputDir.js';
import { describeRowCounts, emptyRowCounts, rowCountsOf, writeSummary, type RowCounts, type RunSummary } from './summary.js';

export interface GuardOptions extends BadRowOptions {
  readonly clipNorm?: number;
  readonly checkNumerics?: boolean;
}

/** The end of a run, as train knows it. */
export interface RunEnd {
  readonly steps: number;
  /** Rows trained in the pass under way (an update was computed from them); the rest it read are pending. */
  readonly passTrained: number;
  readonly epochsDone: number;
  readonly modelPath: string;
  readonly trainLoss: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
}

export interface TrainGuard {
  readonly runDir: string;
  /** Training options for fit: clipNorm and checkNumerics when given. */
  readonly fitOptions: { readonly clipNorm?: number; readonly checkNumerics?: boolean };
  /** fromCsv options of one pass over the training data (fresh counters each call). */
  trainPass(base: CsvSourceOptions): CsvSourceOptions;
  /** fromCsv options of one pass over the test data. */
  testPass(base: CsvSourceOptions): CsvSourceOptions;
  /**
   * A run resumed from a checkpoint (`isResume`): truncate rejected.csv to the `keep` rows the checkpoint
   * covers and append to it (see resumeRejects). Call before the first pass. Returns a warning or null.
   */
  resumeRejects(keep: number | 'all'): Promise<string | null>;
  /** At an epoch's end: its pass is complete, its counts become the reported ones. */
  epochDone(): void;
  /** The counts reported: those of the last complete pass, else of the pass under way (`passTrained` of its rows trained). */
  rows(passTrained?: number): RowCounts;
  /** Finishes a successful run: summary.json written; returns the fields for the JSON line and the row counts in words. */
  finish(end: RunEnd): Promise<{ json: Record<string, unknown>; text: string }>;
  /** A failed run: summary.json with status failed (best effort), and the error made to say which model.json was kept. */
  fail(error: unknown, end: RunEnd): Promise<void>;
  /** A run stopped by a signal (it has a checkpoint to resume from): summary.json with status stopped. */
  stopped(signal: NodeJS.Signals, end: RunEnd): Promise<void>;
}

/**
 * Checks the options and the run folder; call first, before any pass over the data. A fresh run starts
 * rejected.csv anew; a resumed one (`isResume`) leaves it alone until `resumeRejects`, so a resume that
 * is refused (another config, a changed input) does not touch it.
 *
 * @example const guard = await startTrainGuard(options, options.out ?? defaultRunDir());
 */
export async function startTrainGuard(options: GuardOptions, runDir: string, isResume = false): Promise<TrainGuard> {
  checkBadRowOptions(options);
  await probeOutputDir(runDir);
  const isSkip = options.onBadRow === 'skip';
  let rejects: RejectsFile | null = isSkip && !isResume ? openRejects(runDir) : null;
  let current: CsvCounters | null = null;
  let completed: RowCounts | null = null;
  let test: CsvCounters | null = null;
  const onSkip = !isSkip
    ? undefined
    : (r: SkipReport): void => {
        if (rejects === null) throw new Error('internal: a row was skipped before rejected.csv was reopened for the resumed run');
        rejects.onSkip(r);
      };
  const policy = (): Partial<CsvSourceOptions> => badRowCsvOptions(options, onSkip);

  const rows = (passTrained?: number): RowCounts => completed ?? (current === null ? emptyRowCounts() : rowCountsOf(current, passTrained));
  const summaryOf = (status: RunSummary['status'], end: RunEnd, error?: string, signal?: string): RunSummary => ({
    status,
    ...rows(end.passTrained),
    steps: end.steps,
    epochs: end.epochsDone,
    testAccuracy: end.testAccuracy,
    testLoss: end.testLoss,
    trainLoss: end.trainLoss,
    model: existsSync(end.modelPath) ? end.modelPath : null,
    rejected: rejects?.path ?? null,
    ...(test === null || options.onBadRow !== 'skip' ? {} : { test: rowCountsOf(test) }),
    ...(error === undefined ? {} : { error }),
    ...(signal === undefined ? {} : { signal }),
  });

  return {
    runDir,
    fitOptions: {
      ...(options.clipNorm === undefined ? {} : { clipNorm: options.clipNorm }),
      ...(options.checkNumerics === true ? { checkNumerics: true } : {}),
    },
    async resumeRejects(keep) {
      if (!isSkip || !isResume || rejects !== null) return null;
      const resumed = await resumeRejects(runDir, keep);
      rejects = resumed.file;
      return resumed.warning;
    },
    trainPass(base) {
      current = createCounters();
      return { ...base, ...policy(), counters: current };
    },
    testPass(base) {
      test = createCounters();
      return { ...base, ...policy(), counters: test };
    },
    epochDone() {
      if (current !== null) completed = rowCountsOf(current);
    },
    rows,
    async finish(end) {
      rejects?.close();
      const summary = summaryOf('done', end);
      const path = await writeSummary(runDir, summary);
      const counts = rows();
      const { status: _s, ...fields } = summary;
      const rejected = rejects !== null && counts.rowsSkipped > 0 ? `; rejected rows in ${rejects.path}` : '';
      return { json: { ...fields, summary: path }, text: `${describeRowCounts(counts)}${rejected}` };
    },
    async fail(error, end) {
      rejects?.close();
      if (error instanceof NonFiniteError) {
        const kept = existsSync(end.modelPath)
          ? `${end.modelPath} keeps the weights after epoch ${end.epochsDone}`
          : 'no model.json was written (no epoch completed)';
        error.message = `${error.message}; ${kept}`;
      }
      const line = error instanceof Error ? error.message : String(error);
      await writeSummary(runDir, summaryOf('failed', end, line)).catch(() => undefined);
    },
    async stopped(signal, end) {
      rejects?.close();
      await writeSummary(runDir, summaryOf('stopped', end, undefined, signal));
    },
  };
}
