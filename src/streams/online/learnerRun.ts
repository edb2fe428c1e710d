/**
 * One learner in a prequential run: its online learner, its metrics, its drift detector and its
 * reactions. For every labelled row it is given, in this order:
 *
 *   1. score   the prediction made when the row arrived (or, when the label came with the row, the
 *              prediction of the learning step's own forward pass, which is the same number) goes
 *              into the metrics and the running loss — each row is scored once;
 *   2. learn   one training step on the row;
 *   3. detect  the detector takes the row's error (0/1 for classification; the row's loss for
 *              regression), and a warning (on entering the warning zone) or a drift is an event;
 *   4. react   on a drift the reactions act on the learner (reactions.ts) and each is an event; a
 *              background learner, once started, learns the same rows and may replace it.
 *
 * Only a change for the worse is reacted to. Some detectors (ADWIN, KSWIN) also signal when the error
 * FALLS — a learner still learning is a change too — and resetting it then would throw its progress
 * away (MOA's ADWIN bagging resets a member only when its error estimate grew). So each drift is
 * weighed: the mean error of the last DIRECTION_ROWS rows against the mean since the previous drift
 * before them; the event says `direction: 'up'` or `'down'`, and reactions follow `up` only. A drift
 * signalled again within DIRECTION_ROWS rows of the previous one (ADWIN may fire on several clock
 * ticks while its window sheds the old values) is the same change: reported, not reacted to again.
 * Before the first drift, too few rows to compare count as `up`. `reacted` says what happened.
 *
 * The running loss (cumulative and over the last `window` rows) is added in the same order as
 * `prequential` adds it, so a run whose labels come with their rows gives its figures bit for bit.
 *
 * `snapshot()` is the whole run as data (LearnerRunState): the learner in front (weights, optimizer,
 * lr factor), the background learner with its own, the reaction state (boost countdown, warning
 * flag), the direction trackers, the running loss sums and window, the metric set and the detector;
 * `restore` into a LearnerRun built from the same spec and metrics continues bit for bit.
 */
import { cloneModel, createModel, type Model } from '../../layers/sequential.js';
import type { OptimizerConfig } from '../../ops/optimizers.js';
import type { Loss } from '../training/lossHead.js';
import type { Sample } from '../types.js';
import type { DetectorSnapshot, DriftDetector } from './detectors/detector.js';
import type { ClassObservation, MetricFactory, MetricState, RegressionObservation } from './metrics/metric.js';
import { metricSet, type MetricSet } from './metrics/metricSet.js';
import { onlineLearner, type LearnerState, type OnlineLearner, type Prediction } from './onlineLearner.js';
import { describeReaction, type Reaction } from './reactions.js';

/** What a learner is: its model (updated in place), how it learns, and how it watches for drift. */
export interface LearnerSpec {
  /** Its name in reports and events. */
  readonly name: string;
  readonly model: Model;
  readonly loss: Loss;
  readonly optimizer: OptimizerConfig;
  readonly task: 'classify' | 'regress';
  readonly clipNorm?: number;
  /** A factory of its drift detector (parseDetector gives one). */
  readonly detector?: () => DriftDetector;
  readonly reactions?: readonly Reaction[];
  /** Seed of re-initialized and fresh background weights: seed + the row number. Default: the model's seed. */
  readonly seed?: number;
  /** Regression: the predicted and true value to score, from the output and the target (default: their first values). */
  readonly scoreValues?: (output: Float32Array, target: Float32Array) => RegressionObservation;
}

export interface DetectionEvent {
  readonly type: 'detection';
  /** Rows arrived when it happened. */
  readonly row: number;
  readonly learner: string;
  readonly detector: string;
  readonly signal: 'warning' | 'drift';
  /** For a drift: whether the error rose or fell (see the file comment). */
  readonly direction?: 'up' | 'down';
  /** For a drift: whether the reactions ran (an `up` that is not a repeat of the previous drift). */
  readonly reacted?: boolean;
}

/** Rows whose mean error says which way a drift went. */
export const DIRECTION_ROWS = 100;

export interface ReactionEvent {
  readonly type: 'reaction';
  readonly row: number;
  readonly learner: string;
  readonly reaction: Reaction['kind'];
  readonly detail: string;
}

/** One learner's figures at a report. */
export interface LearnerReport {
  readonly name: string;
  /** Rows scored (and learned from). */
  readonly scored: number;
  /** The metric set's values: `accuracy`, `accuracy_window`, `accuracy_fading`, `kappa`, … */
  readonly values: Readonly<Record<string, number | null>>;
  /** Mean loss over the scored rows, and over the last `window` of them (each scored before its update). */
  readonly loss: number | null;
  readonly lossWindow: number | null;
}

/** The metrics of a run: the set of the learner's task. */
export interface RunMetrics {
  readonly classification: readonly MetricFactory<ClassObservation>[];
  readonly regression: readonly MetricFactory<RegressionObservation>[];
  /** Rows of the sliding window (metrics and loss). */
  readonly window: number;
  /** Fading factor of the faded metrics; none when absent. */
  readonly fading?: number;
}

type Scoring = { readonly task: 'classify'; readonly set: MetricSet<ClassObservation> } | { readonly task: 'regress'; readonly set: MetricSet<RegressionObservation> };

/** A LearnerRun as data (see the file comment). Number lists are Float64Arrays, stored exactly. */
export type LearnerRunState = {
  readonly name: string;
  readonly learner: LearnerState;
  readonly background: { readonly learner: LearnerState; readonly startedAt: number; readonly learned: number; readonly own: Float64Array; readonly fore: Float64Array } | null;
  readonly isWarning: boolean;
  readonly boostLeft: number;
  readonly scored: number;
  readonly lossSum: number;
  /** The losses of the last `window` scored rows, oldest first, and their running sum. */
  readonly recent: Float64Array;
  readonly windowLoss: number;
  readonly lastErrors: Float64Array;
  readonly lastErrorsSum: number;
  readonly sinceDriftSum: number;
  readonly sinceDriftCount: number;
  readonly lastDrift: { readonly row: number; readonly direction: 'up' | 'down' } | null;
  readonly metrics: MetricState;
  readonly detector: DetectorSnapshot | null;
};

interface Background {
  learner: OnlineLearner;
  readonly startedAt: number;
  learned: number;
  /** Per row since it started: 1 when the background's learn-time prediction scored better-or-right, for the window comparison. */
  readonly own: number[];
  readonly fore: number[];
}

export class LearnerRun {
  private learner: OnlineLearner;
  private readonly detector: DriftDetector | null;
  private isWarning = false;
  private boostLeft = 0;
  private background: Background | null = null;
  private scored = 0;
  private lossSum = 0;
  private readonly recent: number[] = [];
  private recentHead = 0;
  private windowLoss = 0;
  /** The detector's inputs: the last DIRECTION_ROWS of them, and their sum since the previous drift. */
  private readonly lastErrors: number[] = [];
  private lastErrorsSum = 0;
  private sinceDriftSum = 0;
  private sinceDriftCount = 0;
  private lastDrift: { readonly row: number; readonly direction: 'up' | 'down' } | null = null;

  private readonly metrics: Scoring;
  private readonly window: number;
  /** The prediction the last observed row was scored with (its arrival prediction). */
  private scoredWith: Prediction | null = null;

  constructor(
    readonly spec: LearnerSpec,
    config: RunMetrics,
  ) {
    const { window, fading } = config;
    this.window = window;
    this.metrics =
      spec.task === 'classify'
        ? { task: 'classify', set: metricSet<ClassObservation>({ metrics: config.classification, window, fading }) }
        : { task: 'regress', set: metricSet<RegressionObservation>({ metrics: config.regression, window, fading }) };
    this.learner = this.makeLearner(spec.model);
    this.detector = spec.detector?.() ?? null;
    if (this.detector !== null && spec.task === 'regress' && ['ddm', 'eddm', 'hddm-a'].includes(this.detector.name)) {
      throw new RangeError(`learner ${spec.name}: detector ${this.detector.name} takes 0/1 errors (or values in [0, 1]); a regression learner feeds its detector losses: use adwin, page-hinkley or kswin`);
    }
  }

  /** The prediction the last `observe`d row was scored with (null before any). */
  get lastPrediction(): Prediction | null {
    return this.scoredWith;
  }

  /** The model now in front (a background learner may have replaced the first). */
  get model(): Model {
    return this.learner.model;
  }

  get name(): string {
    return this.spec.name;
  }

  private makeLearner(model: Model): OnlineLearner {
    return onlineLearner(model, { loss: this.spec.loss, optimizer: this.spec.optimizer, clipNorm: this.spec.clipNorm, task: this.spec.task });
  }

  /** The prediction for a row as it arrives (forward only). */
  predict(sample: Sample): Prediction {
    return this.learner.predict(sample.x);
  }

  /**
   * Score, learn, detect and react for one labelled row; `arrived` is the prediction made when it
   * arrived, or null when the label came with the row (the step's own forward pass is that prediction).
   * Returns the events it caused.
   */
  observe(sample: Sample, arrived: Prediction | null, row: number): (DetectionEvent | ReactionEvent)[] {
    const events: (DetectionEvent | ReactionEvent)[] = [];
    const learned = this.learner.learn(sample);
    // Scored by the prediction made at arrival: the step's own forward pass when the label came with the row.
    const p = arrived ?? learned.prediction;
    this.scoredWith = p;
    const rowLoss = arrived === null ? learned.loss : this.lossOf(arrived, sample);
    this.score(p, sample, rowLoss);
    this.afterLearn(events, row);
    if (this.background !== null) this.stepBackground(sample, learned.prediction, events, row);
    if (this.detector !== null) this.detect(p, rowLoss, sample, events, row);
    return events;
  }

  /** The loss of an arrival prediction against the row's target, as the loss head computes it. */
  private lossOf(p: Prediction, sample: Sample): number {
    const n = p.output.length;
    const delta = new Float32Array(n);
    return this.spec.loss.compute(p.output, sample.target, 1, n, delta).loss;
  }

  private isRight(p: Prediction, sample: Sample): boolean {
    return p.predicted === sample.label;
  }

  private score(p: Prediction, sample: Sample, rowLoss: number): void {
    const m = this.metrics;
    if (m.task === 'classify') m.set.update({ predicted: p.predicted, truth: sample.label, ...(p.probabilities === null ? {} : { probabilities: p.probabilities }) });
    else m.set.update((this.spec.scoreValues ?? ((out, target) => ({ predicted: out[0], truth: target[0] })))(p.output, sample.target));
    this.scored++;
    // The same additions as prequential's fold at batch size 1, so the figures match it bit for bit.
    this.lossSum += rowLoss;
    this.recent.push(rowLoss);
    this.windowLoss += rowLoss;
    if (this.recent.length - this.recentHead > this.window) {
      this.windowLoss -= this.recent[this.recentHead++];
      if (this.recentHead > 4096 && this.recentHead * 2 > this.recent.length) {
        this.recent.splice(0, this.recentHead);
        this.recentHead = 0;
      }
    }
  }

  /** Timed effects of reactions: a boosted learning rate runs out. */
  private afterLearn(events: (DetectionEvent | ReactionEvent)[], row: number): void {
    if (this.boostLeft <= 0) return;
    this.boostLeft--;
    if (this.boostLeft === 0) {
      this.learner.lrFactor = 1;
      events.push({ type: 'reaction', row, learner: this.spec.name, reaction: 'boost-lr', detail: 'learning rate back to ×1' });
    }
  }

  private detect(p: Prediction, rowLoss: number, sample: Sample, events: (DetectionEvent | ReactionEvent)[], row: number): void {
    const detector = this.detector;
    if (detector === null) return;
    const value = this.spec.task === 'classify' ? (this.isRight(p, sample) ? 0 : 1) : rowLoss;
    const signal = detector.update(value);
    this.lastErrors.push(value);
    this.lastErrorsSum += value;
    if (this.lastErrors.length > DIRECTION_ROWS) this.lastErrorsSum -= this.lastErrors.shift() ?? 0;
    this.sinceDriftSum += value;
    this.sinceDriftCount++;
    if (signal.warning && !this.isWarning) {
      events.push({ type: 'detection', row, learner: this.spec.name, detector: detector.name, signal: 'warning' });
      this.startBackground(events, row);
    }
    this.isWarning = signal.warning;
    if (signal.drift) {
      const previous = this.lastDrift;
      const isRepeat = previous !== null && row - previous.row < DIRECTION_ROWS;
      const olderCount = this.sinceDriftCount - this.lastErrors.length;
      const direction: 'up' | 'down' = isRepeat
        ? previous.direction
        : olderCount < DIRECTION_ROWS || this.lastErrorsSum / this.lastErrors.length > (this.sinceDriftSum - this.lastErrorsSum) / olderCount
          ? 'up'
          : 'down';
      const reacted = direction === 'up' && !isRepeat;
      events.push({ type: 'detection', row, learner: this.spec.name, detector: detector.name, signal: 'drift', direction, reacted });
      if (!isRepeat) {
        this.lastDrift = { row, direction };
        this.sinceDriftSum = this.lastErrorsSum;
        this.sinceDriftCount = this.lastErrors.length;
      }
      if (reacted) this.react(events, row);
    }
  }

  private react(events: (DetectionEvent | ReactionEvent)[], row: number): void {
    const seed = (this.spec.seed ?? this.spec.model.seed) + row;
    for (const r of this.spec.reactions ?? []) {
      const event = (detail: string): void => {
        events.push({ type: 'reaction', row, learner: this.spec.name, reaction: r.kind, detail });
      };
      switch (r.kind) {
        case 'reset-optimizer':
          this.learner.resetOptimizer();
          event('optimizer state reset');
          break;
        case 'boost-lr':
          this.learner.lrFactor = r.factor;
          this.boostLeft = r.rows;
          event(`learning rate ×${r.factor} for ${r.rows} rows`);
          break;
        case 'reinit':
          this.learner.reinitialize(seed);
          event(`weights re-initialized (seed ${seed})`);
          break;
        case 'background':
          this.startBackground(events, row);
          break;
      }
    }
  }

  private startBackground(events: (DetectionEvent | ReactionEvent)[], row: number): void {
    const r = (this.spec.reactions ?? []).find((x): x is Extract<Reaction, { kind: 'background' }> => x.kind === 'background');
    if (r === undefined || this.background !== null) return;
    const seed = (this.spec.seed ?? this.spec.model.seed) + row;
    const model = r.init === 'copy' ? cloneModel(this.learner.model) : createModel([...this.spec.model.input], this.spec.model.layers.map((l) => l.spec), seed);
    this.background = { learner: this.makeLearner(model), startedAt: row, learned: 0, own: [], fore: [] };
    events.push({ type: 'reaction', row, learner: this.spec.name, reaction: 'background', detail: `background learner started (${r.init === 'copy' ? 'a copy of the weights' : `fresh weights, seed ${seed}`}; ${describeReaction(r)})` });
  }

  /** The background learner learns the row; after W rows it replaces the foreground if it did better over the last W, and is dropped after 4·W. */
  private stepBackground(sample: Sample, foreground: Prediction, events: (DetectionEvent | ReactionEvent)[], row: number): void {
    const bg = this.background;
    const r = (this.spec.reactions ?? []).find((x): x is Extract<Reaction, { kind: 'background' }> => x.kind === 'background');
    if (bg === null || r === undefined) return;
    const learned = bg.learner.learn(sample);
    bg.learned++;
    // Classification: 1 per right prediction; regression: the negative loss (higher is better).
    const merit = (p: Prediction, loss: number): number => (this.spec.task === 'classify' ? (this.isRight(p, sample) ? 1 : 0) : -loss);
    bg.own.push(merit(learned.prediction, learned.loss));
    bg.fore.push(merit(foreground, this.lossOf(foreground, sample)));
    if (bg.own.length > r.window) {
      bg.own.shift();
      bg.fore.shift();
    }
    if (bg.learned < r.window) return;
    const sum = (a: readonly number[]): number => a.reduce((s, v) => s + v, 0);
    const [own, fore] = [sum(bg.own) / bg.own.length, sum(bg.fore) / bg.fore.length];
    const what = this.spec.task === 'classify' ? 'accuracy' : 'mean loss';
    const show = (v: number): string => (this.spec.task === 'classify' ? v.toFixed(3) : (-v).toPrecision(4));
    if (own > fore) {
      this.learner.close();
      this.learner = bg.learner;
      this.background = null;
      events.push({ type: 'reaction', row, learner: this.spec.name, reaction: 'background', detail: `background learner replaced the foreground (${what} ${show(own)} vs ${show(fore)} over the last ${r.window} rows)` });
    } else if (bg.learned >= 4 * r.window) {
      bg.learner.close();
      this.background = null;
      events.push({ type: 'reaction', row, learner: this.spec.name, reaction: 'background', detail: `background learner dropped (${what} ${show(own)} vs ${show(fore)} over the last ${r.window} rows after ${bg.learned} rows)` });
    }
  }

  /** The whole run, copied (see the file comment). */
  snapshot(): LearnerRunState {
    const bg = this.background;
    return {
      name: this.spec.name,
      learner: this.learner.snapshot(),
      background: bg === null ? null : { learner: bg.learner.snapshot(), startedAt: bg.startedAt, learned: bg.learned, own: Float64Array.from(bg.own), fore: Float64Array.from(bg.fore) },
      isWarning: this.isWarning,
      boostLeft: this.boostLeft,
      scored: this.scored,
      lossSum: this.lossSum,
      recent: Float64Array.from(this.recent.slice(this.recentHead)),
      windowLoss: this.windowLoss,
      lastErrors: Float64Array.from(this.lastErrors),
      lastErrorsSum: this.lastErrorsSum,
      sinceDriftSum: this.sinceDriftSum,
      sinceDriftCount: this.sinceDriftCount,
      lastDrift: this.lastDrift,
      metrics: this.metrics.set.snapshot(),
      detector: this.detector?.snapshot() ?? null,
    };
  }

  /** Continue from a snapshot of a run of the same spec and metrics (the weights go into the model in front). */
  restore(s: LearnerRunState): void {
    const fail = (detail: string): never => {
      throw new RangeError(`learner ${this.spec.name}: cannot restore: ${detail}`);
    };
    if (s.name !== this.spec.name) fail(`the state is learner ${JSON.stringify(s.name)}'s`);
    if ((s.detector === null) !== (this.detector === null)) fail(s.detector === null ? 'the state has no detector state, the learner has a detector' : 'the state has a detector state, the learner has no detector');
    if (s.recent.length > this.window) fail(`${s.recent.length} window losses for a window of ${this.window}`);
    if (s.lastErrors.length > DIRECTION_ROWS) fail(`${s.lastErrors.length} recent errors, at most ${DIRECTION_ROWS} are kept`);
    const r = (this.spec.reactions ?? []).find((x) => x.kind === 'background');
    if (s.background !== null && r === undefined) fail('the state has a background learner, the learner has no background reaction');
    this.learner.restore(s.learner);
    this.background?.learner.close();
    this.background = null;
    if (s.background !== null) {
      const model = createModel([...this.spec.model.input], this.spec.model.layers.map((l) => l.spec), this.spec.model.seed);
      const learner = this.makeLearner(model);
      learner.restore(s.background.learner);
      this.background = { learner, startedAt: s.background.startedAt, learned: s.background.learned, own: Array.from(s.background.own), fore: Array.from(s.background.fore) };
    }
    this.isWarning = s.isWarning;
    this.boostLeft = s.boostLeft;
    this.scored = s.scored;
    this.lossSum = s.lossSum;
    this.recent.length = 0;
    for (const loss of s.recent) this.recent.push(loss);
    this.recentHead = 0;
    this.windowLoss = s.windowLoss;
    this.lastErrors.length = 0;
    this.lastErrors.push(...s.lastErrors);
    this.lastErrorsSum = s.lastErrorsSum;
    this.sinceDriftSum = s.sinceDriftSum;
    this.sinceDriftCount = s.sinceDriftCount;
    this.lastDrift = s.lastDrift === null ? null : { row: s.lastDrift.row, direction: s.lastDrift.direction };
    this.metrics.set.restore(s.metrics);
    if (s.detector !== null) this.detector?.restore(s.detector);
  }

  /** The figures now. */
  report(): LearnerReport {
    const n = Math.min(this.window, this.recent.length - this.recentHead);
    return {
      name: this.spec.name,
      scored: this.scored,
      values: this.metrics.set.values(),
      loss: this.scored === 0 ? null : this.lossSum / this.scored,
      lossWindow: n === 0 ? null : this.windowLoss / n,
    };
  }

  close(): void {
    this.learner.close();
    this.background?.learner.close();
  }
}
