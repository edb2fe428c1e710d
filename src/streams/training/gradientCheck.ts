/**
 * A live gradient check (MATH.md §5): on every `every`-th batch, compare the analytic gradient of
 * `k` randomly chosen parameters (seeded) with central finite differences of the mean batch loss:
 *
 *   numeric = (L(θ + h₊) − L(θ − h₋)) / (h₊ + h₋)
 *
 * where h₊ = float32(θ + ε) − θ and h₋ = θ − float32(θ − ε) are the steps a float32 parameter really
 * takes. Relative error = |analytic − numeric| / max(|analytic|, |numeric|, minScale).
 *
 * The analytic gradient comes from the same operator chain as training (`backprop`, then ÷ m); the
 * losses from `forwardModel → lossHead`. Both chains keep one subscription alive per gradientCheck
 * subscription (a Subject in, the result read synchronously), with their own workspaces, so the check
 * never touches a training pipeline's buffers. Each perturbed parameter is restored to its exact
 * original float32 value; the model is unchanged afterwards.
 *
 * Place it beside training with `connect`, before `train`, so it sees each batch's pre-update weights:
 *   batches.pipe(connect((b) => merge(b.pipe(gradientCheck(model, opts)), b.pipe(train(model, opts)))))
 */
import { defer, filter, finalize, map, Subject, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { createRng } from '../../ops/random.js';
import { forwardModel } from './forward.js';
import { lossHead, type Backward, type Loss } from './lossHead.js';
import { backprop } from './train.js';
import type { Batch } from '../types.js';

export interface GradientCheckOptions {
  readonly loss: Loss;
  /** Check every n-th batch (the 1st, the (n+1)-th, …); default 1. */
  readonly every?: number;
  /** k: parameters checked per sampled batch; default 10. */
  readonly params?: number;
  /**
   * ε, the finite-difference step; default 5e-3 ≈ ∛(float32 machine ε), which balances the O(ε²)
   * truncation error against float32 rounding noise amplified as 1/ε.
   */
  readonly eps?: number;
  /** Floor of the relative error's denominator; default 1e-4. */
  readonly minScale?: number;
  /** Seed choosing the parameters; default 0. */
  readonly seed?: number;
}

/** The worst of the checked parameters. */
export interface GradientCheckWorst {
  /** `layer 2 (dense) W`. */
  readonly param: string;
  readonly index: number;
  readonly analytic: number;
  readonly numeric: number;
}

export interface GradientCheckResult {
  /** 1-based index of the batch checked. */
  readonly step: number;
  readonly maxRelError: number;
  readonly checked: number;
  readonly worst: GradientCheckWorst;
}

/** A long-lived subscription of `op`, run synchronously one input at a time. */
function syncRunner<I, O>(op: OperatorFunction<I, O>): { run(input: I): O; close(): void } {
  const input = new Subject<I>();
  const box: { results: O[]; errors: unknown[] } = { results: [], errors: [] };
  const subscription = input.pipe(op).subscribe({
    next: (value) => box.results.push(value),
    error: (error: unknown) => box.errors.push(error),
  });
  return {
    run(value) {
      box.results.length = 0;
      input.next(value);
      if (box.errors.length > 0) throw box.errors[0];
      if (box.results.length !== 1) throw new Error(`gradientCheck: the pipeline emitted ${box.results.length} results for one batch`);
      return box.results[0];
    },
    close: () => subscription.unsubscribe(),
  };
}

/**
 * Check analytic gradients against finite differences on sampled batches; the model is not modified.
 *
 * @example batches.pipe(gradientCheck(model, { loss: softmaxCrossEntropy(), every: 100, params: 20 }))
 */
export function gradientCheck(model: Model, options: GradientCheckOptions): OperatorFunction<Batch, GradientCheckResult> {
  const every = options.every ?? 1;
  const k = options.params ?? 10;
  const eps = options.eps ?? 5e-3;
  const minScale = options.minScale ?? 1e-4;
  if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`gradientCheck: every must be a positive integer, got ${every}`);
  if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`gradientCheck: params must be a positive integer, got ${k}`);
  if (!(eps > 0)) throw new RangeError(`gradientCheck: eps must be positive, got ${eps}`);
  // Every parameter element, addressed by (model param j, element i), with its layer for naming.
  const owners = model.layers.flatMap((layer, l) => layer.params.map((p) => `layer ${l} (${layer.kind}) ${p.name}`));
  const params = model.params;
  const total = params.reduce((n, p) => n + p.value.length, 0);
  return (source) =>
    defer(() => {
      const rng = createRng(options.seed ?? 0);
      const analytic = syncRunner<Batch, Backward>(backprop(model, { loss: options.loss }));
      const lossOnly = syncRunner<Batch, Backward>((s) => s.pipe(forwardModel(model), lossHead(options.loss)));
      let seq = 0;

      function meanLoss(b: Batch): number {
        return lossOnly.run(b).loss;
      }

      function check(b: Batch, step: number): GradientCheckResult {
        const back = analytic.run(b);
        const grads = back.grads.flatMap((g) => g ?? []);
        let worst: GradientCheckWorst | null = null;
        let maxRelError = 0;
        for (let c = 0; c < k && total > 0; c++) {
          // A uniform element of all parameters, mapped to (j, i).
          let i = rng.int(total);
          let j = 0;
          while (i >= params[j].value.length) i -= params[j++].value.length;
          const value = params[j].value;
          const a = grads[j][i] / b.m;
          const theta = value[i];
          value[i] = theta + eps;
          const hPlus = value[i] - theta;
          const lossPlus = meanLoss(b);
          value[i] = theta - eps;
          const hMinus = theta - value[i];
          const lossMinus = meanLoss(b);
          value[i] = theta;
          const numeric = (lossPlus - lossMinus) / (hPlus + hMinus);
          const relError = Math.abs(a - numeric) / Math.max(Math.abs(a), Math.abs(numeric), minScale);
          if (worst === null || !(relError <= maxRelError)) {
            maxRelError = relError;
            worst = { param: owners[j], index: i, analytic: a, numeric };
          }
        }
        return { step, maxRelError, checked: Math.min(k, total), worst: worst ?? { param: '', index: -1, analytic: 0, numeric: 0 } };
      }

      return source.pipe(
        map((b) => ({ b, step: ++seq })),
        filter(({ step }) => (step - 1) % every === 0),
        map(({ b, step }) => {
          // Restore even if a perturbed forward throws: the model must come out unchanged.
          const saved = params.map((p) => Float32Array.from(p.value));
          try {
            return check(b, step);
          } finally {
            params.forEach((p, j) => p.value.set(saved[j]));
          }
        }),
        finalize(() => {
          analytic.close();
          lossOnly.close();
        }),
      );
    });
}
