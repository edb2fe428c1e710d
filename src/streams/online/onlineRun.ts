/**
 * One subscription of evaluateOnline (evaluateOnline.ts has the semantics): the learners, the row
 * clock, the rows held by a delay, the label join and the labels that came before their rows — and
 * all of it as data (`snapshot()` / `restore()`), so a checkpoint taken between two items continues
 * the run exactly where it was.
 *
 * The events the operator emits, and its input items, are declared here (evaluateOnline.ts
 * re-exports them).
 */
import type { Model } from '../../layers/sequential.js';
import type { RowOrigin, Sample } from '../types.js';
import { ownedSample } from '../training/ownedSample.js';
import { packFloats, packHeld, unpackFloats, unpackHeld, type Held, type HeldRows, type PackedFloats } from './heldRows.js';
import { LabelJoin, type LabelJoinCounters } from './labelJoin.js';
import { LearnerRun, type DetectionEvent, type LearnerReport, type LearnerRunState, type LearnerSpec, type ReactionEvent, type RunMetrics } from './learnerRun.js';
import type { Prediction } from './onlineLearner.js';

/** A label arriving on its own for the row with this id (`labels: { byId }`): the class index, or the regression targets. */
export interface LabelArrival {
  readonly kind: 'label';
  readonly id: string;
  /** Class index, −1 for regression. */
  readonly label: number;
  /** One-hot of the class, or the target values. */
  readonly target: Float32Array;
  /** Where the label was read (a checkpoint's position in the labels' input); optional. */
  readonly origin?: RowOrigin;
}

export type OnlineInput = Sample | LabelArrival;

export type LabelTiming = 'with-row' | { readonly delay: number } | { readonly byId: { readonly maxWait: number } };

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

/** The run was stopped (`stop`) after an item: no end-of-stream work was done, the state is as after that item. */
export interface StoppedEvent {
  readonly type: 'stopped';
  readonly row: number;
  readonly learners: readonly LearnerReport[];
  /** With `labels: { byId }`: the join so far (rows still waiting for their label are in the snapshot). */
  readonly labels: LabelCounts | null;
}

export type OnlineEvent = ReportEvent | DetectionEvent | ReactionEvent | DoneEvent | StoppedEvent;

/** The layout version of OnlineRunState; a state of another version is refused. */
export const ONLINE_STATE_VERSION = 1;

/** An online run as data: what `snapshot()` gives and `restore()` (and evaluateOnline's `resume`) takes. */
export type OnlineRunState = {
  readonly version: number;
  /** Rows arrived. */
  readonly row: number;
  readonly learners: readonly LearnerRunState[];
  /** Rows held by a delay, oldest first. */
  readonly delayed: HeldRows;
  /** The label join (labels by id): its clock, counters and remembered ids, the waiting rows packed. */
  readonly join: {
    readonly now: number;
    readonly counters: Readonly<Record<keyof LabelJoinCounters, number>>;
    readonly ids: readonly string[];
    readonly times: readonly number[];
    readonly isCurrent: readonly boolean[];
    /** Which remembered ids still wait for their label; `items` holds their rows, in order. */
    readonly isPending: readonly boolean[];
    readonly items: HeldRows;
  } | null;
  /** Labels that came before their rows: id, arrival time, class and target; `order` is the expiry queue. */
  readonly early: { readonly ids: readonly string[]; readonly times: readonly number[]; readonly labels: Int32Array; readonly targets: PackedFloats; readonly order: readonly string[] } | null;
  readonly labelsWithoutRow: number;
};

const isLabelArrival = (v: OnlineInput): v is LabelArrival => 'kind' in v && v.kind === 'label';

/** The state of one evaluateOnline subscription. */
export class OnlineRun {
  private row = 0;
  private readonly runs: LearnerRun[] = [];
  private delayed: Held[] = [];
  private delayedHead = 0;
  private readonly join: LabelJoin<Held> | null;
  /** Labels that came before their row, waiting for it (byId). */
  private readonly early = new Map<string, { readonly arrival: LabelArrival; readonly time: number }>();
  private earlyOrder: string[] = [];
  private earlyHead = 0;
  private labelsWithoutRow = 0;

  constructor(
    learners: readonly LearnerSpec[],
    config: RunMetrics,
    private readonly reportEvery: number,
    private readonly delay: number,
    private readonly maxWait: number | null,
    private readonly emit: (e: OnlineEvent) => void,
    private readonly onPrediction?: (sample: Sample, predictions: readonly Prediction[]) => void,
  ) {
    try {
      for (const spec of learners) this.runs.push(new LearnerRun(spec, config));
    } catch (e) {
      this.close();
      throw e;
    }
    this.join = maxWait === null ? null : new LabelJoin<Held>({ maxWait });
  }

  /** Rows arrived so far. */
  get rows(): number {
    return this.row;
  }

  /** Take one item: a row (predicted, and learned from when its label is known) or a label. */
  take(item: OnlineInput): void {
    if (isLabelArrival(item)) this.onLabel(item);
    else this.onRow(item);
  }

  private emitEvents(events: readonly (DetectionEvent | ReactionEvent)[]): void {
    for (const e of events) this.emit(e);
  }

  private learnAll(sample: Sample, predictions: readonly Prediction[] | null): void {
    this.runs.forEach((run, i) => this.emitEvents(run.observe(sample, predictions === null ? null : predictions[i], this.row)));
  }

  private reports(): LearnerReport[] {
    return this.runs.map((r) => r.report());
  }

  private report(): void {
    this.emit({ type: 'report', row: this.row, learners: this.reports() });
  }

  private withLabel(sample: Sample, arrival: LabelArrival): Sample {
    return { ...sample, label: arrival.label, target: arrival.target };
  }

  private expireEarly(): void {
    while (this.earlyHead < this.earlyOrder.length) {
      const id = this.earlyOrder[this.earlyHead];
      const waiting = this.early.get(id);
      if (waiting !== undefined && this.row - waiting.time <= (this.maxWait ?? 0)) break;
      if (waiting !== undefined) {
        this.early.delete(id);
        this.labelsWithoutRow++;
      }
      this.earlyHead++;
    }
    if (this.earlyHead > 4096) {
      this.earlyOrder.splice(0, this.earlyHead);
      this.earlyHead = 0;
    }
  }

  private onRow(sample: Sample): void {
    this.row++;
    const join = this.join;
    if (join === null && this.delay === 0) {
      this.learnAll(sample, null);
      // The learning step's own forward pass made the prediction the row was scored with.
      this.onPrediction?.(sample, this.runs.map((r) => r.lastPrediction ?? r.predict(sample)));
    } else {
      // Held until its label comes: in arrays of its own, not in the larger buffer it may have come in.
      const held: Held = { sample: ownedSample(sample), predictions: this.runs.map((r) => r.predict(sample)) };
      this.onPrediction?.(sample, held.predictions);
      if (join === null) {
        this.delayed.push(held);
        if (this.delayed.length - this.delayedHead > this.delay) {
          const due = this.delayed[this.delayedHead++];
          this.learnAll(due.sample, due.predictions);
          if (this.delayedHead > 4096) {
            this.delayed.splice(0, this.delayedHead);
            this.delayedHead = 0;
          }
        }
      } else {
        const id = sample.origin.id;
        if (id === undefined) throw new Error(`evaluateOnline: the row at ${sample.origin.source}:${sample.origin.line} has no id (labels by id need an id column)`);
        if (join.predicted(id, held)) {
          const waiting = this.early.get(id);
          if (waiting !== undefined) {
            this.early.delete(id);
            const joined = join.labelled(id);
            if (joined !== null) this.learnAll(this.withLabel(joined.sample, waiting.arrival), joined.predictions);
          }
        }
        join.tick();
        this.expireEarly();
      }
    }
    if (this.row % this.reportEvery === 0) this.report();
  }

  private onLabel(arrival: LabelArrival): void {
    const join = this.join;
    if (join === null) throw new Error(`evaluateOnline: a label for id ${JSON.stringify(arrival.id)} arrived, but labels come with the rows (labels: { byId } joins them)`);
    if (join.isKnown(arrival.id)) {
      // Waiting: learn it now; labelled already: counted as a duplicate label.
      const joined = join.labelled(arrival.id);
      if (joined !== null) this.learnAll(this.withLabel(joined.sample, arrival), joined.predictions);
      return;
    }
    if (this.early.has(arrival.id)) {
      this.labelsWithoutRow++;
      return;
    }
    this.early.set(arrival.id, { arrival, time: this.row });
    this.earlyOrder.push(arrival.id);
  }

  /** The end of the stream: the labels still held by a delay are revealed; rows still waiting by id never got theirs. Emits the last report and `done`. */
  end(): void {
    for (let i = this.delayedHead; i < this.delayed.length; i++) this.learnAll(this.delayed[i].sample, this.delayed[i].predictions);
    this.delayed = [];
    this.delayedHead = 0;
    const join = this.join;
    if (join !== null) {
      join.drain();
      this.labelsWithoutRow += this.early.size;
      this.early.clear();
    }
    if (this.row % this.reportEvery !== 0) this.report();
    this.emit({ type: 'done', row: this.row, learners: this.reports(), models: this.runs.map((r) => r.model), labels: join === null ? null : { ...join.counters, labelsWithoutRow: this.labelsWithoutRow } });
  }

  /** Emits `stopped`: the run ends here without the end-of-stream work (its state is what a snapshot now holds). */
  stop(): void {
    const join = this.join;
    this.emit({ type: 'stopped', row: this.row, learners: this.reports(), labels: join === null ? null : { ...join.counters, labelsWithoutRow: this.labelsWithoutRow } });
  }

  /** The whole run as data (see OnlineRunState), copied. */
  snapshot(): OnlineRunState {
    const n = this.runs.length;
    const join = this.join;
    let joinState: OnlineRunState['join'] = null;
    if (join !== null) {
      const s = join.snapshot();
      const waiting = s.items.filter((p): p is Held => p !== null);
      joinState = { now: s.now, counters: { ...s.counters }, ids: s.ids, times: s.times, isCurrent: s.isCurrent, isPending: s.items.map((p) => p !== null), items: packHeld(waiting, n) };
    }
    const early = [...this.early.entries()];
    return {
      version: ONLINE_STATE_VERSION,
      row: this.row,
      learners: this.runs.map((r) => r.snapshot()),
      delayed: packHeld(this.delayed.slice(this.delayedHead), n),
      join: joinState,
      early:
        join === null
          ? null
          : {
              ids: early.map(([id]) => id),
              times: early.map(([, w]) => w.time),
              labels: Int32Array.from(early, ([, w]) => w.arrival.label),
              targets: packFloats(early.map(([, w]) => w.arrival.target)),
              order: this.earlyOrder.slice(this.earlyHead),
            },
      labelsWithoutRow: this.labelsWithoutRow,
    };
  }

  /** Continue from a snapshot of a run over the same learners and options. */
  restore(s: OnlineRunState): void {
    const n = this.runs.length;
    const fail = (detail: string): never => {
      throw new RangeError(`evaluateOnline: cannot resume: ${detail}`);
    };
    if (s.version !== ONLINE_STATE_VERSION) fail(`the state has layout version ${s.version}, this deltaflow reads ${ONLINE_STATE_VERSION}`);
    if (s.learners.length !== n) fail(`the state holds ${s.learners.length} learners, the run has ${n}`);
    if ((s.join === null) !== (this.join === null)) fail(s.join === null ? 'the state has no label join, the run joins labels by id' : 'the state has a label join, the run does not join labels by id');
    if (this.join === null && this.delay === 0 && s.delayed.n > 0) fail(`the state holds ${s.delayed.n} delayed rows, the run has no delay`);
    this.runs.forEach((r, i) => r.restore(s.learners[i]));
    this.row = s.row;
    this.delayed = unpackHeld(s.delayed, n);
    this.delayedHead = 0;
    const join = this.join;
    if (join !== null && s.join !== null) {
      const items = unpackHeld(s.join.items, n);
      let next = 0;
      const pending = s.join.isPending.map((isPending) => (isPending ? (items[next++] ?? fail('the join holds fewer rows than ids waiting')) : null));
      join.restore({ now: s.join.now, counters: s.join.counters, ids: s.join.ids, times: s.join.times, isCurrent: s.join.isCurrent, items: pending });
    }
    this.early.clear();
    this.earlyOrder = [];
    const early = s.early;
    if (early !== null) {
      if (early.times.length !== early.ids.length || early.labels.length !== early.ids.length) fail(`${early.ids.length} early labels with ${early.times.length} times and ${early.labels.length} classes`);
      const targets = unpackFloats(early.targets, early.ids.length, 'early label targets');
      early.ids.forEach((id, i) => {
        const target = targets[i] ?? fail(`early label ${id} has no target`);
        this.early.set(id, { arrival: { kind: 'label', id, label: early.labels[i], target }, time: early.times[i] });
      });
      this.earlyOrder = [...early.order];
    }
    this.earlyHead = 0;
    this.labelsWithoutRow = s.labelsWithoutRow;
  }

  close(): void {
    for (const r of this.runs) r.close();
  }
}
