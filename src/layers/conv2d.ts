/**
 * 2-D convolution layer (cross-correlation, as every framework computes it), MATH.md §3:
 *
 *   (3.5) forward  z[o, i, j] = b[o] + Σ_c Σ_{u,v} x[c, i·sH + u − pH, j·sW + v − pW] · W[o, c, u, v]
 *                  (inputs outside the image are 0)
 *   (3.6) delta    δx[c] = Σ_o fullConv(dilate_s(δz[o]), rot180(W[o, c])), cropped by the padding
 *   (3.7) grads    ∂C/∂W[o, c] = validCorr(pad_p(x[c]), dilate_s(δz[o])),  ∂C/∂b[o] = Σ_{i,j} δz[o, i, j]
 *                  (summed over the batch)
 *
 * Shapes: x `[m, cIn, inH, inW]` → y `[m, cOut, outH, outW]` with outH = floor((inH + 2pH − kH)/sH) + 1;
 * W `[cOut, cIn, kH, kW]` (like PyTorch's nn.Conv2d.weight), b `[cOut]`. cOut is `filters`.
 */
import { conv2dBackward, conv2dForward, convOutSize, type ConvShape } from '../ops/conv.js';
import { Workspace, sizeOf, type Tensor } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { optionReader, type OptionReader, type Pair } from './options.js';
import { allocParams, batchSize, checkImageInput, layerName } from './shapes.js';

export interface Conv2dOptions {
  /** Number of output channels cOut. */
  readonly filters: number;
  /** Kernel size: `5` or `[kH, kW]`. */
  readonly kernel: number | Pair;
  /** Step between output positions: a number or `[sH, sW]`; default 1. */
  readonly stride?: number | Pair;
  /** Zeros added on each side: a number or `[pH, pW]`; default 0. */
  readonly padding?: number | Pair;
}

export function readConv2dSpec(o: OptionReader): SpecOf<'conv2d'> {
  const filters = o.int('filters', 1);
  const kernel = o.pair('kernel', 1, ['kH', 'kW']);
  const stride = o.pair('stride', 1, ['sH', 'sW'], [1, 1]);
  const padding = o.pair('padding', 0, ['pH', 'pW'], [0, 0]);
  o.done();
  return { kind: 'conv2d', filters, kernel, stride, padding };
}

/**
 * A convolution with `filters` output channels.
 *
 * @example sequential({ input: [1, 28, 28] }, conv2d({ filters: 6, kernel: 5, padding: 2 }), relu()) // → [6, 28, 28]
 */
export function conv2d(options: Conv2dOptions): LayerSpec {
  return readConv2dSpec(optionReader('conv2d', options));
}

/** Shape inference: `[cIn, inH, inW]` → `[filters, outH, outW]`; W `[filters, cIn, kH, kW]`, b `[filters]`. */
export function inferConv2d(spec: SpecOf<'conv2d'>, inShape: readonly number[], index: number): LayerShapes {
  // 1. required: an image whose padded size holds the kernel; 2. defaults: applied by the spec (stride 1, padding 0)
  const { c: cIn, inH, inW } = checkImageInput(layerName(index, 'conv2d'), inShape, spec.kernel, spec.padding);
  // 3. derived
  const [kH, kW] = spec.kernel;
  const outH = convOutSize(inH, kH, spec.stride[0], spec.padding[0]);
  const outW = convOutSize(inW, kW, spec.stride[1], spec.padding[1]);
  return {
    outShape: [spec.filters, outH, outW],
    params: [
      { name: 'W', shape: [spec.filters, cIn, kH, kW], fanIn: cIn * kH * kW },
      { name: 'b', shape: [spec.filters] },
    ],
  };
}

/** What conv2d's delta step needs: the input batch x (not copied; valid until the producer's next step). */
export interface Conv2dCache {
  readonly x: Tensor;
}

export function buildConv2d(spec: SpecOf<'conv2d'>, inShape: readonly number[], index: number): Layer<Conv2dCache> {
  const shapes = inferConv2d(spec, inShape, index);
  const params = allocParams(shapes.params);
  const [W, b] = params;
  const name = layerName(index, 'conv2d');
  const [cIn, inH, inW] = inShape;
  const [cOut, outH, outW] = shapes.outShape;
  const [kH, kW] = spec.kernel;
  const [strideH, strideW] = spec.stride;
  const [padH, padW] = spec.padding;
  const convShape = (m: number): ConvShape => ({ m, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padH, padW, outH, outW });

  return {
    spec,
    kind: 'conv2d',
    inShape,
    outShape: shapes.outShape,
    params,

    forward(x, ws = new Workspace()) {
      const m = batchSize(`${name} forward`, x, inShape);
      // (3.5) z = b + Σ_c x ⋆ W
      const z = conv2dForward(x.data, W.value, b.value, convShape(m), ws.residentF32('z', m * sizeOf(shapes.outShape)), ws);
      return { y: { data: z, shape: [m, ...shapes.outShape] }, cache: { x } };
    },

    delta(deltaY, cache, ws = new Workspace(), needDeltaX = true) {
      const x = cache.x;
      const m = batchSize(`${name} delta`, deltaY, shapes.outShape, x.shape[0]);
      const s = convShape(m);
      // (3.7) ∂C/∂W = validCorr(pad_p(x), dilate_s(δz)), ∂C/∂b = Σ δz
      // (3.6) δx = fullConv(dilate_s(δz), rot180(W)), cropped by p — all three in one call
      const dW = ws.f32('dW', W.value.length);
      const db = ws.f32('db', cOut);
      const dx = needDeltaX ? ws.residentF32('deltaX', x.data.length) : null;
      conv2dBackward(x.data, deltaY.data, W.value, s, dW, db, dx, ws);
      const deltaX = dx === null ? null : { data: dx, shape: x.shape };
      return { deltaX, grads: [dW, db] };
    },
  };
}
