/**
 * The loss head: turns the model output into the output delta δ^L, the batch loss and the number of
 * correct predictions, and starts the backward record the delta operators fill in.
 *
 *   (4.2) softmax + cross-entropy: C = −Σ_k y_k log p_k, δ^L = p − y   (on logits)
 *   (1.2) mean squared error:      C = ½‖a − y‖²,         δ^L = a − y   (σ' is the activation layer's job)
 *
 * `loss` is the mean over the TRUE batch size m (a last partial batch divides by its own count,
 * RELIABILITY #32); `lossSum` keeps the sum, so micro-batches can be combined exactly. δ^L is per
 * sample, not divided by m — gradient averaging divides (MATH.md 1.6).
 *
 * Shapes: output `[m, nOut]` (the model's last layer, flattened per sample), target `[m, nOut]`,
 * δ^L `[m, ...outShape]`. δ^L lives in this operator's workspace: valid until its next batch.
 */
import { defer, map, type OperatorFunction } from 'rxjs';
import { meanSquaredError as mseKernel, softmaxCrossEntropy as sceKernel, type LossResult } from '../../ops/loss.js';
import { countCorrect } from '../../ops/metrics.js';
import { ShapeError, Workspace, type Tensor } from '../../ops/tensor.js';
import type { Forward, TapeEntry } from './forward.js';
import type { Batch } from '../types.js';

/** A loss as a value: its name and its kernel (Σ-over-batch cost and per-sample δ^L). */
export interface Loss {
  readonly name: 'softmaxCrossEntropy' | 'meanSquaredError';
  /** Overwrites `deltaOut` (m × n) and returns the summed cost. */
  compute(output: Float32Array, target: Float32Array, m: number, n: number, deltaOut: Float32Array): LossResult;
}

/** (4.2) Softmax + cross-entropy on the logits of the last layer. @example train(model, { loss: softmaxCrossEntropy(), … }) */
export function softmaxCrossEntropy(): Loss {
  return { name: 'softmaxCrossEntropy', compute: sceKernel };
}

/** (1.2) ½‖a − y‖² per sample. @example train(model, { loss: meanSquaredError(), … }) */
export function meanSquaredError(): Loss {
  return { name: 'meanSquaredError', compute: mseKernel };
}

/**
 * A mini-batch on its way back: what the loss head produced, and what the delta operators have
 * added so far. Arrays indexed by layer; entries of layers not yet visited are undefined.
 */
export interface Backward {
  readonly batch: Batch;
  readonly tape: readonly TapeEntry[];
  /** The model output `[m, ...outShape]`. */
  readonly output: Tensor;
  /** Σ over the batch of per-sample costs (float64). */
  readonly lossSum: number;
  /** lossSum / m, m the true batch size. */
  readonly loss: number;
  /** Samples whose output argmax equals their label; null when the batch has no labels (regression). */
  readonly correct: number | null;
  /** The δ flowing down: δ^L after the loss head, then δ of each visited layer's input (null below layer 0). */
  readonly delta: Tensor | null;
  /** `deltas[i]`: the δ that arrived at layer i's output. */
  readonly deltas: readonly (Tensor | undefined)[];
  /** `grads[i]`: layer i's gradients summed over the batch, aligned with its params. */
  readonly grads: readonly (readonly Float32Array[] | undefined)[];
}

/**
 * The loss head as an operator: Forward (after the last layer) → Backward.
 *
 * @example batches.pipe(forwardModel(model), lossHead(softmaxCrossEntropy()), deltaModel(model))
 */
export function lossHead(loss: Loss): OperatorFunction<Forward, Backward> {
  return (source) =>
    defer(() => {
      const ws = new Workspace();
      return source.pipe(
        map((f): Backward => {
          const { batch, a, tape } = f;
          const m = batch.m;
          const nOut = batch.target.shape[1];
          if (a.shape[0] !== m || a.data.length !== m * nOut) {
            throw new ShapeError(`lossHead(${loss.name})`, [m, nOut], a.shape, 'model output vs. batch target');
          }
          const deltaOut = ws.f32('deltaL', m * nOut);
          const { loss: lossSum } = loss.compute(a.data, batch.target.data, m, nOut, deltaOut);
          const correct = batch.labels === null ? null : countCorrect(a.data, batch.labels, m, nOut);
          return {
            batch,
            tape,
            output: a,
            lossSum,
            loss: lossSum / m,
            correct,
            delta: { data: deltaOut, shape: a.shape },
            deltas: new Array<Tensor | undefined>(tape.length).fill(undefined),
            grads: new Array<readonly Float32Array[] | undefined>(tape.length).fill(undefined),
          };
        }),
      );
    });
}
