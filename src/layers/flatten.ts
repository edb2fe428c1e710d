/**
 * Flatten: a zero-copy reshape from images to vectors, so a dense layer can follow a conv stack.
 *
 *   forward  y[x, i] = x[x, c, h, w] with i = (c·H + h)·W + w  (row-major order, nothing moves)
 *   delta    δx is δy read with the input's shape (the reshape is its own transpose)
 *
 * Shapes: x `[m, ...shape]` → y `[m, product(shape)]`; no parameters. The output shares the input's
 * buffer, and δx shares δy's.
 */
import { sizeOf } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { optionReader, type OptionReader } from './options.js';
import { batchSize, layerName } from './shapes.js';

/** Reshape `[c, h, w]` (or any shape) to `[c·h·w]`. @example sequential({ input: [1, 28, 28] }, flatten(), dense({ units: 10 })) */
export function flatten(): LayerSpec {
  return readFlattenSpec(optionReader('flatten', {}));
}

export function readFlattenSpec(o: OptionReader): SpecOf<'flatten'> {
  o.done();
  return { kind: 'flatten' };
}

/** Shape inference: any input `[d1, …, dk]` gives `[d1·…·dk]`; no parameters. */
export function inferFlatten(_spec: SpecOf<'flatten'>, inShape: readonly number[]): LayerShapes {
  return { outShape: [sizeOf(inShape)], params: [] };
}

/** Flatten needs nothing for its delta step but the batch size. */
export interface FlattenCache {
  readonly m: number;
}

export function buildFlatten(spec: SpecOf<'flatten'>, inShape: readonly number[], index: number): Layer<FlattenCache> {
  const { outShape } = inferFlatten(spec, inShape);
  const name = layerName(index, 'flatten');

  return {
    spec,
    kind: 'flatten',
    inShape,
    outShape,
    params: [],

    forward(x) {
      const m = batchSize(`${name} forward`, x, inShape);
      return { y: { data: x.data, shape: [m, ...outShape] }, cache: { m } };
    },

    delta(deltaY, cache, _ws, needDeltaX = true) {
      const m = batchSize(`${name} delta`, deltaY, outShape, cache.m);
      return { deltaX: needDeltaX ? { data: deltaY.data, shape: [m, ...inShape] } : null, grads: [] };
    },
  };
}
