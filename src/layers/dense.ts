/**
 * Dense (fully connected) layer, batch stored as rows (MATH.md §1):
 *
 *   (1.1) forward   Z = X Wᵀ + 1 bᵀ
 *   (1.4) gradients ∂C/∂W = Δᵀ X,  ∂C/∂b = column sums of Δ   (summed over the batch)
 *   (1.5) delta     Δx = Δ W
 *
 * Shapes: x `[m, nIn]`, y `[m, units]`, W `[units, nIn]` (row o holds the weights into unit o, like
 * PyTorch's nn.Linear.weight), b `[units]`. The activation σ is a separate layer (activation.ts).
 */
import { addBiasRows, sumRows } from '../ops/gemm.js';
import { gemmFast } from '../ops/kernels.js';
import { ShapeError, Workspace, type Tensor } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { optionReader, type OptionReader } from './options.js';
import { allocParams, batchSize, layerName } from './shapes.js';

export interface DenseOptions {
  /** Number of output units n. */
  readonly units: number;
}

/** The one description of a dense spec's fields (used by `dense()` and by the model-file loader). */
export function readDenseSpec(o: OptionReader): SpecOf<'dense'> {
  const units = o.int('units', 1);
  o.done();
  return { kind: 'dense', units };
}

/**
 * A fully connected layer of `units` outputs; its input must be 1-D (put `flatten()` after images).
 *
 * @example sequential({ input: [784] }, dense({ units: 100 }), sigmoid(), dense({ units: 10 }))
 */
export function dense(options: DenseOptions): LayerSpec {
  return readDenseSpec(optionReader('dense', options));
}

/** Shape inference: a 1-D input `[nIn]` gives `[units]`, W `[units, nIn]`, b `[units]`. */
export function inferDense(spec: SpecOf<'dense'>, inShape: readonly number[], index: number): LayerShapes {
  // 1. required: a 1-D input
  if (inShape.length !== 1) {
    const hint = inShape.length === 3 ? 'add flatten() before it' : 'a dense layer needs a 1-D input';
    throw new ShapeError(layerName(index, 'dense'), '[n]', inShape, hint);
  }
  // 2. defaults: none
  // 3. derived
  const nIn = inShape[0];
  return {
    outShape: [spec.units],
    params: [
      { name: 'W', shape: [spec.units, nIn], fanIn: nIn },
      { name: 'b', shape: [spec.units] },
    ],
  };
}

/** What dense's delta step needs: the input batch X (not copied; valid until the producer's next step). */
export interface DenseCache {
  readonly x: Tensor;
}

export function buildDense(spec: SpecOf<'dense'>, inShape: readonly number[], index: number): Layer<DenseCache> {
  const shapes = inferDense(spec, inShape, index);
  const params = allocParams(shapes.params);
  const [W, b] = params;
  const name = layerName(index, 'dense');
  const nIn = inShape[0];
  const n = spec.units;

  return {
    spec,
    kind: 'dense',
    inShape,
    outShape: shapes.outShape,
    params,

    forward(x, ws = new Workspace()) {
      const m = batchSize(`${name} forward`, x, inShape);
      // X is read again by ∂W (1.4): keep it in the kernels' memory once, not copied in per product
      const xData = ws.residentCopy('x', x.data);
      // (1.1) Z = X Wᵀ + 1 bᵀ
      const z = gemmFast(xData, W.value, { m, n, k: nIn, transB: true }, ws.residentF32('z', m * n));
      addBiasRows(z, b.value, m, n);
      return { y: { data: z, shape: [m, n] }, cache: { x: xData === x.data ? x : { data: xData, shape: x.shape } } };
    },

    delta(deltaY, cache, ws = new Workspace(), needDeltaX = true) {
      const x = cache.x;
      const m = batchSize(`${name} delta`, deltaY, shapes.outShape, x.shape[0]);
      // (1.4) ∂C/∂W = Δᵀ X, ∂C/∂b = Σ_x δ^x
      const dW = gemmFast(deltaY.data, x.data, { m: n, n: nIn, k: m, transA: true }, ws.residentF32('dW', n * nIn));
      const db = sumRows(deltaY.data, m, n, ws.residentF32('db', n));
      // (1.5) Δx = Δ W
      const deltaX = needDeltaX ? { data: gemmFast(deltaY.data, W.value, { m, n: nIn, k: n }, ws.residentF32('deltaX', m * nIn)), shape: [m, nIn] } : null;
      return { deltaX, grads: [dW, db] };
    },
  };
}
