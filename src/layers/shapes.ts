/**
 * Small shape helpers every layer file uses: naming a layer in errors, checking a batch against the
 * per-sample shape a layer was built for, and allocating parameters from their inferred shapes
 * (in the kernels' memory once they are on: see Param).
 * Shapes are per sample (`[c, h, w]` or `[n]`); a batch is `[m, ...shape]`.
 */
import { ShapeError, formatShape, kernelResidentF32, sizeOf, type Tensor } from '../ops/tensor.js';
import type { Param, ParamShape } from './layer.js';

/** `layer 7 (dense)`: how errors name a layer. */
export function layerName(index: number, kind: string): string {
  return `layer ${index} (${kind})`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * The batch size m of `t`, after checking that `t` is `[m, ...perSample]` with m ≥ 1 (and m equal to
 * `expectedM` when given, as a delta step checks against its forward cache).
 */
export function batchSize(where: string, t: Tensor, perSample: readonly number[], expectedM?: number): number {
  const { shape } = t;
  const m = shape[0];
  let isOk = shape.length === perSample.length + 1 && Number.isInteger(m) && m >= 1 && (expectedM === undefined || m === expectedM);
  for (let i = 0; isOk && i < perSample.length; i++) isOk = shape[i + 1] === perSample[i];
  if (isOk && t.data.length === sizeOf(shape)) return m;
  // NOTE: the message is built only on failure: this check runs on every layer of every step.
  const expected = `[${expectedM ?? 'm'}${perSample.map((d) => `, ${d}`).join('')}]`;
  const detail = t.data.length === sizeOf(shape) ? '' : `data has ${t.data.length} elements for shape ${formatShape(shape)}`;
  throw new ShapeError(where, expected, shape, detail);
}

/** Zero-filled parameters for the inferred shapes (the model initializes or loads their values). */
export function allocParams(shapes: readonly ParamShape[]): Param[] {
  return shapes.map((p) => ({ name: p.name, shape: p.shape, value: kernelResidentF32(sizeOf(p.shape)) }));
}

/**
 * The input check shared by conv2d and the pools: an image `[c, h, w]` whose padded size holds the
 * kernel. Returns the channel count and input height and width.
 */
export function checkImageInput(
  where: string,
  inShape: readonly number[],
  kernel: readonly [number, number],
  padding: readonly [number, number],
): { c: number; inH: number; inW: number } {
  if (inShape.length !== 3) {
    throw new ShapeError(where, '[c, h, w]', inShape, 'needs an image input [channels, height, width]');
  }
  const [c, inH, inW] = inShape;
  const [kH, kW] = kernel;
  const [padH, padW] = padding;
  const minH = Math.max(1, kH - 2 * padH);
  const minW = Math.max(1, kW - 2 * padW);
  if (inH < minH || inW < minW) {
    const padded = padH > 0 || padW > 0 ? ` with padding ${formatShape(padding)}` : '';
    throw new ShapeError(where, `[${c}, h ≥ ${minH}, w ≥ ${minW}]`, inShape, `kernel ${formatShape(kernel)}${padded} is larger than the input`);
  }
  return { c, inH, inW };
}
