/**
 * Gradient averaging (MATH.md 1.6): the delta operators leave Σ_x ∂C_x/∂θ per layer; this step
 * divides by the TRUE number of samples. With `microBatches: k` it accumulates k backward records
 * and divides by their total sample count, emitting once per k (a leftover group at completion is
 * emitted too, divided by its own count).
 *
 *   g = (Σ over the k micro-batches of Σ_x ∂C_x/∂θ) / (m_1 + … + m_k)
 *
 * Numbers: sums are accumulated in float64 in arrival order (deterministic), then divided once and
 * rounded to float32, so for k = 1 each element is exactly `float32(Σ / m)`. The arithmetic is
 * src/ops/averaging.ts: one WASM pass per tensor once the kernels are on (the same averages, bit for
 * bit; ‖g‖ summed in another fixed order, within 2(n−1)·2⁻⁵³ relative), the TypeScript loops otherwise.
 *
 * Layout: `grads` is flat over the model's parameters in model order (layer 0's W, b, then layer
 * 1's…), i.e. aligned with `model.params`. Its buffers belong to this operator subscription and are
 * overwritten by its next emission; they live in the kernel memory when the kernels are on, so the
 * optimizer's WASM update reads them in place.
 *
 * Each micro-batch is checked for a finite loss and finite gradients while its buffers are still
 * valid (with `checkNumerics`, every output and δ too); the first failure is located (numerics.ts)
 * and carried to the optimizer sink, which throws.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { accumulateSums, averageDirect, divideSums, kernelF32, kernelF64 } from '../../ops/averaging.js';
import { ShapeError } from '../../ops/tensor.js';
import type { Backward } from './lossHead.js';
import { locateNonFinite, type NonFiniteLocation } from './numerics.js';
import type { RowOrigin } from '../types.js';

/** One optimizer step's worth of averaged gradients, with the batch facts the sink reports. */
export interface AveragedGradients {
  /** (1/count)·Σ, one Float32Array per model parameter, in model order. */
  readonly grads: readonly Float32Array[];
  /** Samples averaged over (Σ of the micro-batches' true sizes). */
  readonly count: number;
  readonly microBatches: number;
  /** Σ of per-sample costs, and its mean over `count`. */
  readonly lossSum: number;
  readonly loss: number;
  /** Correct predictions, null when the batches carry no labels. */
  readonly correct: number | null;
  /** ‖g‖ of the averaged gradients (float64). */
  readonly gradNorm: number;
  readonly first: RowOrigin;
  readonly last: RowOrigin;
  /** Origins of every sample of the step, in batch order (for NonFiniteError's line list). */
  readonly origins?: readonly RowOrigin[];
  /** Where the first non-finite micro-batch went bad, null when all were finite. */
  readonly nonFinite: NonFiniteLocation | null;
}

export interface AverageOptions {
  /** k: accumulate this many backward records per emission; default 1. */
  readonly microBatches?: number;
  /**
   * Debug mode (RELIABILITY #35): scan every layer's output, δ and gradients on every batch, so a
   * non-finite value that a saturating layer hides from the loss (tanh(∞) = 1) still stops training.
   * Costs one pass over the step's buffers; default false (only the loss and gradients are checked).
   */
  readonly checkNumerics?: boolean;
}

/** The gradients of a backward record, flattened in layer order; throws if a layer's delta never ran. */
function flatGrads(b: Backward): Float32Array[] {
  return b.grads.flatMap((g, i) => {
    if (g === undefined) throw new Error(`averageGradients: layer ${i} has no gradients (run deltaModel over every layer first)`);
    return g;
  });
}

/**
 * Average Σ-gradients over the true sample count, optionally over k micro-batches.
 *
 * @example batches.pipe(forwardModel(model), lossHead(loss), deltaModel(model), averageGradients({ microBatches: 4 }))
 */
export function averageGradients(options: AverageOptions = {}): OperatorFunction<Backward, AveragedGradients> {
  const k = options.microBatches ?? 1;
  const isChecking = options.checkNumerics ?? false;
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`averageGradients: microBatches must be a positive integer, got ${k}`);
  return (source) =>
    new Observable<AveragedGradients>((subscriber) => {
      // Per subscription: float64 sums and the float32 averages handed downstream.
      let sums: Float64Array[] | null = null;
      let averages: Float32Array[] = [];
      let nPending = 0;
      let count = 0;
      let lossSum = 0;
      let correct: number | null = null;
      let first: RowOrigin | null = null;
      let last: RowOrigin | null = null;
      let batchOrigins: (readonly RowOrigin[])[] = [];
      let nonFinite: NonFiniteLocation | null = null;
      let directSq = 0;

      function accumulate(b: Backward): void {
        const grads = flatGrads(b);
        if (sums === null) {
          sums = k === 1 ? [] : grads.map((g) => kernelF64(g.length));
          averages = grads.map((g) => kernelF32(g.length));
        }
        const acc: Float64Array[] = sums;
        const sizes = averages.map((a) => a.length);
        if (grads.length !== sizes.length || grads.some((g, j) => g.length !== sizes[j])) {
          throw new ShapeError('averageGradients', sizes.join(', '), grads.map((g) => g.length).join(', '), 'gradient sizes changed between batches');
        }
        // Σ of all elements is non-finite exactly when some element is (float32 values cannot overflow a float64 sum).
        // With k = 1 the average is written at once: float32(g / m) is the same number as float32((0 + g) / m),
        // and ‖g/m‖² is non-finite exactly when some element is, so one pass replaces three.
        const total = k === 1 ? (directSq = averageDirect(averages, grads, b.batch.m)) : accumulateSums(acc, grads);
        if (nonFinite === null && !(Number.isFinite(total) && Number.isFinite(b.lossSum))) {
          nonFinite = locateNonFinite(b) ?? { where: 'loss', layer: null, kind: null };
        } else if (nonFinite === null && isChecking) {
          nonFinite = locateNonFinite(b);
        }
        const { m, origins } = b.batch;
        count += m;
        lossSum += b.lossSum;
        if (b.correct !== null) correct = (correct ?? 0) + b.correct;
        first ??= origins[0];
        last = origins[m - 1];
        batchOrigins.push(origins);
        nPending++;
      }

      function emit(): void {
        if (sums === null || first === null || last === null) return;
        const sq = k === 1 ? directSq : divideSums(averages, sums, count);
        const out: AveragedGradients = {
          grads: averages,
          count,
          microBatches: nPending,
          lossSum,
          loss: lossSum / count,
          correct,
          gradNorm: Math.sqrt(sq),
          first,
          last,
          origins: batchOrigins.length === 1 ? batchOrigins[0] : batchOrigins.flat(),
          nonFinite,
        };
        nPending = 0;
        count = 0;
        lossSum = 0;
        correct = null;
        first = null;
        last = null;
        batchOrigins = [];
        nonFinite = null;
        subscriber.next(out);
      }

      const subscription = source.subscribe({
        next(b) {
          try {
            accumulate(b);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (nPending === k) emit();
        },
        error: (err) => subscriber.error(err),
        complete() {
          if (nPending > 0) emit();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        sums = null;
        averages = [];
      };
    });
}
