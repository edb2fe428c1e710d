/**
 * Observable internals: a probe that the forward and delta operators report to, so a user can
 * watch any layer's activations, deltas and gradients (plots, teaching, debugging) without changing
 * the training.
 *
 *   const probe = internals(model);
 *   probe.delta(3).subscribe((e) => plot(e.deltaY));      // δ arriving at layer 3's output
 *   probe.gradients(0).subscribe((e) => log(e.grads));    // layer 0's Σ-over-batch gradients
 *   batches.pipe(train(model, { loss, optimizer, internals: probe })).subscribe();
 *
 * Buffers: by default the events carry the training loop's own buffers (zero cost), valid only
 * while the subscriber's `next` runs — the next step overwrites them — and they must not be
 * written. Pass `{ copy: true }` to receive private copies that can be kept and modified.
 *
 * The probe is hot: only subscribers present during a step see it. Errors thrown by a probe
 * subscriber do not reach the training (RxJS reports them asynchronously). The probe never
 * completes by itself (it may watch several epochs); call `complete()` when done.
 */
import { Subject, type Observable } from 'rxjs';
import type { LayerKind } from '../../layers/layer.js';
import type { Tensor } from '../../ops/tensor.js';

/** Layer i's output on one batch. */
export interface LayerActivation {
  readonly layer: number;
  readonly kind: LayerKind;
  /** 1-based count of batches this layer's operator has processed. */
  readonly seq: number;
  /** `[m, ...outShape]`. */
  readonly y: Tensor;
}

/** The delta δ = ∂C/∂y arriving at layer i's output, and the δ it passes down (null for layer 0). */
export interface LayerDelta {
  readonly layer: number;
  readonly kind: LayerKind;
  readonly seq: number;
  /** `[m, ...outShape]`. */
  readonly deltaY: Tensor;
  /** `[m, ...inShape]`, or null when the layer was not asked for it (the first layer). */
  readonly deltaX: Tensor | null;
}

/** Layer i's parameter gradients, SUMMED over the batch of `m` samples (divide by m for the average). */
export interface LayerGradients {
  readonly layer: number;
  readonly kind: LayerKind;
  readonly seq: number;
  readonly m: number;
  /** Parameter names (`W`, `b`), aligned with `grads`. */
  readonly names: readonly string[];
  readonly grads: readonly Float32Array[];
}

/** What the operators call; users subscribe through `Internals` instead. */
export interface InternalsSink {
  activation(event: LayerActivation): void;
  delta(event: LayerDelta): void;
  gradients(event: LayerGradients): void;
}

/** A probe over one model's layers. */
export interface Internals {
  activation(layer: number): Observable<LayerActivation>;
  delta(layer: number): Observable<LayerDelta>;
  gradients(layer: number): Observable<LayerGradients>;
  /** Passed to the operators (train, forwardModel, deltaModel…) by the `internals` option. */
  readonly sink: InternalsSink;
  /** Complete every layer's streams. */
  complete(): void;
}

function copyTensor(t: Tensor): Tensor {
  return { data: Float32Array.from(t.data), shape: [...t.shape] };
}

/**
 * A probe for a model with `model.layers.length` layers.
 *
 * @example const probe = internals(model, { copy: true }); probe.gradients(0).subscribe(store);
 */
export function internals(model: { readonly layers: readonly unknown[] }, options: { copy?: boolean } = {}): Internals {
  const nLayers = model.layers.length;
  const isCopy = options.copy ?? false;
  const activations = Array.from({ length: nLayers }, () => new Subject<LayerActivation>());
  const deltas = Array.from({ length: nLayers }, () => new Subject<LayerDelta>());
  const gradients = Array.from({ length: nLayers }, () => new Subject<LayerGradients>());

  function at<T>(subjects: Subject<T>[], layer: number, what: string): Subject<T> {
    if (!(Number.isInteger(layer) && layer >= 0 && layer < nLayers)) {
      throw new RangeError(`internals.${what}: layer must be an integer in [0,${nLayers}), got ${layer}`);
    }
    return subjects[layer];
  }

  // Only pay for copies when someone listens.
  const sink: InternalsSink = {
    activation(e) {
      const s = at(activations, e.layer, 'activation');
      if (s.observed) s.next(isCopy ? { ...e, y: copyTensor(e.y) } : e);
    },
    delta(e) {
      const s = at(deltas, e.layer, 'delta');
      if (s.observed) s.next(isCopy ? { ...e, deltaY: copyTensor(e.deltaY), deltaX: e.deltaX && copyTensor(e.deltaX) } : e);
    },
    gradients(e) {
      const s = at(gradients, e.layer, 'gradients');
      if (s.observed) s.next(isCopy ? { ...e, grads: e.grads.map((g) => Float32Array.from(g)) } : e);
    },
  };

  return {
    activation: (layer) => at(activations, layer, 'activation').asObservable(),
    delta: (layer) => at(deltas, layer, 'delta').asObservable(),
    gradients: (layer) => at(gradients, layer, 'gradients').asObservable(),
    sink,
    complete() {
      for (const s of [...activations, ...deltas, ...gradients]) s.complete();
    },
  };
}
