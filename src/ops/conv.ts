/**
 * 2-D convolution (cross-correlation, as in every deep-learning framework): forward, the delta of
 * the input, and the kernel and bias gradients — the fast im2col + gemm path (or the WASM kernels,
 * when initialised and the shape suits them). The loop-by-loop oracles the tests hold it to are in
 * convNaive.ts, the sizes and shape checks in convShape.ts; this module re-exports both.
 *
 * Equations (MATH.md §3), stride s = (sH, sW), zero padding p = (pH, pW):
 *   (3.5) z[o,i,j] = b[o] + Σ_c Σ_{u,v} a[c, i·sH+u−pH, j·sW+v−pW] · w[o,c,u,v]   (out of range → 0)
 *   (3.6) δa[c] = Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])), cropped by p on each side
 *   (3.7) ∂C/∂w[o,c] = validCorr(pad_p(a[c]), dilate_s(δz[o])),  ∂C/∂b[o] = Σ_{i,j} δz[o,i,j]
 * with fullConv, rot180 (3.2), dilate_s and validCorr (3.1)(3.3) as convNaive.ts defines them.
 * Gradients are summed over the batch here; dividing by m (1.6) is the averaging step's job.
 *
 * Layout: NCHW row-major. x and δx are [m, cIn, inH, inW]; W and dW are [cOut, cIn, kH, kW];
 * b and db are [cOut]; z and δz are [m, cOut, outH, outW] with outH = floor((inH + 2pH − kH)/sH) + 1.
 * im2col's matrix for one sample is [K, P] with K = cIn·kH·kW (row (c·kH + u)·kW + v, the same order
 * as a row of W) and P = outH·outW (column i·outW + j). Then, per sample n:
 *   forward  z_n [cOut, P]  = W [cOut, K] · cols_n [K, P]                       (gemm, no transpose)
 *   deltaX   dcols [K, P]   = Wᵀ · δz_n [cOut, P], then col2im scatters into δx_n  (gemm transA)
 *   gradW    dW [cOut, K]  += δz_n · cols_nᵀ                                      (gemm transB)
 * A 1×1 kernel with stride 1 and no padding skips im2col: cols_n is x_n itself.
 *
 * NOTE: when (inH + 2pH − kH) % sH ≠ 0 the last rows of the padded input are never read by any
 * window; im2col never copies them, so their δx is 0 and they contribute nothing to dW.
 */
import { type ConvShape, checkLen, checkShape, wShape, xShape, zShape } from './convShape.js';
import { gemm } from './gemm.js';
import type { Workspace } from './tensor.js';
import { conv2dBackwardWasm, conv2dDeltaXWasm, conv2dForwardWasm, conv2dGradBWasm, conv2dGradWWasm, convWasmReady, convWasmSupports } from './wasm/convWasm.js';

export { convOutSize, type ConvShape } from './convShape.js';
export * from './convNaive.js';

const isIdentityIm2col = (s: ConvShape): boolean =>
  s.kH === 1 && s.kW === 1 && s.strideH === 1 && s.strideW === 1 && s.padH === 0 && s.padW === 0;

// ---------------------------------------------------------------------------------------------
// im2col / col2im

/**
 * First and one-past-last output column j whose input column j·sW + v − pW lies inside [0, inW):
 * the columns outside get zeros (im2col) or are skipped (col2im), so the inner loops have no branch.
 */
function validRange(v: number, stride: number, pad: number, inSize: number, outSize: number): [number, number] {
  const j0 = Math.min(outSize, Math.max(0, Math.ceil((pad - v) / stride)));
  const j1 = Math.max(j0, Math.min(outSize, Math.floor((inSize - 1 + pad - v) / stride) + 1));
  return [j0, j1];
}

/**
 * Unfold sample `n` of x into cols [cIn·kH·kW, outH·outW]: cols[(c·kH+u)·kW+v, i·outW+j] =
 * x[n, c, i·sH+u−pH, j·sW+v−pW] (0 outside the input). Overwrites `cols`; allocates it when omitted.
 *
 * @example const cols = im2col(x, shape, 0); // then gemm(W, cols, { m: cOut, n: outH*outW, k: cIn*kH*kW })
 */
export function im2col(x: Float32Array, s: ConvShape, n: number, cols?: Float32Array): Float32Array {
  checkShape('im2col', s);
  checkLen('im2col', 'x', x, xShape(s));
  const nRows = s.cIn * s.kH * s.kW;
  const nP = s.outH * s.outW;
  if (cols !== undefined) checkLen('im2col', 'cols', cols, [nRows, nP]);
  return im2colInto(x, s, n, cols ?? new Float32Array(nRows * nP));
}

/** im2col without the boundary checks, for the fast path (shapes checked once per call there). */
function im2colInto(x: Float32Array, s: ConvShape, n: number, out: Float32Array): Float32Array {
  const { cIn, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = s;
  const nP = outH * outW;
  for (let c = 0; c < cIn; c++) {
    const xPlane = (n * cIn + c) * inH * inW;
    for (let u = 0; u < kH; u++) {
      for (let v = 0; v < kW; v++) {
        const row = ((c * kH + u) * kW + v) * nP;
        const [j0, j1] = validRange(v, strideW, padW, inW, outW);
        for (let i = 0; i < outH; i++) {
          const iy = i * strideH + u - padH;
          const dst = row + i * outW;
          if (iy < 0 || iy >= inH) {
            out.fill(0, dst, dst + outW);
            continue;
          }
          const src = xPlane + iy * inW + v - padW;
          for (let j = 0; j < j0; j++) out[dst + j] = 0;
          if (strideW === 1) {
            for (let j = j0; j < j1; j++) out[dst + j] = x[src + j];
          } else {
            for (let j = j0; j < j1; j++) out[dst + j] = x[src + j * strideW];
          }
          for (let j = j1; j < outW; j++) out[dst + j] = 0;
        }
      }
    }
  }
  return out;
}

/**
 * The transpose of im2col: fold cols [cIn·kH·kW, outH·outW] back into sample `n` of deltaX
 * ([m, cIn, inH, inW]), adding every column entry to the input it was copied from. ACCUMULATES
 * into `deltaX` (positions shared by overlapping windows receive a sum); the caller zeroes first.
 *
 * @example deltaX.fill(0); col2im(dcols, shape, 0, deltaX);
 */
export function col2im(cols: Float32Array, s: ConvShape, n: number, deltaX: Float32Array): Float32Array {
  checkShape('col2im', s);
  checkLen('col2im', 'deltaX', deltaX, xShape(s));
  checkLen('col2im', 'cols', cols, [s.cIn * s.kH * s.kW, s.outH * s.outW]);
  return col2imAdd(cols, s, n, deltaX);
}

/** col2im without the boundary checks, for the fast path. Accumulates into deltaX. */
function col2imAdd(cols: Float32Array, s: ConvShape, n: number, deltaX: Float32Array): Float32Array {
  const { cIn, inH, inW, kH, kW, strideH, strideW, padH, padW, outH, outW } = s;
  const nP = outH * outW;
  for (let c = 0; c < cIn; c++) {
    const xPlane = (n * cIn + c) * inH * inW;
    for (let u = 0; u < kH; u++) {
      for (let v = 0; v < kW; v++) {
        const row = ((c * kH + u) * kW + v) * nP;
        const [j0, j1] = validRange(v, strideW, padW, inW, outW);
        for (let i = 0; i < outH; i++) {
          const iy = i * strideH + u - padH;
          if (iy < 0 || iy >= inH) continue;
          const srcRow = row + i * outW;
          const dst = xPlane + iy * inW + v - padW;
          if (strideW === 1) {
            for (let j = j0; j < j1; j++) deltaX[dst + j] += cols[srcRow + j];
          } else {
            for (let j = j0; j < j1; j++) deltaX[dst + j * strideW] += cols[srcRow + j];
          }
        }
      }
    }
  }
  return deltaX;
}

// ---------------------------------------------------------------------------------------------
// Fast path: im2col + gemm per sample

/**
 * (3.5) Forward: z = W ⊛ x + b for the whole batch. Overwrites `out` ([m, cOut, outH, outW]);
 * scratch `ws.f32('im2col', …)`.
 *
 * @example const z = conv2dForward(x, W, b, { m, cIn: 1, inH: 28, inW: 28, cOut: 6, kH: 5, kW: 5, strideH: 1, strideW: 1, padH: 0, padW: 0, outH: 24, outW: 24 });
 */
export function conv2dForward(x: Float32Array, W: Float32Array, b: Float32Array, s: ConvShape, out?: Float32Array, ws?: Workspace): Float32Array {
  checkShape('conv2dForward', s);
  checkLen('conv2dForward', 'x', x, xShape(s));
  checkLen('conv2dForward', 'W', W, wShape(s));
  checkLen('conv2dForward', 'b', b, [s.cOut]);
  if (out !== undefined) checkLen('conv2dForward', 'out', out, zShape(s));
  const z = out ?? new Float32Array(s.m * s.cOut * s.outH * s.outW);
  if (convWasmReady() && convWasmSupports(s)) return conv2dForwardWasm(x, W, b, s, z);
  const nK = s.cIn * s.kH * s.kW;
  const nP = s.outH * s.outW;
  const isIdentity = isIdentityIm2col(s);
  const cols = isIdentity ? null : (ws?.f32('im2col', nK * nP) ?? new Float32Array(nK * nP));
  for (let n = 0; n < s.m; n++) {
    const zN = z.subarray(n * s.cOut * nP, (n + 1) * s.cOut * nP);
    const colsN = cols === null ? x.subarray(n * nK * nP, (n + 1) * nK * nP) : im2colInto(x, s, n, cols);
    gemm(W, colsN, { m: s.cOut, n: nP, k: nK }, zN);
    for (let o = 0; o < s.cOut; o++) {
      const bo = b[o];
      const row = o * nP;
      for (let p = 0; p < nP; p++) zN[row + p] += bo;
    }
  }
  return z;
}

/**
 * (3.6) Delta of the input: δx = Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])) cropped by p,
 * computed as col2im(Wᵀ · δz_n) per sample. Overwrites `out` ([m, cIn, inH, inW]); scratch
 * `ws.f32('col2im', …)`.
 *
 * @example const deltaX = conv2dDeltaX(deltaZ, W, shape);
 */
export function conv2dDeltaX(deltaZ: Float32Array, W: Float32Array, s: ConvShape, out?: Float32Array, ws?: Workspace): Float32Array {
  checkShape('conv2dDeltaX', s);
  checkLen('conv2dDeltaX', 'deltaZ', deltaZ, zShape(s));
  checkLen('conv2dDeltaX', 'W', W, wShape(s));
  if (out !== undefined) checkLen('conv2dDeltaX', 'out', out, xShape(s));
  const deltaX = out ?? new Float32Array(s.m * s.cIn * s.inH * s.inW);
  if (convWasmReady() && convWasmSupports(s)) return conv2dDeltaXWasm(deltaZ, W, s, deltaX);
  const nK = s.cIn * s.kH * s.kW;
  const nP = s.outH * s.outW;
  const isIdentity = isIdentityIm2col(s);
  const dcols = isIdentity ? null : (ws?.f32('col2im', nK * nP) ?? new Float32Array(nK * nP));
  if (!isIdentity) deltaX.fill(0);
  for (let n = 0; n < s.m; n++) {
    const deltaZN = deltaZ.subarray(n * s.cOut * nP, (n + 1) * s.cOut * nP);
    if (dcols === null) {
      // 1×1, stride 1, no padding: col2im is the identity, so write δx_n directly.
      gemm(W, deltaZN, { m: nK, n: nP, k: s.cOut, transA: true }, deltaX.subarray(n * nK * nP, (n + 1) * nK * nP));
    } else {
      gemm(W, deltaZN, { m: nK, n: nP, k: s.cOut, transA: true }, dcols);
      col2imAdd(dcols, s, n, deltaX);
    }
  }
  return deltaX;
}

/**
 * (3.7) Kernel gradient summed over the batch: dW[o,c] = Σ_n validCorr(pad_p(x[n,c]), dilate_s(δz[n,o])),
 * computed as Σ_n δz_n · cols_nᵀ. Overwrites `dW` ([cOut, cIn, kH, kW]); scratch `ws.f32('im2col', …)`.
 *
 * @example const dW = conv2dGradW(cache.x, deltaZ, shape);
 */
export function conv2dGradW(x: Float32Array, deltaZ: Float32Array, s: ConvShape, dW?: Float32Array, ws?: Workspace): Float32Array {
  checkShape('conv2dGradW', s);
  checkLen('conv2dGradW', 'x', x, xShape(s));
  checkLen('conv2dGradW', 'deltaZ', deltaZ, zShape(s));
  if (dW !== undefined) checkLen('conv2dGradW', 'dW', dW, wShape(s));
  const grad = dW ?? new Float32Array(s.cOut * s.cIn * s.kH * s.kW);
  if (convWasmReady() && convWasmSupports(s)) return conv2dGradWWasm(x, deltaZ, s, grad);
  const nK = s.cIn * s.kH * s.kW;
  const nP = s.outH * s.outW;
  const isIdentity = isIdentityIm2col(s);
  const cols = isIdentity ? null : (ws?.f32('im2col', nK * nP) ?? new Float32Array(nK * nP));
  grad.fill(0);
  for (let n = 0; n < s.m; n++) {
    const deltaZN = deltaZ.subarray(n * s.cOut * nP, (n + 1) * s.cOut * nP);
    const colsN = cols === null ? x.subarray(n * nK * nP, (n + 1) * nK * nP) : im2colInto(x, s, n, cols);
    gemm(deltaZN, colsN, { m: s.cOut, n: nK, k: nP, transB: true, accumulate: true }, grad);
  }
  return grad;
}

/**
 * (3.7) Bias gradient summed over the batch: db[o] = Σ_n Σ_{i,j} δz[n,o,i,j]. Overwrites `db` ([cOut]).
 *
 * @example const db = conv2dGradB(deltaZ, shape);
 */
export function conv2dGradB(deltaZ: Float32Array, s: ConvShape, db?: Float32Array): Float32Array {
  checkShape('conv2dGradB', s);
  checkLen('conv2dGradB', 'deltaZ', deltaZ, zShape(s));
  if (db !== undefined) checkLen('conv2dGradB', 'db', db, [s.cOut]);
  const grad = db ?? new Float32Array(s.cOut);
  if (convWasmReady() && convWasmSupports(s)) return conv2dGradBWasm(deltaZ, s, grad);
  const nP = s.outH * s.outW;
  for (let o = 0; o < s.cOut; o++) {
    let sum = 0;
    for (let n = 0; n < s.m; n++) {
      const row = (n * s.cOut + o) * nP;
      for (let p = 0; p < nP; p++) sum += deltaZ[row + p];
    }
    grad[o] = sum;
  }
  return grad;
}

/**
 * (3.6)(3.7) The delta step of a convolution layer in one call: dW ([cOut, cIn, kH, kW]) and db
 * ([cOut]) overwritten and, when `deltaX` is given, δx ([m, cIn, inH, inW]) overwritten — the same
 * numbers as conv2dGradW, conv2dGradB and conv2dDeltaX. With the WASM kernels (stride 1), x and δz
 * are copied into the kernels' memory once for all three; otherwise it calls the three in turn.
 *
 * @example conv2dBackward(cache.x, deltaZ, W, shape, dW, db, needDeltaX ? deltaX : null, ws);
 */
export function conv2dBackward(
  x: Float32Array,
  deltaZ: Float32Array,
  W: Float32Array,
  s: ConvShape,
  dW: Float32Array,
  db: Float32Array,
  deltaX: Float32Array | null,
  ws?: Workspace,
): void {
  checkShape('conv2dBackward', s);
  checkLen('conv2dBackward', 'x', x, xShape(s));
  checkLen('conv2dBackward', 'deltaZ', deltaZ, zShape(s));
  checkLen('conv2dBackward', 'W', W, wShape(s));
  checkLen('conv2dBackward', 'dW', dW, wShape(s));
  checkLen('conv2dBackward', 'db', db, [s.cOut]);
  if (deltaX !== null) checkLen('conv2dBackward', 'deltaX', deltaX, xShape(s));
  if (convWasmReady() && convWasmSupports(s)) {
    conv2dBackwardWasm(x, deltaZ, W, s, dW, db, deltaX);
    return;
  }
  conv2dGradW(x, deltaZ, s, dW, ws);
  conv2dGradB(deltaZ, s, db);
  if (deltaX !== null) conv2dDeltaX(deltaZ, W, s, deltaX, ws);
}
