/**
 * The model a server answers with while it learns: published versions (ModelVersions), the label
 * join of late labels (LabelJoin), the prequential scores, snapshots, and one queue that puts every
 * change of the weights — learning a request's rows, swapping in another model — in arrival order.
 *
 * Predicting: a request takes `current` ONCE and runs all its rows through that version's weights,
 * which nothing writes again, so an answer is always one version's (the one it names). With `--learn`
 * every predicted row is an arrival for the label join (one tick), and a row with an id is kept —
 * its features and the outputs it got — until its label comes or it expires.
 *
 * Learning: the queue runs one job at a time, in order; a job learns its items one by one (test then
 * train: a labelled row is scored by the learner's weights right before its update, a late label by
 * the prediction its row got when it arrived) and yields to the event loop every SLICE_MS, so
 * predictions keep being answered during a long request, while the ORDER of learned rows stays that
 * of the requests. A labelled row is an arrival too (one tick). A row whose step is not finite stops
 * its job there (the rows before it are learned, the rest not) and the weights stay as they were.
 *
 * A version's file (`model.json`, snapshots) is the model with its data description; once it learned,
 * its meta says so the way `online --save` does: `training: {online, data, rows, optimizer, lr}`.
 */
import { createHash } from 'node:crypto';
import { of } from 'rxjs';
import { modelToJson, type JsonObject } from '../../src/layers/modelFile.js';
import { forwardAll } from '../../src/layers/sequential.js';
import type { OptimizerConfig } from '../../src/ops/optimizers.js';
import { sizeOf, Workspace } from '../../src/ops/tensor.js';
import { LabelJoin } from '../../src/streams/online/labelJoin.js';
import { ModelVersions, type ModelVersion } from '../../src/streams/online/modelVersions.js';
import type { Loss } from '../../src/streams/training/lossHead.js';
import { NonFiniteError } from '../../src/streams/training/numerics.js';
import type { Sample } from '../../src/streams/types.js';
import { metaToJson, outputCount, type DataMeta } from '../commands/meta.js';
import { normalizeTargets } from '../commands/targets.js';
import { argmax } from './answers.js';
import { HttpError } from './httpError.js';
import type { ServableModel } from './modelCheck.js';
import type { LearnItem, PredictRow } from './rows.js';
import { PrequentialTally, type PrequentialScores } from './scores.js';
import type { SnapshotWriter } from './snapshots.js';

/** Time a learning job runs before it lets other requests in. */
export const SLICE_MS = 4;
/** Forward workspaces kept per batch size (requests of many sizes would otherwise reallocate). */
const MAX_WORKSPACE_SIZES = 8;

export interface LearningOptions {
  readonly publishEvery: number;
  readonly maxLabelWait: number;
  readonly window: number;
}

export interface LiveModelOptions {
  readonly served: ServableModel;
  /** The learner's loss (also scores late labels) and update rule. */
  readonly loss: Loss;
  readonly optimizer: OptimizerConfig;
  /** Null: predictions only. */
  readonly learning: LearningOptions | null;
  readonly snapshots: SnapshotWriter | null;
  /** Called with each new version, and with the scores after each learning job. */
  readonly onVersion?: (v: ServedVersion) => void;
  readonly onScores?: (scores: PrequentialScores & { readonly version: number }) => void;
}

/** A published version with its file's meta; its text and hash are computed once, when first asked for. */
export class ServedVersion {
  private fileText: string | null = null;
  private digest: string | null = null;

  constructor(
    readonly published: ModelVersion,
    readonly meta: JsonObject,
  ) {}

  get version(): number {
    return this.published.version;
  }

  /** The model file of this version (what GET /model.json serves and a snapshot holds). */
  get text(): string {
    this.fileText ??= modelToJson(this.published.model, this.meta);
    return this.fileText;
  }

  /** `sha256:<hex>` of `text`. */
  get hash(): string {
    this.digest ??= `sha256:${createHash('sha256').update(this.text, 'utf8').digest('hex')}`;
    return this.digest;
  }
}

/** What a late label waits with: the row's features and the outputs it was answered with. */
interface Pending {
  readonly x: Float32Array;
  readonly output: Float32Array;
  readonly version: number;
  readonly origin: Sample['origin'];
}

export type LearnResult =
  | { readonly index: number; readonly status: 'learned'; readonly loss: number; readonly correct: boolean | null; readonly id?: string; readonly predictedBy?: number }
  | { readonly index: number; readonly status: 'unknown-id' | 'duplicate-label'; readonly id: string };

export interface LearnReport {
  readonly version: number;
  readonly learned: number;
  readonly results: readonly LearnResult[];
  /** Set when a row's step was not finite: that row and the ones after it were not learned. */
  readonly failure: { readonly index: number; readonly message: string } | null;
}

export interface LiveCounters {
  rowsPredicted: number;
  rowsLearned: number;
  lateLabelsLearned: number;
  versionsPublished: number;
  swaps: number;
  nonFiniteRows: number;
}

type Task = (deadline: number) => boolean;

export class LiveModel {
  readonly counters: LiveCounters = { rowsPredicted: 0, rowsLearned: 0, lateLabelsLearned: 0, versionsPublished: 0, swaps: 0, nonFiniteRows: 0 };
  readonly join: LabelJoin<Pending> | null;
  private readonly versions: ModelVersions;
  private readonly tally: PrequentialTally;
  private readonly learning: LearningOptions | null;
  private meta: DataMeta;
  private baseMeta: JsonObject;
  private served: ServedVersion;
  private workspaces = new Map<number, Workspace[]>();
  private readonly queue: Task[] = [];
  private isPumping = false;
  private readonly scratch: Float32Array;

  constructor(private readonly options: LiveModelOptions) {
    const { served, learning } = options;
    this.learning = learning;
    this.meta = served.meta;
    this.baseMeta = served.fileMeta;
    // Without --learn the learner is never stepped.
    this.versions = new ModelVersions(served.model, { loss: options.loss, optimizer: options.optimizer, publishEvery: learning?.publishEvery ?? 1 });
    this.join = learning === null ? null : new LabelJoin<Pending>({ maxWait: learning.maxLabelWait });
    this.tally = new PrequentialTally(learning?.window ?? 1);
    this.served = new ServedVersion(this.versions.current, this.baseMeta);
    if (options.snapshots?.wants(1) === true) options.snapshots.write(1, this.served.published.model, this.baseMeta);
    this.scratch = new Float32Array(outputCount(this.meta));
  }

  get current(): ServedVersion {
    return this.served;
  }

  get dataMeta(): DataMeta {
    return this.meta;
  }

  get isLearning(): boolean {
    return this.learning !== null;
  }

  get scores(): PrequentialScores {
    return this.tally.scores;
  }

  /** Updates of the learner since the model was loaded or swapped, and those not yet published. */
  get updates(): { readonly total: number; readonly pending: number } {
    return { total: this.versions.updateCount, pending: this.versions.pendingUpdates };
  }

  /** Jobs waiting in the learning queue. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Outputs `[m, k]` of the rows, all from one version; with learning, rows with an id wait for their
   * label. A request whose ids repeat, or are already waiting, is refused whole (409).
   */
  predict(rows: readonly PredictRow[]): { readonly served: ServedVersion; readonly out: Float32Array; readonly k: number } {
    const { join } = this;
    if (join !== null) {
      const ids = rows.filter((r) => r.id !== null);
      const dup = join.checkIds(ids.map((r) => r.id ?? ''));
      if (dup >= 0) {
        const row = ids[dup];
        throw new HttpError(409, 'duplicate_id', `row ${row.index}: the id ${JSON.stringify(row.id)} is already waiting for its label (or repeats in this request); nothing was predicted`);
      }
    }
    const served = this.served;
    const { model } = served.published;
    const m = rows.length;
    const n = sizeOf(model.input);
    const k = outputCount(this.meta);
    const x = new Float32Array(m * n);
    rows.forEach((r, i) => x.set(r.sample.x, i * n));
    const y = forwardAll(model, { data: x, shape: [m, ...model.input] }, this.workspacesFor(m));
    // A copy: the workspace's buffer is overwritten by the next request.
    const out = Float32Array.from(y.data.subarray(0, m * k));
    this.counters.rowsPredicted += m;
    if (join !== null) {
      rows.forEach((r, i) => {
        if (r.id !== null) join.predicted(r.id, { x: r.sample.x, output: out.slice(i * k, (i + 1) * k), version: served.version, origin: r.sample.origin });
        join.tick();
      });
    }
    return { served, out, k };
  }

  /** Learns the items after the jobs queued before; resolves once done and their snapshots are written. */
  learn(items: readonly LearnItem[]): Promise<LearnReport> {
    const { learning, join } = this;
    if (learning === null || join === null) return Promise.reject(new HttpError(403, 'not_learning', 'this server does not learn (start it with --learn)'));
    return new Promise((resolve, reject) => {
      const results: LearnResult[] = [];
      let next = 0;
      let learned = 0;
      let failure: LearnReport['failure'] = null;
      this.enqueue((deadline) => {
        while (next < items.length && failure === null) {
          const item = items[next++];
          try {
            const result = this.learnItem(item, join);
            if (result.status === 'learned') learned++;
            results.push(result);
          } catch (e) {
            if (!(e instanceof NonFiniteError)) {
              reject(e);
              return true;
            }
            this.counters.nonFiniteRows++;
            failure = { index: item.index, message: `row ${item.index}: not learned, its training step is not finite (${e.message}); the rows before it were learned, the rest were not` };
          }
          if (performance.now() > deadline) break;
        }
        const isDone = next >= items.length || failure !== null;
        if (isDone) {
          const scores = { version: this.served.version, ...this.tally.scores };
          this.options.onScores?.(scores);
          const report: LearnReport = { version: this.served.version, learned, results, failure };
          const flushed = this.options.snapshots?.flush() ?? Promise.resolve();
          void flushed.then(() => resolve(report));
        }
        return isDone;
      });
    });
  }

  /** Swaps in `next` after the jobs queued before (it is already checked: modelCheck.ts). */
  swap(next: ServableModel): Promise<ServedVersion> {
    return new Promise((resolve) => {
      this.enqueue(() => {
        this.meta = next.meta;
        this.baseMeta = next.fileMeta;
        this.workspaces = new Map();
        this.counters.swaps++;
        resolve(this.published(this.versions.replace(next.model)));
        return true;
      });
    });
  }

  /** Publishes pending updates (at shutdown) and returns the items still waiting for a label. */
  close(): { readonly neverLabelled: number } {
    const v = this.versions.publish();
    if (v !== null) this.published(v);
    this.versions.close();
    return { neverLabelled: this.join?.drain().length ?? 0 };
  }

  private learnItem(item: LearnItem, join: LabelJoin<Pending>): LearnResult {
    if (item.kind === 'row') {
      const { metrics, published } = this.versions.learn(this.learnSample(item.sample));
      if (published !== null) this.published(published);
      this.counters.rowsLearned++;
      const correct = metrics.accuracy === null ? null : metrics.accuracy === 1;
      this.tally.add(metrics.loss, correct);
      join.tick();
      return { index: item.index, status: 'learned', loss: metrics.loss, correct, ...(item.id === null ? {} : { id: item.id }) };
    }
    const before = join.counters.duplicateLabels;
    const pending = join.labelled(item.id);
    if (pending === null) return { index: item.index, status: join.counters.duplicateLabels > before ? 'duplicate-label' : 'unknown-id', id: item.id };
    const sample = this.learnSample({ x: pending.x, target: item.target, label: item.label, origin: pending.origin });
    // Scored by the prediction the row got when it arrived, then learned from.
    const k = sample.target.length;
    const { loss } = this.options.loss.compute(pending.output, sample.target, 1, k, this.scratch);
    const correct = item.label >= 0 ? argmax(pending.output) === item.label : null;
    const { published } = this.versions.learn(sample);
    if (published !== null) this.published(published);
    this.counters.rowsLearned++;
    this.counters.lateLabelsLearned++;
    this.tally.add(loss, correct);
    return { index: item.index, status: 'learned', loss, correct, id: item.id, predictedBy: pending.version };
  }

  /** The sample the learner sees: targets normalized as the model learned them (online does the same). */
  private learnSample(sample: Sample): Sample {
    let out = sample;
    of(sample)
      .pipe(normalizeTargets(this.meta.targetNormalize))
      .subscribe((s) => (out = s));
    return out;
  }

  private published(v: ModelVersion): ServedVersion {
    const learning = this.learning;
    const meta =
      v.updates === 0 || learning === null
        ? this.baseMeta
        : metaToJson(this.meta, { training: { online: true, data: 'deltaflow serve', rows: v.updates, optimizer: this.options.optimizer.kind, lr: this.options.optimizer.lr } });
    const served = new ServedVersion(v, meta);
    this.served = served;
    this.counters.versionsPublished++;
    const { snapshots } = this.options;
    if (snapshots !== null && snapshots.wants(v.version)) snapshots.write(v.version, v.model, meta);
    this.options.onVersion?.(served);
    return served;
  }

  private workspacesFor(m: number): Workspace[] {
    let wss = this.workspaces.get(m);
    if (wss === undefined) {
      if (this.workspaces.size >= MAX_WORKSPACE_SIZES) this.workspaces.delete(this.workspaces.keys().next().value ?? m);
      wss = this.served.published.model.layers.map(() => new Workspace());
      this.workspaces.set(m, wss);
    }
    return wss;
  }

  private enqueue(task: Task): void {
    this.queue.push(task);
    if (!this.isPumping) this.pump();
  }

  private pump(): void {
    this.isPumping = true;
    const deadline = performance.now() + SLICE_MS;
    while (this.queue.length > 0) {
      const task = this.queue[0];
      let isDone: boolean;
      try {
        isDone = task(deadline);
      } catch (e) {
        // Tasks catch what they expect; anything else is a bug, not bad input: the job is dropped with a line on stderr.
        process.stderr.write(`deltaflow serve: a learning job failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
        isDone = true;
      }
      if (isDone) this.queue.shift();
      if (!isDone || performance.now() > deadline) {
        setImmediate(() => this.pump());
        return;
      }
    }
    this.isPumping = false;
  }
}
