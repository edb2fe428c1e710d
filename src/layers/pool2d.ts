/**
 * The window geometry that max and average pooling share (MATH.md §2): the options, the spec, the
 * shape inference `[c, inH, inW]` → `[c, outH, outW]` with outH = floor((inH − kH)/sH) + 1 (no
 * padding), and the PoolShape handed to the kernels. Each pooling layer file keeps only its own
 * forward and delta steps.
 */
import { poolOutSize, type PoolShape } from '../ops/pool.js';
import type { LayerShapes, SpecOf } from './layer.js';
import type { OptionReader, Pair } from './options.js';
import { checkImageInput, layerName } from './shapes.js';

export type PoolKind = 'maxPool2d' | 'avgPool2d';

export interface Pool2dOptions {
  /** Window size: `2` or `[kH, kW]`. */
  readonly size: number | Pair;
  /** Step between windows: a number or `[sH, sW]`; defaults to the size (non-overlapping windows). */
  readonly stride?: number | Pair;
}

/** Read and check a pooling spec: `size` required, `stride` defaults to `size`. */
export function readPool2dSpec<K extends PoolKind>(kind: K, o: OptionReader): { readonly kind: K; readonly size: Pair; readonly stride: Pair } {
  const size = o.pair('size', 1, ['kH', 'kW']);
  const stride = o.pair('stride', 1, ['sH', 'sW'], size);
  o.done();
  return { kind, size, stride };
}

/** Shape inference: `[c, inH, inW]` → `[c, outH, outW]`, the window must fit the input. */
export function inferPool2d(spec: SpecOf<PoolKind>, inShape: readonly number[], index: number): LayerShapes {
  // 1. required: an image at least as large as the window; 2. defaults: applied by the spec (stride = size)
  const { c, inH, inW } = checkImageInput(layerName(index, spec.kind), inShape, spec.size, [0, 0]);
  // 3. derived
  return { outShape: [c, poolOutSize(inH, spec.size[0], spec.stride[0]), poolOutSize(inW, spec.size[1], spec.stride[1])], params: [] };
}

/** The kernels' PoolShape for a batch of m, from the layer's spec and its inferred shapes. */
export function poolShapeFor(spec: SpecOf<PoolKind>, inShape: readonly number[], outShape: readonly number[]): (m: number) => PoolShape {
  const [c, inH, inW] = inShape;
  const [, outH, outW] = outShape;
  const [kH, kW] = spec.size;
  const [strideH, strideW] = spec.stride;
  return (m) => ({ m, c, inH, inW, kH, kW, strideH, strideW, outH, outW });
}
