/**
 * `evaluateOnline(learners, options)`: prequential (test-then-train) evaluation of one or several
 * learners on one stream, with the metrics of the field (cumulative, windowed and faded), drift
 * detection and reactions, and delayed labels. Every learner gets exactly the same rows in the same
 * order: each row is handed to each learner in turn, synchronously.
 *
 * When the label is known (`labels` option):
 *
 *   'with-row'    (default) the label comes with the row: predict, score, learn at once — bit for bit
 *                 what `prequential` does at batch size 1 (one forward pass does both);
 *   { delay: N }  row t's label is revealed N rows later, at the arrival of row t + N (MOA's
 *                 EvaluatePrequentialDelayed): row t is predicted when it arrives and scored with that
 *                 prediction and learned from when its label comes; the labels still held when the
 *                 stream ends are revealed then. `{ delay: 0 }` is 'with-row';
 *   { byId: { maxWait } }
 *                 rows are unlabelled and labels arrive as their own items (`LabelArrival`), joined on
 *                 `origin.id` (the source's id column, a Redis entry id): a row waits for its label at
 *                 most `maxWait` rows, a label for its row (it may come first) as long; what never meets
 *                 its partner, and every duplicate, is counted (LabelJoin's counters and `labelsWithoutRow`).
 *
 * Output, in order: a `report` every `reportEvery` rows (and one at the end), a `detection` event for
 * each warning (entering the zone) and drift, a `reaction` event for each reaction, and `done` last.
 *
 * Checkpoints: `afterItem` is called synchronously after each input item has been taken (its events
 * emitted), with `snapshot()` — the whole run as data (OnlineRunState: every learner's weights,
 * optimizer, reactions, background learner, running sums, metrics and detector; the rows held by a
 * delay or waiting in the join, with their arrival predictions; the labels that came early; the
 * clock). It is consistent with the input taken so far, so a checkpoint stores it with the source's
 * position. `resume` starts a run from such a state (the source then starts at the item after it),
 * and it continues bit for bit as if never stopped. Aborting `stop` ends the run between two items
 * — after the item being taken, or at once while the source is idle — with a `stopped` event instead
 * of the end-of-stream work and `done`; the state is then what a snapshot after the last item holds.
 */
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import type { Sample } from '../types.js';
import type { LearnerSpec } from './learnerRun.js';
import type { ClassObservation, MetricFactory, RegressionObservation } from './metrics/metric.js';
import { accuracyMetric } from './metrics/accuracyMetric.js';
import { kappaMetric } from './metrics/kappaMetric.js';
import { kappaTemporalMetric } from './metrics/kappaTemporalMetric.js';
import { maeMetric } from './metrics/maeMetric.js';
import { rmseMetric } from './metrics/rmseMetric.js';
import type { Prediction } from './onlineLearner.js';
import { OnlineRun, type LabelTiming, type OnlineEvent, type OnlineInput, type OnlineRunState } from './onlineRun.js';

export interface EvaluateOnlineOptions {
  /** A report every this many rows (and one at the end). */
  readonly reportEvery: number;
  /** Rows of the sliding window (metrics and loss). */
  readonly window: number;
  /** Fading factor α ∈ (0, 1) of the faded metrics; none when absent. */
  readonly fading?: number;
  /** The metrics of classification learners; default accuracy, κ, κ-temporal. */
  readonly classificationMetrics?: readonly MetricFactory<ClassObservation>[];
  /** The metrics of regression learners; default MAE, RMSE. */
  readonly regressionMetrics?: readonly MetricFactory<RegressionObservation>[];
  readonly labels?: LabelTiming;
  /** Start from this state (an `afterItem` snapshot of a run with the same learners and options). */
  readonly resume?: OnlineRunState;
  /** Called after each input item is taken (see the file comment): the place to checkpoint. */
  readonly afterItem?: (item: OnlineInput, run: { readonly row: number; snapshot(): OnlineRunState }) => void;
  /** Aborting it ends the run between two items with a `stopped` event (see the file comment). */
  readonly stop?: AbortSignal;
  /** Called once per row with each learner's prediction for it when it arrived (before it was learned from): a sink of predictions. */
  readonly onPrediction?: (sample: Sample, predictions: readonly Prediction[]) => void;
}

/**
 * Prequential evaluation of `learners` on the stream.
 *
 * @example
 * generate('sea', { rows: 20000, driftAt: [10000] }).pipe(
 *   evaluateOnline([{ name: 'mlp', model, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }), task: 'classify', detector: parseDetector('adwin') }],
 *     { reportEvery: 1000, window: 500 }),
 * ).subscribe((e) => e.type === 'report' && console.log(e.row, e.learners[0].values.accuracy_window));
 */
export function evaluateOnline(learners: readonly LearnerSpec[], options: EvaluateOnlineOptions): OperatorFunction<OnlineInput, OnlineEvent> {
  const { reportEvery, window } = options;
  if (learners.length === 0) throw new RangeError('evaluateOnline: give at least one learner');
  const names = learners.map((l) => l.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new RangeError(`evaluateOnline: two learners are named ${JSON.stringify(twice)}`);
  if (!(Number.isSafeInteger(reportEvery) && reportEvery >= 1)) throw new RangeError(`evaluateOnline: reportEvery must be an integer ≥ 1, got ${reportEvery}`);
  if (!(Number.isSafeInteger(window) && window >= 1)) throw new RangeError(`evaluateOnline: window must be an integer ≥ 1, got ${window}`);
  const timing = options.labels ?? 'with-row';
  const delay = typeof timing === 'object' && 'delay' in timing ? timing.delay : 0;
  if (!(Number.isSafeInteger(delay) && delay >= 0)) throw new RangeError(`evaluateOnline: labels.delay must be an integer ≥ 0, got ${delay}`);
  const maxWait = typeof timing === 'object' && 'byId' in timing ? timing.byId.maxWait : null;
  if (maxWait !== null && !(Number.isSafeInteger(maxWait) && maxWait >= 0)) throw new RangeError(`evaluateOnline: labels.byId.maxWait must be an integer ≥ 0, got ${maxWait}`);
  const config = {
    classification: options.classificationMetrics ?? [accuracyMetric, kappaMetric, kappaTemporalMetric],
    regression: options.regressionMetrics ?? [maeMetric, rmseMetric],
    window,
    ...(options.fading === undefined ? {} : { fading: options.fading }),
  };
  const { afterItem, stop } = options;

  return (source) =>
    new Observable<OnlineEvent>((subscriber) => {
      let run: OnlineRun;
      try {
        run = new OnlineRun(learners, config, reportEvery, delay, maxWait, (e) => subscriber.next(e), options.onPrediction);
        if (options.resume !== undefined) run.restore(options.resume);
      } catch (e) {
        subscriber.error(e);
        return;
      }
      const at = {
        get row() {
          return run.rows;
        },
        snapshot: () => run.snapshot(),
      };
      let isEnded = false;
      let subscription: Subscription | null = null;
      const onStop = (): void => {
        if (isEnded) return;
        isEnded = true;
        subscription?.unsubscribe();
        run.stop();
        subscriber.complete();
      };
      if (stop?.aborted === true) {
        onStop();
        return;
      }
      stop?.addEventListener('abort', onStop, { once: true });
      subscription = source.subscribe({
        next(item) {
          if (isEnded) return;
          try {
            run.take(item);
            afterItem?.(item, at);
          } catch (e) {
            isEnded = true;
            subscriber.error(e);
          }
        },
        error: (e) => {
          isEnded = true;
          subscriber.error(e);
        },
        complete() {
          if (isEnded) return;
          isEnded = true;
          try {
            run.end();
            subscriber.complete();
          } catch (e) {
            subscriber.error(e);
          }
        },
      });
      // A synchronous source may have ended the run (a stop inside afterItem) before subscribe returned.
      if (isEnded) subscription.unsubscribe();
      return () => {
        stop?.removeEventListener('abort', onStop);
        subscription?.unsubscribe();
        run.close();
      };
    });
}

export type { DetectionEvent, LearnerReport, LearnerSpec, ReactionEvent } from './learnerRun.js';
export type { DoneEvent, LabelArrival, LabelCounts, LabelTiming, OnlineEvent, OnlineInput, OnlineRunState, ReportEvent, StoppedEvent } from './onlineRun.js';
