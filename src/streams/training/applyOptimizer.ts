/**
 * The optimizer sink: applies one step's averaged gradients to the model's parameters and emits the
 * step's metrics.
 *
 * Order of one step: (1) refuse a non-finite loss or gradient norm (or any non-finite value the
 * averaging step located) with NonFiniteError, before any weight changes (RELIABILITY #33); (2) lr = optimizer.lr × lrSchedule(step − 1, totalSteps);
 * (3) with `clipNorm`, scale the gradients by min(1, clipNorm / (‖g‖ + 1e-6)) (#34; the PRE-clip norm
 * is reported); (4) the update rule of src/ops/optimizers.ts over every (param, grad) pair; (5) metrics.
 *
 * Steps (3)–(4) run one of two ways, with the same bits. Fast: with the WASM kernels on, one kernel
 * pass per parameter applies clipping and the update together (applyUpdateFast), after a read-only
 * pass has bounded the update (isUpdateSafe: no weight or slot can overflow), so nothing needs saving.
 * Reference: when the kernels are off or the bound does not hold, the gradients are clipped into a
 * private copy and the rule runs on weights and optimizer slots copied beforehand; when the update
 * makes a weight or slot non-finite (finite gradients, but a learning rate large enough to overflow
 * float32), the copies are put back, the update count is undone, and NonFiniteError (where 'update')
 * names the step, the batch's lines and the first layer whose weights went bad (#33). Either way the
 * upstream gradient buffers are only read.
 *
 * State: the optimizer's slots, its update count and the cumulative sample count live in a
 * TrainingState. Without the `state` option each subscription makes its own; pass one to continue
 * across subscriptions (epochs in fit) or to export/restore it for checkpoints.
 */
import { defer, map, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { applyUpdate, applyUpdateFast, createOptimizerState, type OptimizerConfig, type OptimizerState } from '../../ops/optimizers.js';
import { constantLr, type LrSchedule } from '../../ops/schedules.js';
import { ShapeError } from '../../ops/tensor.js';
import type { AveragedGradients } from './averageGradients.js';
import { clipFactor, isAllFinite, NonFiniteError, type NonFiniteLocation } from './numerics.js';

/** What survives between subscriptions and goes into a checkpoint. */
export interface TrainingState {
  readonly optimizer: OptimizerState;
  /** Samples trained on so far. */
  samples: number;
}

/** Fresh state for training `model` with `optimizer`. @example const state = createTrainingState(model, adam()); */
export function createTrainingState(model: Model, optimizer: OptimizerConfig): TrainingState {
  return { optimizer: createOptimizerState(optimizer, model.params.map((p) => p.value.length)), samples: 0 };
}

/** The metrics of one optimizer step. */
export interface StepMetrics {
  /** 1-based count of updates applied (continues across epochs with a shared state). */
  readonly step: number;
  readonly epoch?: number;
  /** Cumulative samples trained on, this step included. */
  readonly samples: number;
  /** Mean loss over this step's samples, computed before the update. */
  readonly loss: number;
  /** Fraction of this step's samples predicted right (before the update); null without labels. */
  readonly accuracy: number | null;
  /** ‖g‖ of the averaged gradients before clipping. */
  readonly gradNorm: number;
  /** The learning rate this step used (after the schedule). */
  readonly lr: number;
  /** This step's samples over the wall-clock time since the previous step (reading included). */
  readonly samplesPerSecond: number;
  readonly source: string;
  readonly firstLine: number;
  readonly lastLine: number;
}

export interface ApplyOptions {
  /** Clip the averaged gradients to this global L2 norm. */
  readonly clipNorm?: number;
  /** Factor on the optimizer's lr per step; default constant. */
  readonly lrSchedule?: LrSchedule;
  /** Planned number of updates, for schedules that need it (cosine). */
  readonly totalSteps?: number;
  /** Shared state (optimizer slots, counters); default: fresh per subscription. */
  readonly state?: TrainingState;
  /** Stamped on every StepMetrics. */
  readonly epoch?: number;
}

/**
 * The optimizer sink as an operator: averaged gradients in, parameters updated in place, metrics out.
 *
 * @example backward.pipe(averageGradients(), applyOptimizer(model, sgd({ lr: 0.05 }), { clipNorm: 5 }))
 */
export function applyOptimizer(model: Model, optimizer: OptimizerConfig, options: ApplyOptions = {}): OperatorFunction<AveragedGradients, StepMetrics> {
  const { clipNorm, epoch } = options;
  if (clipNorm !== undefined && !(Number.isFinite(clipNorm) && clipNorm > 0)) {
    throw new RangeError(`applyOptimizer: clipNorm must be a positive finite number, got ${clipNorm}`);
  }
  const schedule = options.lrSchedule ?? constantLr();
  const totalSteps = options.totalSteps ?? Infinity;
  const params = model.params.map((p) => p.value);
  // Parameter j belongs to layer paramLayer[j] (for naming the layer an overflowing update broke).
  const paramLayer = model.layers.flatMap((layer, i) => layer.params.map(() => i));
  return (source) =>
    defer(() => {
      const state = options.state ?? createTrainingState(model, optimizer);
      // The reference path's buffers, made at its first use: clipped gradients go to a private copy
      // (upstream buffers are never written); the weights and slots before the update are put back
      // when the update overflows.
      let clipped: Float32Array[] = [];
      let savedParams: Float32Array[] = [];
      let savedSlots: Float32Array[][] = [];
      let lastTime = performance.now();

      /** The reference path: clip into the private copy, update on saved copies, undo an overflow. */
      function guardedUpdate(g: AveragedGradients, step: number, lr: number, factor: number): void {
        if (savedParams.length !== params.length) {
          clipped = params.map((p) => new Float32Array(p.length));
          savedParams = params.map((p) => new Float32Array(p.length));
          savedSlots = state.optimizer.slots.map((slots) => slots.map((s) => new Float32Array(s.length)));
        }
        let grads = g.grads;
        if (factor !== 1) {
          g.grads.forEach((src, j) => {
            const dst = clipped[j];
            for (let i = 0; i < src.length; i++) dst[i] = src[i] * factor;
          });
          grads = clipped;
        }
        const slots = state.optimizer.slots;
        params.forEach((p, j) => savedParams[j].set(p));
        slots.forEach((ss, j) => ss.forEach((s, k) => savedSlots[j][k].set(s)));
        applyUpdate(optimizer, state.optimizer, params, grads, lr);
        const broken = params.findIndex((p, j) => !isAllFinite(p) || !slots[j].every(isAllFinite));
        if (broken >= 0) {
          params.forEach((p, j) => p.set(savedParams[j]));
          slots.forEach((ss, j) => ss.forEach((s, k) => s.set(savedSlots[j][k])));
          state.optimizer.t -= 1;
          const layer = paramLayer[broken];
          const location: NonFiniteLocation = { where: 'update', layer, kind: model.layers[layer].kind };
          throw new NonFiniteError(step, g.first, g.last, g.loss, g.gradNorm, location, g.origins);
        }
      }

      return source.pipe(
        map((g): StepMetrics => {
          if (g.grads.length !== params.length) {
            throw new ShapeError('applyOptimizer', `${params.length} gradients (one per model parameter)`, `${g.grads.length}`);
          }
          const step = state.optimizer.t + 1;
          if (!Number.isFinite(g.loss) || !Number.isFinite(g.gradNorm) || g.nonFinite !== null) {
            throw new NonFiniteError(step, g.first, g.last, g.loss, g.gradNorm, g.nonFinite, g.origins);
          }
          const lr = optimizer.lr * schedule(step - 1, totalSteps);
          const factor = clipNorm !== undefined && g.gradNorm > clipNorm ? clipFactor(g.gradNorm, clipNorm) : 1;
          if (!applyUpdateFast(optimizer, state.optimizer, params, g.grads, lr, factor)) guardedUpdate(g, step, lr, factor);
          state.samples += g.count;
          const now = performance.now();
          const seconds = Math.max(now - lastTime, 1e-3) / 1000;
          lastTime = now;
          return {
            step,
            ...(epoch === undefined ? {} : { epoch }),
            samples: state.samples,
            loss: g.loss,
            accuracy: g.correct === null ? null : g.correct / g.count,
            gradNorm: g.gradNorm,
            lr,
            samplesPerSecond: g.count / seconds,
            source: g.first.source,
            firstLine: g.first.line,
            lastLine: g.last.line,
          };
        }),
      );
    });
}
