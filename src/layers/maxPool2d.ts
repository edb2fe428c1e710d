/**
 * 2-D max pooling (MATH.md §2), no parameters, no padding:
 *
 *   (2.1) forward  y[c, i, j] = max over the window x[c, i·sH + u, j·sW + v], u < kH, v < kW;
 *                  the argmax (flat index into x) is recorded in the cache
 *   (2.2) delta    δx[argmax] += δy: each output's delta goes to its window's max, weight 1;
 *                  overlapping windows (stride < size) accumulate
 *
 * Shapes: x `[m, c, inH, inW]` → y `[m, c, outH, outW]`, outH = floor((inH − kH)/sH) + 1.
 */
import { maxPool2dDelta, maxPool2dForward } from '../ops/pool.js';
import { Workspace, sizeOf } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { optionReader, type OptionReader } from './options.js';
import { inferPool2d, poolShapeFor, readPool2dSpec, type Pool2dOptions } from './pool2d.js';
import { batchSize, layerName } from './shapes.js';

export type { Pool2dOptions } from './pool2d.js';

export function readMaxPool2dSpec(o: OptionReader): SpecOf<'maxPool2d'> {
  return readPool2dSpec('maxPool2d', o);
}

/**
 * Max pooling over `size` windows moved by `stride` (default: `size`).
 *
 * @example sequential({ input: [6, 24, 24] }, maxPool2d({ size: 2 })) // → [6, 12, 12]
 */
export function maxPool2d(options: Pool2dOptions): LayerSpec {
  return readMaxPool2dSpec(optionReader('maxPool2d', options));
}

/** Shape inference: `[c, inH, inW]` → `[c, outH, outW]`, the window must fit the input. */
export function inferMaxPool2d(spec: SpecOf<'maxPool2d'>, inShape: readonly number[], index: number): LayerShapes {
  return inferPool2d(spec, inShape, index);
}

/** What the delta step needs: the batch size and the argmax of every output (valid until the next forward step). */
export interface MaxPool2dCache {
  readonly m: number;
  readonly argmax: Int32Array;
}

export function buildMaxPool2d(spec: SpecOf<'maxPool2d'>, inShape: readonly number[], index: number): Layer<MaxPool2dCache> {
  const { outShape } = inferMaxPool2d(spec, inShape, index);
  const name = layerName(index, 'maxPool2d');
  const poolShape = poolShapeFor(spec, inShape, outShape);

  return {
    spec,
    kind: 'maxPool2d',
    inShape,
    outShape,
    params: [],

    forward(x, ws = new Workspace()) {
      const m = batchSize(`${name} forward`, x, inShape);
      const nOut = m * sizeOf(outShape);
      // (2.1) y = window max, argmax recorded
      const { y, argmax } = maxPool2dForward(x.data, poolShape(m), ws.residentF32('y', nOut), ws.residentI32('argmax', nOut));
      return { y: { data: y, shape: [m, ...outShape] }, cache: { m, argmax } };
    },

    delta(deltaY, cache, ws = new Workspace(), needDeltaX = true) {
      const m = batchSize(`${name} delta`, deltaY, outShape, cache.m);
      if (!needDeltaX) return { deltaX: null, grads: [] };
      // (2.2) δx[argmax] += δy
      const deltaX = maxPool2dDelta(deltaY.data, cache.argmax, poolShape(m), ws.residentF32('deltaX', m * sizeOf(inShape)));
      return { deltaX: { data: deltaX, shape: [m, ...inShape] }, grads: [] };
    },
  };
}
