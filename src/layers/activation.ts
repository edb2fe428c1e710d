/**
 * Elementwise activation layers — relu, sigmoid, tanh — as one table (MATH.md §4):
 *
 *   (1.1) forward  a = σ(z)
 *   (4.1) delta    δz = δa ⊙ σ'(z), with σ' written from the output a:
 *                  sigmoid' = a(1−a), tanh' = 1−a², relu' = [a > 0]
 *
 * Shapes: x `[m, ...shape]` → y of the same shape, any per-sample shape; no parameters.
 * The cache keeps only the output a (src/ops/activations.ts derives σ' from it).
 */
import { activations } from '../ops/activations.js';
import { Workspace, sizeOf, type Tensor } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import type { OptionReader } from './options.js';
import { batchSize, layerName } from './shapes.js';

export type ActivationKind = keyof typeof activations;

/** a = max(0, z). @example sequential({ input: [4] }, dense({ units: 8 }), relu()) */
export function relu(): LayerSpec {
  return { kind: 'relu' };
}

/** a = 1 / (1 + e^−z). @example sequential({ input: [4] }, dense({ units: 8 }), sigmoid()) */
export function sigmoid(): LayerSpec {
  return { kind: 'sigmoid' };
}

/** a = tanh(z). @example sequential({ input: [4] }, dense({ units: 8 }), tanh()) */
export function tanh(): LayerSpec {
  return { kind: 'tanh' };
}

// An activation has no fields besides its kind; a model file adding one is rejected by done().
export function readReluSpec(o: OptionReader): SpecOf<'relu'> {
  o.done();
  return { kind: 'relu' };
}

export function readSigmoidSpec(o: OptionReader): SpecOf<'sigmoid'> {
  o.done();
  return { kind: 'sigmoid' };
}

export function readTanhSpec(o: OptionReader): SpecOf<'tanh'> {
  o.done();
  return { kind: 'tanh' };
}

/** Shape inference: any input shape; the output has the same shape; no parameters. */
export function inferActivation(_spec: SpecOf<ActivationKind>, inShape: readonly number[]): LayerShapes {
  return { outShape: inShape, params: [] };
}

/** What the delta step needs: the output a (valid until this layer's next forward step). */
export interface ActivationCache {
  readonly a: Tensor;
}

export function buildActivation(spec: SpecOf<ActivationKind>, inShape: readonly number[], index: number): Layer<ActivationCache> {
  const { outShape } = inferActivation(spec, inShape);
  const { sigma, sigmaPrimeTimes } = activations[spec.kind];
  const name = layerName(index, spec.kind);
  const n = sizeOf(inShape);

  return {
    spec,
    kind: spec.kind,
    inShape,
    outShape,
    params: [],

    forward(x, ws = new Workspace()) {
      const m = batchSize(`${name} forward`, x, inShape);
      // (1.1) a = σ(z)
      const a = { data: sigma(x.data, ws.residentF32('a', m * n)), shape: x.shape };
      return { y: a, cache: { a } };
    },

    delta(deltaY, cache, ws = new Workspace(), needDeltaX = true) {
      const m = batchSize(`${name} delta`, deltaY, outShape, cache.a.shape[0]);
      if (!needDeltaX) return { deltaX: null, grads: [] };
      // (4.1) δz = δa ⊙ σ'(a)
      const deltaX = sigmaPrimeTimes(deltaY.data, cache.a.data, ws.residentF32('deltaX', m * n));
      return { deltaX: { data: deltaX, shape: deltaY.shape }, grads: [] };
    },
  };
}
