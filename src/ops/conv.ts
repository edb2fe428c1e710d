/**
 * 2-D convolution (cross-correlation, as in every deep-learning framework): forward, the delta of
 * the input, and the kernel and bias gradients — a fast im2col + gemm path, and loop-by-loop oracles
 * written straight from MATH.md §3 that the tests hold the fast path to.
 *
 * Equations (MATH.md §3), stride s = (sH, sW), zero padding p = (pH, pW):
 *   (3.1) single channel: z[i,j] = Σ_{u,v} a[i+u, j+v] · w[u,v] + b          (validCorr)
 *   (3.2) δa = fullConv(δz, rot180(w)), rot180(w)[u,v] = w[kH−1−u, kW−1−v]
 *   (3.5) z[o,i,j] = b[o] + Σ_c Σ_{u,v} a[c, i·sH+u−pH, j·sW+v−pW] · w[o,c,u,v]   (out of range → 0)
 *   (3.6) δa[c] = Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])), cropped by p on each side
 *   (3.7) ∂C/∂w[o,c] = validCorr(pad_p(a[c]), dilate_s(δz[o])),  ∂C/∂b[o] = Σ_{i,j} δz[o,i,j]
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
 * window; their δx is 0 and they contribute nothing to dW. The oracles handle this by cropping.
 */
import { gemm } from './gemm.js';
import { ShapeError, type Workspace } from './tensor.js';
import { conv2dBackwardWasm, conv2dDeltaXWasm, conv2dForwardWasm, conv2dGradBWasm, conv2dGradWWasm, convWasmReady, convWasmSupports } from './wasm/convWasm.js';

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

function checkShape(where: string, s: ConvShape): void {
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

function checkLen(where: string, name: string, arr: { length: number }, shape: number[]): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (arr.length !== n) throw new ShapeError(where, shape, [arr.length], name);
}

const xShape = (s: ConvShape): number[] => [s.m, s.cIn, s.inH, s.inW];
const wShape = (s: ConvShape): number[] => [s.cOut, s.cIn, s.kH, s.kW];
const zShape = (s: ConvShape): number[] => [s.m, s.cOut, s.outH, s.outW];

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

// ---------------------------------------------------------------------------------------------
// Oracles, straight from the equations. Planes are float64 so the oracles round once, at the end.

/** One 2-D plane (row-major h × w), the unit the single-channel equations (3.1)–(3.3) work on. */
export interface Plane {
  readonly data: Float64Array;
  readonly h: number;
  readonly w: number;
}

/** A float64 copy of the h × w plane starting at `offset` in `t`. */
export function planeAt(t: ArrayLike<number>, offset: number, h: number, w: number): Plane {
  const data = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) data[i] = t[offset + i];
  return { data, h, w };
}

/** rot180(w)[u,v] = w[h−1−u, w−1−v]: the plane turned half a turn (3.2). */
export function rot180Plane(k: Plane): Plane {
  const data = new Float64Array(k.h * k.w);
  for (let u = 0; u < k.h; u++) {
    for (let v = 0; v < k.w; v++) data[u * k.w + v] = k.data[(k.h - 1 - u) * k.w + (k.w - 1 - v)];
  }
  return { data, h: k.h, w: k.w };
}

/**
 * (3.2)(3.6) rot180 of every kernel plane of W [cOut, cIn, kH, kW]: out[o,c,u,v] = W[o,c,kH−1−u,kW−1−v].
 *
 * @example rot180(Float32Array.from([1, 2, 3, 4, 5, 6]), { ...shape, cOut: 1, cIn: 1, kH: 2, kW: 3 }) // [6, 5, 4, 3, 2, 1]
 */
export function rot180(W: Float32Array, s: ConvShape): Float32Array {
  checkLen('rot180', 'W', W, wShape(s));
  const out = new Float32Array(W.length);
  const area = s.kH * s.kW;
  for (let plane = 0; plane < s.cOut * s.cIn; plane++) {
    for (let u = 0; u < s.kH; u++) {
      for (let v = 0; v < s.kW; v++) {
        const kRot = (s.kH - 1 - u) * s.kW + (s.kW - 1 - v);
        out[plane * area + u * s.kW + v] = W[plane * area + kRot];
      }
    }
  }
  return out;
}

/** dilate_s (3.6): insert sH−1 zero rows and sW−1 zero columns between entries; size (h−1)·sH+1 × (w−1)·sW+1. */
export function dilate(d: Plane, strideH: number, strideW: number): Plane {
  const h = (d.h - 1) * strideH + 1;
  const w = (d.w - 1) * strideW + 1;
  const data = new Float64Array(h * w);
  for (let i = 0; i < d.h; i++) {
    for (let j = 0; j < d.w; j++) data[i * strideH * w + j * strideW] = d.data[i * d.w + j];
  }
  return { data, h, w };
}

/** pad_p (3.7): surround the plane with padH zero rows and padW zero columns on each side. */
export function padPlane(a: Plane, padH: number, padW: number): Plane {
  const h = a.h + 2 * padH;
  const w = a.w + 2 * padW;
  const data = new Float64Array(h * w);
  for (let i = 0; i < a.h; i++) {
    for (let j = 0; j < a.w; j++) data[(i + padH) * w + j + padW] = a.data[i * a.w + j];
  }
  return { data, h, w };
}

/**
 * (3.1)(3.3) Valid cross-correlation, the direct single-channel reference:
 * out[i,j] = Σ_{u,v} a[i+u, j+v] · k[u,v], size (a.h − k.h + 1) × (a.w − k.w + 1).
 *
 * @example validCorr(planeAt(x, 0, 3, 3), planeAt(w, 0, 2, 2)) // the 2×2 output of the article's example
 */
export function validCorr(a: Plane, k: Plane): Plane {
  const h = a.h - k.h + 1;
  const w = a.w - k.w + 1;
  const data = new Float64Array(Math.max(0, h) * Math.max(0, w));
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let sum = 0;
      for (let u = 0; u < k.h; u++) {
        for (let v = 0; v < k.w; v++) sum += a.data[(i + u) * a.w + j + v] * k.data[u * k.w + v];
      }
      data[i * w + j] = sum;
    }
  }
  return { data, h, w };
}

/**
 * (3.2) Full convolution as MATH.md writes it: zero-pad d by (k.h−1, k.w−1) on every side and
 * cross-correlate with `kRot`, which the caller passes already rotated (`fullConv(δ, rot180(w))`).
 * Size (d.h + k.h − 1) × (d.w + k.w − 1).
 */
export function fullConv(d: Plane, kRot: Plane): Plane {
  return validCorr(padPlane(d, kRot.h - 1, kRot.w - 1), kRot);
}

/** (3.5) oracle, the six nested loops of the equation with a float64 sum. Allocates z. */
export function conv2dForwardNaive(x: Float32Array, W: Float32Array, b: Float32Array, s: ConvShape): Float32Array {
  checkShape('conv2dForwardNaive', s);
  checkLen('conv2dForwardNaive', 'x', x, xShape(s));
  checkLen('conv2dForwardNaive', 'W', W, wShape(s));
  checkLen('conv2dForwardNaive', 'b', b, [s.cOut]);
  const z = new Float32Array(s.m * s.cOut * s.outH * s.outW);
  for (let n = 0; n < s.m; n++) {
    for (let o = 0; o < s.cOut; o++) {
      for (let i = 0; i < s.outH; i++) {
        for (let j = 0; j < s.outW; j++) {
          let sum = b[o];
          for (let c = 0; c < s.cIn; c++) {
            for (let u = 0; u < s.kH; u++) {
              for (let v = 0; v < s.kW; v++) {
                const y = i * s.strideH + u - s.padH;
                const xx = j * s.strideW + v - s.padW;
                if (y < 0 || y >= s.inH || xx < 0 || xx >= s.inW) continue;
                sum += x[((n * s.cIn + c) * s.inH + y) * s.inW + xx] * W[((o * s.cIn + c) * s.kH + u) * s.kW + v];
              }
            }
          }
          z[((n * s.cOut + o) * s.outH + i) * s.outW + j] = sum;
        }
      }
    }
  }
  return z;
}

/**
 * (3.6) oracle, literally: per sample and input channel c, Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])),
 * then cropped by p; rows/columns of the input that no window reached (non-divisible strides) get 0.
 */
export function conv2dDeltaXNaive(deltaZ: Float32Array, W: Float32Array, s: ConvShape): Float32Array {
  checkShape('conv2dDeltaXNaive', s);
  checkLen('conv2dDeltaXNaive', 'deltaZ', deltaZ, zShape(s));
  checkLen('conv2dDeltaXNaive', 'W', W, wShape(s));
  const wRot = rot180(W, s);
  const deltaX = new Float32Array(s.m * s.cIn * s.inH * s.inW);
  const fullH = (s.outH - 1) * s.strideH + s.kH;
  const fullW = (s.outW - 1) * s.strideW + s.kW;
  for (let n = 0; n < s.m; n++) {
    for (let c = 0; c < s.cIn; c++) {
      const acc = new Float64Array(fullH * fullW);
      for (let o = 0; o < s.cOut; o++) {
        const d = dilate(planeAt(deltaZ, (n * s.cOut + o) * s.outH * s.outW, s.outH, s.outW), s.strideH, s.strideW);
        const kRot = planeAt(wRot, (o * s.cIn + c) * s.kH * s.kW, s.kH, s.kW);
        const full = fullConv(d, kRot);
        for (let i = 0; i < full.data.length; i++) acc[i] += full.data[i];
      }
      // crop p: δx[y,x] is the full result at (y + pH, x + pW), in the padded input's coordinates
      for (let y = 0; y < s.inH; y++) {
        for (let xx = 0; xx < s.inW; xx++) {
          const fy = y + s.padH;
          const fx = xx + s.padW;
          const v = fy < fullH && fx < fullW ? acc[fy * fullW + fx] : 0;
          deltaX[((n * s.cIn + c) * s.inH + y) * s.inW + xx] = v;
        }
      }
    }
  }
  return deltaX;
}

/**
 * (3.7) oracle, literally: dW[o,c] = Σ_n validCorr(pad_p(x[n,c]), dilate_s(δz[n,o])), keeping the
 * top-left kH × kW (the correlation is larger when the stride does not divide the padded input).
 */
export function conv2dGradWNaive(x: Float32Array, deltaZ: Float32Array, s: ConvShape): Float32Array {
  checkShape('conv2dGradWNaive', s);
  checkLen('conv2dGradWNaive', 'x', x, xShape(s));
  checkLen('conv2dGradWNaive', 'deltaZ', deltaZ, zShape(s));
  const dW = new Float32Array(s.cOut * s.cIn * s.kH * s.kW);
  for (let o = 0; o < s.cOut; o++) {
    for (let c = 0; c < s.cIn; c++) {
      const acc = new Float64Array(s.kH * s.kW);
      for (let n = 0; n < s.m; n++) {
        const a = padPlane(planeAt(x, (n * s.cIn + c) * s.inH * s.inW, s.inH, s.inW), s.padH, s.padW);
        const d = dilate(planeAt(deltaZ, (n * s.cOut + o) * s.outH * s.outW, s.outH, s.outW), s.strideH, s.strideW);
        const corr = validCorr(a, d);
        for (let u = 0; u < s.kH; u++) {
          for (let v = 0; v < s.kW; v++) acc[u * s.kW + v] += corr.data[u * corr.w + v];
        }
      }
      dW.set(acc, (o * s.cIn + c) * s.kH * s.kW);
    }
  }
  return dW;
}

/** (3.7) oracle: db[o] = Σ_n Σ_{i,j} δz[n,o,i,j], float64 sum. */
export function conv2dGradBNaive(deltaZ: Float32Array, s: ConvShape): Float32Array {
  checkShape('conv2dGradBNaive', s);
  checkLen('conv2dGradBNaive', 'deltaZ', deltaZ, zShape(s));
  const db = new Float32Array(s.cOut);
  for (let o = 0; o < s.cOut; o++) {
    let sum = 0;
    for (let n = 0; n < s.m; n++) {
      for (let i = 0; i < s.outH; i++) {
        for (let j = 0; j < s.outW; j++) sum += deltaZ[((n * s.cOut + o) * s.outH + i) * s.outW + j];
      }
    }
    db[o] = sum;
  }
  return db;
}
