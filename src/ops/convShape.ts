/**
 * The sizes of a 2-D convolution (`ConvShape`), its output size, and the checks every convolution
 * kernel (conv.ts) and oracle (convNaive.ts) runs on its arguments first.
 *
 * Output size (MATH.md (3.5)), stride s = (sH, sW), zero padding p = (pH, pW):
 *   outH = floor((inH + 2pH − kH)/sH) + 1,  outW = floor((inW + 2pW − kW)/sW) + 1
 *
 * Layout: NCHW row-major. x and δx are [m, cIn, inH, inW]; W and dW are [cOut, cIn, kH, kW];
 * b and db are [cOut]; z and δz are [m, cOut, outH, outW].
 */
import { ShapeError } from './tensor.js';

/** Sizes of one convolution; `outH`/`outW` must equal convOutSize of the others. */
export interface ConvShape {
  readonly m: number;
  readonly cIn: number;
  readonly inH: number;
  readonly inW: number;
  readonly cOut: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly padH: number;
  readonly padW: number;
  readonly outH: number;
  readonly outW: number;
}

/** Output size of a padded, strided window: floor((inSize + 2·pad − k)/stride) + 1. */
export function convOutSize(inSize: number, k: number, stride: number, pad: number): number {
  return Math.floor((inSize + 2 * pad - k) / stride) + 1;
}

/** Throws a ShapeError naming `where` unless the sizes are consistent (outH/outW by convOutSize). */
export function checkShape(where: string, s: ConvShape): void {
  const { m, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padH, padW, outH, outW } = s;
  const fields = { m, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padH, padW, outH, outW };
  for (const [name, v] of Object.entries(fields)) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(where, 'non-negative integer sizes', `${name}=${v}`);
  }
  if (kH < 1 || kW < 1 || strideH < 1 || strideW < 1 || cIn < 1 || cOut < 1) {
    throw new ShapeError(where, 'kernel, stride and channels ≥ 1', `kernel ${kH}×${kW}, stride ${strideH}×${strideW}, channels ${cIn}→${cOut}`);
  }
  const wantH = convOutSize(inH, kH, strideH, padH);
  const wantW = convOutSize(inW, kW, strideW, padW);
  if (wantH < 1 || wantW < 1) {
    throw new ShapeError(where, `kernel ≤ padded input`, `kernel ${kH}×${kW} on padded input ${inH + 2 * padH}×${inW + 2 * padW}`);
  }
  if (outH !== wantH || outW !== wantW) {
    throw new ShapeError(where, [wantH, wantW], [outH, outW], 'outH/outW must be floor((in + 2·pad − k)/stride) + 1');
  }
}

/** Throws a ShapeError naming `where` and `name` unless `arr` holds exactly prod(shape) values. */
export function checkLen(where: string, name: string, arr: { length: number }, shape: number[]): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (arr.length !== n) throw new ShapeError(where, shape, [arr.length], name);
}

export const xShape = (s: ConvShape): number[] => [s.m, s.cIn, s.inH, s.inW];
export const wShape = (s: ConvShape): number[] => [s.cOut, s.cIn, s.kH, s.kW];
export const zShape = (s: ConvShape): number[] => [s.m, s.cOut, s.outH, s.outW];
