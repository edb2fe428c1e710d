/**
 * 2-D average pooling (MATH.md §2), no parameters, no padding:
 *
 *   (2.3) forward  y[c, i, j] = (1/(kH·kW)) Σ_{u<kH, v<kW} x[c, i·sH + u, j·sW + v]
 *   (2.4) delta    δx[c, i·sH + u, j·sW + v] += δy[c, i, j] / (kH·kW): an equal split over the window;
 *                  overlapping windows (stride < size) accumulate
 *
 * Shapes: x `[m, c, inH, inW]` → y `[m, c, outH, outW]`, outH = floor((inH − kH)/sH) + 1.
 */
import { avgPool2dDelta, avgPool2dForward } from '../ops/pool.js';
import { Workspace, sizeOf } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { optionReader, type OptionReader } from './options.js';
import { inferPool2d, poolShapeFor, readPool2dSpec, type Pool2dOptions } from './pool2d.js';
import { batchSize, layerName } from './shapes.js';

export function readAvgPool2dSpec(o: OptionReader): SpecOf<'avgPool2d'> {
  return readPool2dSpec('avgPool2d', o);
}

/**
 * Average pooling over `size` windows moved by `stride` (default: `size`).
 *
 * @example sequential({ input: [16, 8, 8] }, avgPool2d({ size: 2 })) // → [16, 4, 4]
 */
export function avgPool2d(options: Pool2dOptions): LayerSpec {
  return readAvgPool2dSpec(optionReader('avgPool2d', options));
}

/** Shape inference: `[c, inH, inW]` → `[c, outH, outW]`, the window must fit the input. */
export function inferAvgPool2d(spec: SpecOf<'avgPool2d'>, inShape: readonly number[], index: number): LayerShapes {
  return inferPool2d(spec, inShape, index);
}

/** Average pooling's delta step needs only the batch size. */
export interface AvgPool2dCache {
  readonly m: number;
}

export function buildAvgPool2d(spec: SpecOf<'avgPool2d'>, inShape: readonly number[], index: number): Layer<AvgPool2dCache> {
  const { outShape } = inferAvgPool2d(spec, inShape, index);
  const name = layerName(index, 'avgPool2d');
  const poolShape = poolShapeFor(spec, inShape, outShape);

  return {
    spec,
    kind: 'avgPool2d',
    inShape,
    outShape,
    params: [],

    forward(x, ws = new Workspace()) {
      const m = batchSize(`${name} forward`, x, inShape);
      // (2.3) y = window mean
      const y = avgPool2dForward(x.data, poolShape(m), ws.residentF32('y', m * sizeOf(outShape)));
      return { y: { data: y, shape: [m, ...outShape] }, cache: { m } };
    },

    delta(deltaY, cache, ws = new Workspace(), needDeltaX = true) {
      const m = batchSize(`${name} delta`, deltaY, outShape, cache.m);
      if (!needDeltaX) return { deltaX: null, grads: [] };
      // (2.4) δx += δy / (kH·kW) over each window
      const deltaX = avgPool2dDelta(deltaY.data, poolShape(m), ws.residentF32('deltaX', m * sizeOf(inShape)));
      return { deltaX: { data: deltaX, shape: [m, ...inShape] }, grads: [] };
    },
  };
}
