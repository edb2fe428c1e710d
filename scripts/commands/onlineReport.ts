/**
 * What `deltaflow online` prints: one line per report (or a side-by-side table of several learners),
 * one per detection and reaction, the labels line, and the one warning a learning rate that destroys
 * a model gets (divergenceWatch, whose state a checkpoint keeps so a resumed run warns as the
 * uninterrupted one).
 */
import type { LabelCounts, LearnerReport, ReportEvent } from '../../src/streams/online/evaluateOnline.js';
import type { DetectionEvent, ReactionEvent } from '../../src/streams/online/learnerRun.js';
import { outputCount, type DataMeta } from './meta.js';
import type { WatchState } from './onlineCheckpoints.js';

/** A regression window whose mean loss is this many times the best window's gets one warning line. */
const DIVERGENCE_FACTOR = 100;

const pct = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : `${(100 * v).toFixed(2)}%`);
const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined ? '-' : v.toFixed(digits));

/** The one-line report of one learner (the first figures as before: accuracy, then loss). */
export function reportLine(row: number, l: LearnerReport, window: number, isClassify: boolean): string {
  const v = l.values;
  const parts = [`rows ${row}`];
  if (isClassify) parts.push(`accuracy ${pct(v.accuracy)} (last ${window}: ${pct(v.accuracy_window)})`);
  parts.push(`loss ${num(l.loss)} (last ${window}: ${num(l.lossWindow)})`);
  if (isClassify && v.kappa !== undefined) parts.push(`κ ${num(v.kappa, 3)} (last ${window}: ${num(v.kappa_window, 3)})`);
  if (!isClassify && v.rmse !== undefined) parts.push(`rmse ${num(v.rmse)} (last ${window}: ${num(v.rmse_window)})`);
  return parts.join('  ');
}

/** The side-by-side table of several learners at one report. */
export function reportTable(e: ReportEvent, window: number, isClassify: boolean): string {
  const keys = isClassify ? ['accuracy', 'accuracy_window', 'kappa_window'] : ['rmse', 'rmse_window'];
  const heads = ['learner', ...keys.map((k) => k.replace('_window', ` (last ${window})`)), 'loss', `loss (last ${window})`];
  const rows = e.learners.map((l) => [l.name, ...keys.map((k) => (k.startsWith('accuracy') ? pct(l.values[k]) : num(l.values[k], 3))), num(l.loss), num(l.lossWindow)]);
  const widths = heads.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const fmt = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [`rows ${e.row}`, fmt(heads), ...rows.map(fmt)].join('\n');
}

export function eventLine(e: DetectionEvent | ReactionEvent): string {
  if (e.type === 'detection') {
    const how = e.signal === 'warning' ? 'warning' : `drift (error ${e.direction ?? 'up'}${e.reacted === false ? ', not reacted to' : ''})`;
    return `row ${e.row}  ${e.learner}: ${e.detector} ${how}`;
  }
  return `row ${e.row}  ${e.learner}: ${e.reaction}: ${e.detail}`;
}

export function labelsLine(c: LabelCounts): string {
  return (
    `labels: ${c.labelled} joined; ${c.expired} rows waited too long, ${c.neverLabelled} never labelled, ` +
    `${c.unknownIds + c.labelsWithoutRow} labels for no row, ${c.duplicateLabels} duplicate labels, ${c.duplicateIds} duplicate row ids`
  );
}

/** The divergence watch of one learner: `check` after each report; `state` for a checkpoint. */
export interface DivergenceWatch {
  check(l: LearnerReport, row: number, lr: number): void;
  state(): WatchState;
}

/**
 * One warning when learning destroys a learner's model: a classifier's window loss worse than guessing
 * every class equally likely (ln k, softmax CE); a regression's window loss 100× its best window. (A
 * classifier's loss rising far above its best is what a drift does too, so that alone is no sign.)
 */
export function divergenceWatch(meta: DataMeta, window: number, from: WatchState | undefined): DivergenceWatch {
  const guessLoss = meta.task === 'classify' && meta.loss === 'ce' ? Math.log(outputCount(meta)) : Infinity;
  let best = from?.best ?? Infinity;
  let isWarned = from?.isWarned ?? false;
  return {
    state: () => ({ best: Number.isFinite(best) ? best : null, isWarned }),
    check(l, row, lr) {
      const w = l.lossWindow;
      // A part-filled window (the first rows, a short stream) is too few rows to call learning broken.
      if (w === null || l.scored < window) return;
      const isWorseThanGuessing = w > 1.5 * guessLoss;
      const isFarAboveBest = guessLoss === Infinity && w > DIVERGENCE_FACTOR * best && w > best + 0.1;
      best = Math.min(best, w);
      if (isWarned || !(isWorseThanGuessing || isFarAboveBest)) return;
      isWarned = true;
      const why = isWorseThanGuessing ? `above the ${guessLoss.toPrecision(3)} of guessing every class equally likely` : `${(w / Math.max(best, 1e-12)).toFixed(0)}× the best window so far (${best.toPrecision(3)})`;
      process.stderr.write(`deltaflow: the loss of the ${window} rows up to row ${row} is ${w.toPrecision(3)}, ${why}: the learning rate (${lr}) may be too high for this model; try a smaller --lr\n`);
    },
  };
}

/** The fields the JSON lines of a single learner have always had. */
export function legacyFields(l: LearnerReport, row: number): Record<string, number | null> {
  return { seen: row, cumulativeAccuracy: l.values.accuracy ?? null, windowAccuracy: l.values.accuracy_window ?? null, cumulativeLoss: l.loss, windowLoss: l.lossWindow };
}
