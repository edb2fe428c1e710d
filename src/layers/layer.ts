/**
 * The layer contract: a small value holding its hyper-parameters (the spec), its parameter
 * tensors, and two functions side by side — `forward` (MATH.md 1.1, 2.1, 2.3, 3.5, 4.1) and `delta`,
 * its transpose (1.4–1.5, 2.2, 2.4, 3.6–3.7).
 *
 * Batches travel as tensors `[m, ...shape]` (NCHW for images). The cache a forward step needs for
 * its delta step is returned to the caller, never stored on the layer, so any number of batches can
 * be in flight. Scratch and output buffers come from a Workspace owned by the caller (one per layer
 * per training loop); without one, fresh buffers are allocated.
 *
 * Gradients: `delta` returns each parameter's gradient SUMMED over the batch, Σ_x ∂C_x/∂θ. Dividing
 * by the batch size m (MATH.md 1.6) is the job of the gradient-averaging step, which knows the true
 * size of a partial batch and can accumulate k micro-batches before dividing.
 */
import type { Tensor, Workspace } from '../ops/tensor.js';

/**
 * One parameter tensor of a layer: `W` or `b`, with its shape (dense W `[out, in]`, conv W `[cOut, cIn, kH, kW]`).
 * NOTE: a layer built once the WASM kernels are on keeps `value` in their memory (a view of a
 * SharedArrayBuffer, kernelResidentF32), so the GEMM and the optimizer step read and update it in
 * place; posting it to another thread shares it rather than copying it: copy (`slice()`) to send.
 */
export interface Param {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Float32Array;
}

/**
 * A parameter as shape inference sees it, before any memory is allocated (so a model file's sizes can
 * be checked first). `fanIn` (inputs per output unit) marks a weight that initialization draws from
 * He-uniform; a parameter without it (a bias) starts at zero.
 */
export interface ParamShape {
  readonly name: string;
  readonly shape: readonly number[];
  readonly fanIn?: number;
}

/** What shape inference derives for a spec placed at an input shape. */
export interface LayerShapes {
  readonly outShape: readonly number[];
  readonly params: readonly ParamShape[];
}

/** The hyper-parameters of a layer, as plain JSON data: what `dense({ units: 10 })` returns, and what a model file stores. */
export type LayerSpec =
  | { readonly kind: 'dense'; readonly units: number }
  | {
      readonly kind: 'conv2d';
      readonly filters: number;
      readonly kernel: readonly [number, number];
      readonly stride: readonly [number, number];
      readonly padding: readonly [number, number];
    }
  | { readonly kind: 'maxPool2d'; readonly size: readonly [number, number]; readonly stride: readonly [number, number] }
  | { readonly kind: 'avgPool2d'; readonly size: readonly [number, number]; readonly stride: readonly [number, number] }
  | { readonly kind: 'flatten' }
  | { readonly kind: 'relu' }
  | { readonly kind: 'sigmoid' }
  | { readonly kind: 'tanh' };

export type LayerKind = LayerSpec['kind'];

/** The spec of one kind, e.g. `SpecOf<'dense'>` is `{ kind: 'dense'; units: number }`. */
export type SpecOf<K extends LayerKind> = Extract<LayerSpec, { readonly kind: K }>;

/** What a forward step returns: the output batch and what its delta step will need. */
export interface ForwardResult<C> {
  readonly y: Tensor;
  readonly cache: C;
}

/** What a delta step returns: δ of the layer's input (null when not asked for), and Σ-over-batch gradients aligned with `params`. */
export interface DeltaResult {
  readonly deltaX: Tensor | null;
  readonly grads: readonly Float32Array[];
}

/** A built layer: a spec placed at a known input shape, with its parameters. */
export interface Layer<C = unknown> {
  readonly spec: LayerSpec;
  readonly kind: LayerKind;
  /** Per-sample input shape, e.g. `[1, 28, 28]` or `[784]`. */
  readonly inShape: readonly number[];
  /** Per-sample output shape. */
  readonly outShape: readonly number[];
  /** Parameters in a fixed order (`W` then `b`); empty for layers without any. */
  readonly params: readonly Param[];
  /** Forward step on a batch `[m, ...inShape]` → `[m, ...outShape]`. */
  forward(x: Tensor, ws?: Workspace): ForwardResult<C>;
  /**
   * Delta step: from δ of the output `[m, ...outShape]` and the forward cache, δ of the input
   * (when `needDeltaX`, default true) and the parameter gradients summed over the batch.
   */
  delta(deltaY: Tensor, cache: C, ws?: Workspace, needDeltaX?: boolean): DeltaResult;
}
