/**
 * An online learner driven one sample at a time from code that is not a stream (a server's request
 * handler, a join of late labels): ONE subscription of `batch(1) → train(model, …)` is kept alive,
 * and `learn(sample)` pushes a sample through it synchronously and returns the step's metrics.
 *
 * It is the same operator chain `prequential` (and so `deltaflow online`) runs at batch size 1 —
 * the optimizer state, the step count and the layers' workspaces persist from call to call — so the
 * same samples in the same order give the same weights bit for bit. (The gradient worker keeps its
 * backprop subscription alive the same way, parallel/gradientWorker.ts.)
 *
 * A step that fails (a non-finite loss or gradient: NonFiniteError, before any weight changed) is
 * thrown from `learn`; the chain is then subscribed again with the same TrainingState, so the next
 * sample continues from the weights and optimizer state as they were.
 */
import { Subject, type Subscription } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { createTrainingState, type StepMetrics, type TrainingState } from '../training/applyOptimizer.js';
import { batch } from '../training/batch.js';
import { train, type TrainOptions } from '../training/train.js';
import type { Sample } from '../types.js';

export type OnlineLearnerOptions = Omit<TrainOptions, 'microBatches' | 'epoch' | 'workers' | 'pool'>;

export interface OnlineLearner {
  /** Predict-score-learn on one sample (updates the model in place); throws when the step fails. */
  learn(sample: Sample): StepMetrics;
  /** Optimizer slots, update count and samples learned. */
  readonly state: TrainingState;
  /** Ends the kept subscription. */
  close(): void;
}

/**
 * A kept-alive `batch(1) → train` subscription, stepped synchronously.
 *
 * @example
 * const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.01 }) });
 * const { loss, accuracy } = learner.learn(sample); // scored before the update, then learned
 */
export function onlineLearner(model: Model, options: OnlineLearnerOptions): OnlineLearner {
  const state = options.state ?? createTrainingState(model, options.optimizer);
  let input = new Subject<Sample>();
  let last: StepMetrics | null = null;
  let failure: { readonly error: unknown } | null = null;
  let subscription: Subscription;
  let isClosed = false;

  const subscribe = (): void => {
    input = new Subject<Sample>();
    subscription = input.pipe(batch(1), train(model, { ...options, state })).subscribe({
      next: (m) => (last = m),
      error: (error: unknown) => (failure = { error }),
    });
  };
  subscribe();

  return {
    state,
    learn(sample) {
      if (isClosed) throw new Error('onlineLearner: learn after close');
      last = null;
      input.next(sample);
      if (failure !== null) {
        const { error } = failure;
        failure = null;
        subscribe();
        throw error;
      }
      if (last === null) throw new Error('onlineLearner: the training step emitted nothing for a sample');
      return last;
    },
    close() {
      isClosed = true;
      subscription.unsubscribe();
    },
  };
}
