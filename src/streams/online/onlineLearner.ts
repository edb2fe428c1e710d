/**
 * An online learner: one model that predicts a row when it arrives and learns from a row when its
 * label is known, one row at a time — the unit that prequential evaluation, drift reactions, delayed
 * labels and the model server drive.
 *
 *   predict(x)      forward only (layer 1 … L): the output, its class and its probabilities
 *   learn(sample)   one training step on the one-row batch — exactly `train`'s composition,
 *                   backprop → averageGradients → applyOptimizer, kept subscribed (its workspaces and
 *                   optimizer state persist) and driven synchronously — returning the prediction its
 *                   forward pass made before the update, and the step's metrics
 *
 * A step is therefore bit for bit a step of `batch(1) → train(...)`, the same numbers `prequential`
 * gives. A step that fails (a non-finite loss or gradient: NonFiniteError, before any weight changed)
 * is thrown from `learn`; the chain is then subscribed again with the same state, so the next row
 * continues from the weights and optimizer state as they were (a server keeps serving). Reactions to drift act on the learner between rows: `lrFactor` scales the learning rate from
 * the next step on, `resetOptimizer()` forgets the optimizer's slots (momentum, Adam's moments and its
 * step count), `reinitialize(seed)` draws new weights as `sequential` does for that seed.
 *
 * `snapshot()` copies what a checkpoint needs to continue the learner bit for bit — the weights, the
 * optimizer state (kind, step count t, slots), the samples learned and `lrFactor` — and `restore`
 * puts such a copy back (same architecture and optimizer).
 *
 * Probabilities: softmax of the output for a softmax cross-entropy model (MATH 4.2, computed with the
 * max subtracted); for a classifier trained with mean squared error (sigmoid outputs) the outputs,
 * clamped at 0 and normalized to sum 1; null for regression.
 */
import { Subject, tap, type Subscription } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { createModel, forwardAll } from '../../layers/sequential.js';
import { softmaxRows } from '../../ops/activations.js';
import { argmaxRow } from '../../ops/metrics.js';
import { restoreOptimizerState, type OptimizerConfig, type OptimizerKind } from '../../ops/optimizers.js';
import { constantLr, type LrSchedule } from '../../ops/schedules.js';
import { sizeOf, Workspace } from '../../ops/tensor.js';
import { applyOptimizer, createTrainingState, type StepMetrics, type TrainingState } from '../training/applyOptimizer.js';
import { averageGradients } from '../training/averageGradients.js';
import { backprop } from '../training/backprop.js';
import type { Internals } from '../training/internals.js';
import type { Backward, Loss } from '../training/lossHead.js';
import type { Batch, Sample } from '../types.js';

export interface OnlineLearnerOptions {
  readonly loss: Loss;
  readonly optimizer: OptimizerConfig;
  readonly clipNorm?: number;
  /** Factor on the learning rate by step (default constant). */
  readonly lrSchedule?: LrSchedule;
  readonly totalSteps?: number;
  /** Optimizer state and counters to continue from (a checkpoint's); default fresh. */
  readonly state?: TrainingState;
  readonly checkNumerics?: boolean;
  readonly internals?: Internals;
  /** What the outputs are: class scores (predictions get a class and probabilities) or values. Default: classify for softmax cross-entropy, else regress. */
  readonly task?: 'classify' | 'regress';
}

/** What the model says about one row. */
export interface Prediction {
  /** The model's output for the row (a copy). */
  readonly output: Float32Array;
  /** The class with the largest output, or −1 for regression. */
  readonly predicted: number;
  /** Class probabilities (see the file comment); null for regression. */
  readonly probabilities: Float32Array | null;
}

/** One learned row: the prediction made by the step's forward pass (before its update), and the step. */
export interface Learned {
  readonly prediction: Prediction;
  /** The row's loss, computed before the update. */
  readonly loss: number;
  readonly step: StepMetrics;
}

/** A learner's whole state (see the file comment): copies, so learning may go on. */
export type LearnerState = {
  /** Every parameter's values, in `model.params` order. */
  readonly weights: readonly Float32Array[];
  readonly optimizer: { readonly kind: OptimizerKind; readonly t: number; readonly slots: readonly (readonly Float32Array[])[] };
  readonly samples: number;
  readonly lrFactor: number;
};

export interface OnlineLearner {
  readonly model: Model;
  readonly state: TrainingState;
  /** Multiplies the learning rate of every step from now on (1: as configured). */
  lrFactor: number;
  predict(x: Float32Array): Prediction;
  learn(sample: Sample): Learned;
  /** Forget the optimizer's slots and step count: the next step is its first. */
  resetOptimizer(): void;
  /** New weights, as `sequential` initializes them for `seed` (the optimizer is reset too). */
  reinitialize(seed: number): void;
  /** The whole state, copied (see the file comment). */
  snapshot(): LearnerState;
  /** Continue from a snapshot of a learner of the same architecture and optimizer. */
  restore(saved: LearnerState): void;
  /** End the kept subscription. */
  close(): void;
}

function predictionOf(output: Float32Array, nOut: number, loss: Loss, isClassify: boolean): Prediction {
  const copy = output.slice(0, nOut);
  if (!isClassify) return { output: copy, predicted: -1, probabilities: null };
  const predicted = argmaxRow(copy, 0, nOut);
  let probabilities: Float32Array;
  if (loss.name === 'softmaxCrossEntropy') probabilities = softmaxRows(copy, 1, nOut);
  else {
    probabilities = new Float32Array(nOut);
    let sum = 0;
    for (let k = 0; k < nOut; k++) sum += probabilities[k] = Math.max(0, copy[k]);
    for (let k = 0; k < nOut; k++) probabilities[k] = sum > 0 ? probabilities[k] / sum : 1 / nOut;
  }
  return { output: copy, predicted, probabilities };
}

/**
 * An online learner for `model`, which it updates in place.
 *
 * @example
 * const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
 * const { prediction } = learner.learn(sample); // predicted, then learned from
 */
export function onlineLearner(model: Model, options: OnlineLearnerOptions): OnlineLearner {
  const nOut = sizeOf(model.outShape);
  const state = options.state ?? createTrainingState(model, options.optimizer);
  const schedule = options.lrSchedule ?? constantLr();
  const isClassify = (options.task ?? (options.loss.name === 'softmaxCrossEntropy' ? 'classify' : 'regress')) === 'classify';
  const wss = model.layers.map(() => new Workspace());
  let input = new Subject<Batch>();
  let backward: Backward | null = null;
  let lastStep: StepMetrics | null = null;
  let failure: { readonly error: unknown } | null = null;

  const learner: OnlineLearner = {
    model,
    state,
    lrFactor: 1,
    predict(x) {
      const y = forwardAll(model, { data: x, shape: [1, ...model.input] }, wss);
      return predictionOf(y.data, nOut, options.loss, isClassify);
    },
    learn(sample) {
      if (isClosed) throw new Error('onlineLearner: learn after close');
      const isLabelled = sample.label >= 0;
      const batch: Batch = {
        x: { data: sample.x, shape: [1, sample.x.length] },
        target: { data: sample.target, shape: [1, sample.target.length] },
        labels: isLabelled ? Int32Array.of(sample.label) : null,
        m: 1,
        origins: [sample.origin],
      };
      backward = null;
      lastStep = null;
      input.next(batch);
      // NOTE: the step ran synchronously inside next(), which may have set these (TypeScript cannot see it).
      const failed = failure as { readonly error: unknown } | null;
      if (failed !== null) {
        failure = null;
        subscribe();
        throw failed.error;
      }
      const b = backward as Backward | null;
      const step = lastStep as StepMetrics | null;
      if (b === null || step === null) throw new Error('onlineLearner: the training step emitted nothing');
      return { prediction: predictionOf(b.output.data, nOut, options.loss, isClassify), loss: b.loss, step };
    },
    resetOptimizer() {
      state.optimizer.t = 0;
      for (const slots of state.optimizer.slots) for (const s of slots) s.fill(0);
    },
    reinitialize(seed) {
      const fresh = createModel([...model.input], model.layers.map((l) => l.spec), seed);
      model.params.forEach((p, j) => p.value.set(fresh.params[j].value));
      learner.resetOptimizer();
    },
    snapshot() {
      const o = state.optimizer;
      return {
        weights: model.params.map((p) => p.value.slice()),
        optimizer: { kind: o.kind, t: o.t, slots: o.slots.map((slots) => slots.map((v) => v.slice())) },
        samples: state.samples,
        lrFactor: learner.lrFactor,
      };
    },
    restore(saved) {
      const { params } = model;
      const bad = saved.weights.length !== params.length ? `${saved.weights.length} parameter tensors, the model has ${params.length}` : null;
      const wrong = saved.weights.findIndex((w, j) => w.length !== params[j]?.value.length);
      if (bad !== null || wrong >= 0) {
        throw new RangeError(`onlineLearner: cannot restore: ${bad ?? `parameter ${wrong} (${params[wrong].name}) has ${saved.weights[wrong].length} values, the model's ${params[wrong].value.length}`}`);
      }
      if (!(Number.isSafeInteger(saved.samples) && saved.samples >= 0) || !(Number.isFinite(saved.lrFactor) && saved.lrFactor > 0)) {
        throw new RangeError(`onlineLearner: cannot restore: samples ${saved.samples} and lrFactor ${saved.lrFactor} must be a count and a positive factor`);
      }
      restoreOptimizerState(state.optimizer, saved.optimizer);
      params.forEach((p, j) => p.value.set(saved.weights[j]));
      state.samples = saved.samples;
      learner.lrFactor = saved.lrFactor;
    },
    close() {
      isClosed = true;
      subscription.unsubscribe();
    },
  };
  let isClosed = false;
  let subscription: Subscription;
  const subscribe = (): void => {
    input = new Subject<Batch>();
    subscription = input
      .pipe(
        backprop(model, { loss: options.loss, internals: options.internals }),
        tap((b) => {
          backward = b;
        }),
        averageGradients({ checkNumerics: options.checkNumerics }),
        applyOptimizer(model, options.optimizer, {
          clipNorm: options.clipNorm,
          // NOTE: × 1 is exact, so an unchanged factor gives the configured schedule's bits.
          lrSchedule: (step, total) => schedule(step, total) * learner.lrFactor,
          totalSteps: options.totalSteps,
          state,
        }),
      )
      .subscribe({
        next: (m) => {
          lastStep = m;
        },
        error: (error: unknown) => {
          failure = { error };
        },
      });
  };
  subscribe();
  return learner;
}
