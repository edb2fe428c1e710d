/**
 * backprop: forward, loss and delta on each batch — one Backward record per batch, holding the
 * Σ-over-batch gradients of every layer (MATH.md 1.4, 3.7; averaging is averageGradients' job).
 *
 *   forwardModel (layer 1 … L) → lossHead (δ^L) → deltaModel (layer L … 1)
 *
 * It is the half of a training step that a gradient worker repeats on its slice of the batch
 * (parallel/), so it lives apart from `train`, which composes it with averaging and the optimizer.
 */
import { pipe, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { deltaModel } from './delta.js';
import { forwardModel } from './forward.js';
import type { Internals } from './internals.js';
import { lossHead, type Backward, type Loss } from './lossHead.js';
import type { Batch } from '../types.js';

export interface BackpropOptions {
  readonly loss: Loss;
  /** A probe watching activations, deltas and gradients (internals.ts). */
  readonly internals?: Internals;
}

/**
 * Forward, loss and delta on each batch: a Backward record holding Σ-over-batch gradients per layer.
 *
 * @example batches.pipe(backprop(model, { loss: softmaxCrossEntropy() }), averageGradients())
 */
export function backprop(model: Model, options: BackpropOptions): OperatorFunction<Batch, Backward> {
  const { internals } = options;
  return pipe(forwardModel(model, { internals }), lossHead(options.loss), deltaModel(model, { internals }));
}
