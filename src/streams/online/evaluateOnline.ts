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
 */
import { Observable, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import type { Sample } from '../types.js';
import { LabelJoin, type LabelJoinCounters } from './labelJoin.js';
import { LearnerRun, type DetectionEvent, type LearnerReport, type LearnerSpec, type ReactionEvent } from './learnerRun.js';
import type { ClassObservation, MetricFactory, RegressionObservation } from './metrics/metric.js';
import { accuracyMetric } from './metrics/accuracyMetric.js';
import { kappaMetric } from './metrics/kappaMetric.js';
import { kappaTemporalMetric } from './metrics/kappaTemporalMetric.js';
import { maeMetric } from './metrics/maeMetric.js';
import { rmseMetric } from './metrics/rmseMetric.js';
import type { Prediction } from './onlineLearner.js';

/** A label arriving on its own for the row with this id (`labels: { byId }`): the class index, or the regression targets. */
export interface LabelArrival {
  readonly kind: 'label';
  readonly id: string;
  /** Class index, −1 for regression. */
  readonly label: number;
  /** One-hot of the class, or the target values. */
  readonly target: Float32Array;
}

export type OnlineInput = Sample | LabelArrival;

export type LabelTiming = 'with-row' | { readonly delay: number } | { readonly byId: { readonly maxWait: number } };

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
}

export interface ReportEvent {
  readonly type: 'report';
  /** Rows arrived so far. */
  readonly row: number;
  readonly learners: readonly LearnerReport[];
}

/** How the labels met their rows. */
export interface LabelCounts extends LabelJoinCounters {
  /** Labels whose row never came within the wait (or whose id was known already). */
  readonly labelsWithoutRow: number;
}

export interface DoneEvent {
  readonly type: 'done';
  readonly row: number;
  readonly learners: readonly LearnerReport[];
  /** Each learner's model at the end, in learner order (a background learner may have replaced the first). */
  readonly models: readonly Model[];
  /** With `labels: { byId }`: how the join went; with a delay: rows whose label came at the end. */
  readonly labels: LabelCounts | null;
}

export type OnlineEvent = ReportEvent | DetectionEvent | ReactionEvent | DoneEvent;

const isLabelArrival = (v: OnlineInput): v is LabelArrival => 'kind' in v && v.kind === 'label';

interface Held {
  readonly sample: Sample;
  /** One arrival prediction per learner. */
  readonly predictions: readonly Prediction[];
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

  return (source) =>
    new Observable<OnlineEvent>((subscriber) => {
      let runs: LearnerRun[];
      try {
        const config = {
          classification: options.classificationMetrics ?? [accuracyMetric, kappaMetric, kappaTemporalMetric],
          regression: options.regressionMetrics ?? [maeMetric, rmseMetric],
          window,
          ...(options.fading === undefined ? {} : { fading: options.fading }),
        };
        runs = learners.map((spec) => new LearnerRun(spec, config));
      } catch (e) {
        subscriber.error(e);
        return;
      }
      let row = 0;
      const delayed: Held[] = [];
      let delayedHead = 0;
      const join = maxWait === null ? null : new LabelJoin<Held>({ maxWait });
      /** Labels that came before their row, waiting for it (byId). */
      const early = new Map<string, { readonly arrival: LabelArrival; readonly time: number }>();
      const earlyOrder: string[] = [];
      let earlyHead = 0;
      let labelsWithoutRow = 0;

      const emitEvents = (events: readonly (DetectionEvent | ReactionEvent)[]): void => {
        for (const e of events) subscriber.next(e);
      };
      const learnAll = (sample: Sample, predictions: readonly Prediction[] | null): void => {
        runs.forEach((run, i) => emitEvents(run.observe(sample, predictions === null ? null : predictions[i], row)));
      };
      const report = (): void => subscriber.next({ type: 'report', row, learners: runs.map((r) => r.report()) });
      const withLabel = (sample: Sample, arrival: LabelArrival): Sample => ({ ...sample, label: arrival.label, target: arrival.target });
      const expireEarly = (): void => {
        while (earlyHead < earlyOrder.length) {
          const id = earlyOrder[earlyHead];
          const waiting = early.get(id);
          if (waiting !== undefined && row - waiting.time <= (maxWait ?? 0)) break;
          if (waiting !== undefined) {
            early.delete(id);
            labelsWithoutRow++;
          }
          earlyHead++;
        }
        if (earlyHead > 4096) {
          earlyOrder.splice(0, earlyHead);
          earlyHead = 0;
        }
      };

      const onRow = (sample: Sample): void => {
        row++;
        if (join === null && delay === 0) {
          learnAll(sample, null);
        } else {
          const held: Held = { sample, predictions: runs.map((r) => r.predict(sample)) };
          if (join === null) {
            delayed.push(held);
            if (delayed.length - delayedHead > delay) {
              const due = delayed[delayedHead++];
              learnAll(due.sample, due.predictions);
              if (delayedHead > 4096) {
                delayed.splice(0, delayedHead);
                delayedHead = 0;
              }
            }
          } else {
            const id = sample.origin.id;
            if (id === undefined) throw new Error(`evaluateOnline: the row at ${sample.origin.source}:${sample.origin.line} has no id (labels by id need an id column)`);
            if (join.predicted(id, held)) {
              const waiting = early.get(id);
              if (waiting !== undefined) {
                early.delete(id);
                const joined = join.labelled(id);
                if (joined !== null) learnAll(withLabel(joined.sample, waiting.arrival), joined.predictions);
              }
            }
            join.tick();
            expireEarly();
          }
        }
        if (row % reportEvery === 0) report();
      };

      const onLabel = (arrival: LabelArrival): void => {
        if (join === null) throw new Error(`evaluateOnline: a label for id ${JSON.stringify(arrival.id)} arrived, but labels come with the rows (labels: { byId } joins them)`);
        if (join.isKnown(arrival.id)) {
          // Waiting: learn it now; labelled already: counted as a duplicate label.
          const joined = join.labelled(arrival.id);
          if (joined !== null) learnAll(withLabel(joined.sample, arrival), joined.predictions);
          return;
        }
        if (early.has(arrival.id)) {
          labelsWithoutRow++;
          return;
        }
        early.set(arrival.id, { arrival, time: row });
        earlyOrder.push(arrival.id);
      };

      const subscription = source.subscribe({
        next(item) {
          try {
            if (isLabelArrival(item)) onLabel(item);
            else onRow(item);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e) => subscriber.error(e),
        complete() {
          try {
            // The labels still held by a delay are revealed at the end; rows still waiting by id never got theirs.
            for (let i = delayedHead; i < delayed.length; i++) learnAll(delayed[i].sample, delayed[i].predictions);
            delayed.length = 0;
            delayedHead = 0;
            if (join !== null) {
              join.drain();
              labelsWithoutRow += early.size;
              early.clear();
            }
            if (row % reportEvery !== 0) report();
            subscriber.next({ type: 'done', row, learners: runs.map((r) => r.report()), models: runs.map((r) => r.model), labels: join === null ? null : { ...join.counters, labelsWithoutRow } });
            subscriber.complete();
          } catch (e) {
            subscriber.error(e);
          }
        },
      });
      return () => {
        subscription.unsubscribe();
        for (const r of runs) r.close();
      };
    });
}

export type { DetectionEvent, LearnerReport, LearnerSpec, ReactionEvent } from './learnerRun.js';
