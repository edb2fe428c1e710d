/**
 * One training step as one operator: Batch in, StepMetrics out. It is literally the composition of
 * the pieces, so a user can place them by hand inside their own pipe with ordinary RxJS operators
 * between them and get the same weights bit for bit:
 *
 *   forwardModel → lossHead → deltaModel → averageGradients → applyOptimizer
 *   └──────────── backprop ───────────┘
 *
 * `backprop` (backprop.ts: forward + loss + delta on a batch → Σ-gradients per layer) is the reusable half: with
 * `workers: N` it is replaced by `parallelBackprop` (parallelBackprop.ts), where each gradient worker keeps
 * one subscription of it alive (its workspaces persist), pushes its slice of each batch through a
 * Subject and writes the Σ-gradients to shared memory; the main thread adds the slices in a fixed
 * order and emits one Backward for the whole batch, so the rest of the chain is unchanged. With
 * `workers` alone the threads live as long as this operator's subscription; with `pool` (a
 * createGradientPool, as fit keeps for all its epochs) they are the pool's and outlive it.
 *
 * Everything on one step runs synchronously inside `next`; all state is per subscription (one
 * Workspace per layer per operator), except the optional shared TrainingState.
 */
import { pipe, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import type { OptimizerConfig } from '../../ops/optimizers.js';
import type { LrSchedule } from '../../ops/schedules.js';
import { applyOptimizer, type StepMetrics, type TrainingState } from './applyOptimizer.js';
import { averageGradients } from './averageGradients.js';
import { backprop, type BackpropOptions } from './backprop.js';
import type { Loss } from './lossHead.js';
import { parallelBackprop, type GradientPool } from '../parallel/parallelBackprop.js';
import type { Batch } from '../types.js';

export { backprop, type BackpropOptions } from './backprop.js';
export { createGradientPool, type GradientPool, type GradientPoolOptions, type GradientPoolStats } from '../parallel/parallelBackprop.js';

export interface TrainOptions extends BackpropOptions {
  readonly optimizer: OptimizerConfig;
  /** Clip the averaged gradients to this global norm. */
  readonly clipNorm?: number;
  /** Accumulate this many batches per update; default 1. */
  readonly microBatches?: number;
  /** Scan every layer's output and δ for NaN/Inf on every step (debug mode, see averageGradients). */
  readonly checkNumerics?: boolean;
  readonly lrSchedule?: LrSchedule;
  readonly totalSteps?: number;
  /** Optimizer state and counters shared across subscriptions (epochs, checkpoints). */
  readonly state?: TrainingState;
  /** Stamped on the metrics. */
  readonly epoch?: number;
  /** Threads computing each batch's gradients (parallelBackprop.ts); default 1, this thread only. */
  readonly workers?: number;
  /**
   * Compute the gradients on this pool's threads (createGradientPool) instead of starting threads
   * per subscription; the caller closes it. Its model, loss and internals must be this call's, and
   * `workers`, if given, its size.
   */
  readonly pool?: GradientPool;
}

/**
 * A training step per batch (or per `microBatches` batches): updates `model` in place, emits metrics.
 *
 * @example
 * source.pipe(shuffle({ window: 1000, seed: 1 }), batch(32), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) }))
 */
export function train(model: Model, options: TrainOptions): OperatorFunction<Batch, StepMetrics> {
  const { internals, workers, pool } = options;
  if (pool !== undefined) checkPool(model, options, pool);
  return pipe(
    pool !== undefined ? pool.backprop : workers === undefined ? backprop(model, options) : parallelBackprop(model, { loss: options.loss, internals, workers }),
    averageGradients({ microBatches: options.microBatches, checkNumerics: options.checkNumerics }),
    applyOptimizer(model, options.optimizer, {
      clipNorm: options.clipNorm,
      lrSchedule: options.lrSchedule,
      totalSteps: options.totalSteps,
      state: options.state,
      epoch: options.epoch,
    }),
  );
}

/** A given pool must compute what this train call would: same model object, loss, probe and size. */
function checkPool(model: Model, options: TrainOptions, pool: GradientPool): void {
  if (pool.model !== model) throw new Error('train: the gradient pool was created for another model');
  if (options.workers !== undefined && options.workers !== pool.workers) throw new Error(`train: workers is ${options.workers}, but the gradient pool has ${pool.workers} threads`);
  if (pool.loss.name !== options.loss.name) throw new Error(`train: the loss is ${options.loss.name}, but the gradient pool computes ${pool.loss.name}`);
  if (pool.internals !== options.internals) throw new Error('train: the internals probe differs from the gradient pool\'s (pass it to createGradientPool)');
}
