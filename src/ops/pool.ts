/**
 * 2-D max and average pooling, forward and delta, without padding.
 *
 * Equations (MATH.md §2):
 *   (2.1) max forward:   y[n,c,i,j] = max_{u<kH, v<kW} x[n,c, i·sH+u, j·sW+v], recording the argmax
 *   (2.2) max delta:     δx[argmax[n,c,i,j]] += δy[n,c,i,j]   (weight 1; other window positions get 0)
 *   (2.3) avg forward:   y[n,c,i,j] = (1/(kH·kW)) Σ_{u,v} x[n,c, i·sH+u, j·sW+v]
 *   (2.4) avg delta:     δx[n,c, i·sH+u, j·sW+v] += δy[n,c,i,j] / (kH·kW)
 * Overlapping windows (stride < size) accumulate in both deltas.
 *
 * Layout: NCHW row-major. x and δx are [m, c, inH, inW]; y, δy and argmax are [m, c, outH, outW],
 * with outH = floor((inH − kH)/sH) + 1 (poolOutSize). argmax[i] is the flat index into x (over the
 * whole batch) of the input that won output i.
 *
 * Max semantics: the running max starts at −Infinity (the window's first index is the argmax of
 * an all-−Infinity window); on ties the first maximum in row-major window order wins; a NaN anywhere
 * in the window makes the output NaN and the argmax the window's first NaN, so a NaN is never
 * silently dropped and its delta is routed to it.
 *
 * The fast kernels and the `...Naive` oracles run the same loop order (n, c, i, j, u, v); the fast
 * ones hoist plane and row offsets out of the inner loops.
 */
import { ShapeError } from './tensor.js';
import { elementwiseWasmReady, maxPool2x2DeltaWasm, maxPool2x2Wasm, pool2x2WasmSupports } from './wasm/elementwiseWasm.js';

/** Sizes of one pooling op: batch m, channels c, input and window sizes, strides, output sizes. */
export interface PoolShape {
  readonly m: number;
  readonly c: number;
  readonly inH: number;
  readonly inW: number;
  readonly kH: number;
  readonly kW: number;
  readonly strideH: number;
  readonly strideW: number;
  readonly outH: number;
  readonly outW: number;
}

/** Output size of an unpadded window: floor((inSize − k)/stride) + 1 (0 when the window does not fit). */
export function poolOutSize(inSize: number, k: number, stride: number): number {
  if (inSize < k) return 0;
  return Math.floor((inSize - k) / stride) + 1;
}

function checkShape(where: string, s: PoolShape): void {
  const { m, c, inH, inW, kH, kW, strideH, strideW, outH, outW } = s;
  const fields = { m, c, inH, inW, kH, kW, strideH, strideW, outH, outW };
  for (const [name, v] of Object.entries(fields)) {
    if (!Number.isInteger(v) || v < 0) throw new ShapeError(where, 'non-negative integer sizes', `${name}=${v}`);
  }
  if (kH < 1 || kW < 1 || strideH < 1 || strideW < 1) {
    throw new ShapeError(where, 'window and stride ≥ 1', `kernel ${kH}×${kW}, stride ${strideH}×${strideW}`);
  }
  if (outH !== poolOutSize(inH, kH, strideH) || outW !== poolOutSize(inW, kW, strideW)) {
    throw new ShapeError(
      where,
      [poolOutSize(inH, kH, strideH), poolOutSize(inW, kW, strideW)],
      [outH, outW],
      'outH/outW must be floor((in − k)/stride) + 1',
    );
  }
}

function checkLen(where: string, name: string, arr: { length: number }, shape: number[]): void {
  let n = 1;
  for (const d of shape) n *= d;
  if (arr.length !== n) throw new ShapeError(where, shape, [arr.length], name);
}

const inShape = (s: PoolShape): number[] => [s.m, s.c, s.inH, s.inW];
const outShape = (s: PoolShape): number[] => [s.m, s.c, s.outH, s.outW];

/**
 * (2.1) Max pooling forward. Overwrites `out` ([m, c, outH, outW]) and `argmax` (same size, flat
 * indices into x); allocates them when omitted.
 *
 * @example const { y, argmax } = maxPool2dForward(x, { m, c, inH: 28, inW: 28, kH: 2, kW: 2, strideH: 2, strideW: 2, outH: 14, outW: 14 });
 */
export function maxPool2dForward(x: Float32Array, s: PoolShape, out?: Float32Array, argmax?: Int32Array): { y: Float32Array; argmax: Int32Array } {
  checkShape('maxPool2dForward', s);
  checkLen('maxPool2dForward', 'x', x, inShape(s));
  const nOut = s.m * s.c * s.outH * s.outW;
  if (out !== undefined) checkLen('maxPool2dForward', 'out', out, outShape(s));
  if (argmax !== undefined) checkLen('maxPool2dForward', 'argmax', argmax, outShape(s));
  const y = out ?? new Float32Array(nOut);
  const arg = argmax ?? new Int32Array(nOut);
  if (elementwiseWasmReady() && pool2x2WasmSupports(s)) {
    maxPool2x2Wasm(x, s.m * s.c * s.outH, s.outW, y, arg);
    return { y, argmax: arg };
  }
  if (s.kH === 2 && s.kW === 2 && maxPool2x2(x, s, y, arg)) return { y, argmax: arg };
  const { inH, inW, kH, kW, strideH, strideW, outH, outW } = s;
  const nPlanes = s.m * s.c;
  const inPlane = inH * inW;
  let o = 0;
  for (let plane = 0; plane < nPlanes; plane++) {
    const xPlane = plane * inPlane;
    for (let i = 0; i < outH; i++) {
      const rowStart = xPlane + i * strideH * inW;
      for (let j = 0; j < outW; j++, o++) {
        const winStart = rowStart + j * strideW;
        let best = -Infinity;
        let bestAt = winStart;
        for (let u = 0; u < kH; u++) {
          const r = winStart + u * inW;
          for (let v = 0; v < kW; v++) {
            const val = x[r + v];
            // NOTE: `val !== val` is the NaN test; `best === best` keeps the first NaN.
            if (val > best || (val !== val && best === best)) {
              best = val;
              bestAt = r + v;
            }
          }
        }
        y[o] = best;
        arg[o] = bestAt;
      }
    }
  }
  return { y, argmax: arg };
}

/**
 * Order-preserving int32 key of a float32 bit pattern b: for non-NaN floats, key(a) > key(b)
 * exactly when a > b, and key(−0) = key(+0) (they compare equal). Negative floats (sign bit set)
 * have their magnitude bits flipped and are shifted up by one so that −0 lands on 0.
 */
function orderKey(b: number): number {
  return ((b ^ ((b >> 31) & 0x7fffffff)) + (b >>> 31)) | 0;
}

/**
 * (2.1) fast path for 2×2 windows (any stride), without data-dependent branches: a float compare
 * chain mispredicts on random data, so the window's four values are compared as int32 keys
 * (orderKey) and the winners chosen with −1/0 masks and xor (measured 4× faster than the general
 * loop on LeNet's 64×6×24×24 input).
 * Strict `>` in row-major order keeps the first maximum on ties, as the general loop does; the
 * output is then read back from x at the argmax, so it is bit-identical. NaN breaks the key order,
 * so the pass also records whether any input was NaN and returns false, leaving the general loop
 * to redo the whole batch (its NaN rule: the first NaN wins).
 */
function maxPool2x2(x: Float32Array, s: PoolShape, y: Float32Array, arg: Int32Array): boolean {
  const { inH, inW, strideH, strideW, outH, outW } = s;
  const xb = new Int32Array(x.buffer, x.byteOffset, x.length);
  const nPlanes = s.m * s.c;
  const inPlane = inH * inW;
  let nanBits = 0;
  let o = 0;
  for (let plane = 0; plane < nPlanes; plane++) {
    const xPlane = plane * inPlane;
    for (let i = 0; i < outH; i++) {
      const row0 = xPlane + i * strideH * inW;
      const row1 = row0 + inW;
      for (let j = 0; j < outW; j++, o++) {
        const a0 = row0 + j * strideW;
        const a2 = row1 + j * strideW;
        const b0 = xb[a0];
        const b1 = xb[a0 + 1];
        const b2 = xb[a2];
        const b3 = xb[a2 + 1];
        // NaN: magnitude bits above +Infinity's 0x7f800000
        nanBits |= (0x7f800000 - (b0 & 0x7fffffff)) | (0x7f800000 - (b1 & 0x7fffffff)) | (0x7f800000 - (b2 & 0x7fffffff)) | (0x7f800000 - (b3 & 0x7fffffff));
        const k0 = orderKey(b0);
        const k1 = orderKey(b1);
        const k2 = orderKey(b2);
        const k3 = orderKey(b3);
        // masks −1/0 from the comparisons, then xor-selects: no jumps (a ternary here measured 2.6× slower)
        const topMask = -(k1 > k0);
        const kTop = k0 ^ ((k0 ^ k1) & topMask);
        const atTop = a0 + (topMask & 1);
        const bottomMask = -(k3 > k2);
        const kBottom = k2 ^ ((k2 ^ k3) & bottomMask);
        const atBottom = a2 + (bottomMask & 1);
        const at = atTop ^ ((atTop ^ atBottom) & -(kBottom > kTop));
        y[o] = x[at];
        arg[o] = at;
      }
    }
  }
  return nanBits >= 0;
}

/**
 * (2.2) Max pooling delta: zero δx, then δx[argmax[i]] += δy[i]. Overwrites `out` ([m, c, inH, inW]).
 *
 * @example const deltaX = maxPool2dDelta(deltaY, cache.argmax, shape);
 */
export function maxPool2dDelta(deltaY: Float32Array, argmax: Int32Array, s: PoolShape, out?: Float32Array): Float32Array {
  checkShape('maxPool2dDelta', s);
  checkLen('maxPool2dDelta', 'deltaY', deltaY, outShape(s));
  checkLen('maxPool2dDelta', 'argmax', argmax, outShape(s));
  if (out !== undefined) checkLen('maxPool2dDelta', 'out', out, inShape(s));
  const deltaX = out ?? new Float32Array(s.m * s.c * s.inH * s.inW);
  // WASM SIMD for 2×2 stride 2: writes every δx once (no fill pass); same bits as the loop below
  if (elementwiseWasmReady() && pool2x2WasmSupports(s) && maxPool2x2DeltaWasm(deltaY, argmax, s.m * s.c * s.outH, s.outW, deltaX)) return deltaX;
  deltaX.fill(0);
  for (let o = 0; o < deltaY.length; o++) deltaX[argmax[o]] += deltaY[o];
  return deltaX;
}

/**
 * (2.3) Average pooling forward: the mean of each kH × kW window. Overwrites `out` ([m, c, outH, outW]).
 *
 * @example const y = avgPool2dForward(x, shape);
 */
export function avgPool2dForward(x: Float32Array, s: PoolShape, out?: Float32Array): Float32Array {
  checkShape('avgPool2dForward', s);
  checkLen('avgPool2dForward', 'x', x, inShape(s));
  if (out !== undefined) checkLen('avgPool2dForward', 'out', out, outShape(s));
  const y = out ?? new Float32Array(s.m * s.c * s.outH * s.outW);
  const { inH, inW, kH, kW, strideH, strideW, outH, outW } = s;
  const nPlanes = s.m * s.c;
  const inPlane = inH * inW;
  const invArea = 1 / (kH * kW);
  let o = 0;
  for (let plane = 0; plane < nPlanes; plane++) {
    const xPlane = plane * inPlane;
    for (let i = 0; i < outH; i++) {
      const rowStart = xPlane + i * strideH * inW;
      for (let j = 0; j < outW; j++, o++) {
        const winStart = rowStart + j * strideW;
        let sum = 0;
        for (let u = 0; u < kH; u++) {
          const r = winStart + u * inW;
          for (let v = 0; v < kW; v++) sum += x[r + v];
        }
        y[o] = sum * invArea;
      }
    }
  }
  return y;
}

/**
 * (2.4) Average pooling delta: zero δx, then every window position += δy / (kH·kW); overlapping
 * windows accumulate. Overwrites `out` ([m, c, inH, inW]).
 *
 * @example const deltaX = avgPool2dDelta(deltaY, shape);
 */
export function avgPool2dDelta(deltaY: Float32Array, s: PoolShape, out?: Float32Array): Float32Array {
  checkShape('avgPool2dDelta', s);
  checkLen('avgPool2dDelta', 'deltaY', deltaY, outShape(s));
  if (out !== undefined) checkLen('avgPool2dDelta', 'out', out, inShape(s));
  const deltaX = out ?? new Float32Array(s.m * s.c * s.inH * s.inW);
  deltaX.fill(0);
  const { inH, inW, kH, kW, strideH, strideW, outH, outW } = s;
  const nPlanes = s.m * s.c;
  const inPlane = inH * inW;
  const invArea = 1 / (kH * kW);
  let o = 0;
  for (let plane = 0; plane < nPlanes; plane++) {
    const xPlane = plane * inPlane;
    for (let i = 0; i < outH; i++) {
      const rowStart = xPlane + i * strideH * inW;
      for (let j = 0; j < outW; j++, o++) {
        const winStart = rowStart + j * strideW;
        const share = deltaY[o] * invArea;
        for (let u = 0; u < kH; u++) {
          const r = winStart + u * inW;
          for (let v = 0; v < kW; v++) deltaX[r + v] += share;
        }
      }
    }
  }
  return deltaX;
}

// ---------------------------------------------------------------------------------------------
// Oracles: the equations indexed literally, with 4-D index helpers and no hoisting.

/** Flat NCHW index of [n, c, h, w] in a tensor with C channels, H rows, W columns. */
function at(n: number, c: number, h: number, w: number, C: number, H: number, W: number): number {
  return ((n * C + c) * H + h) * W + w;
}

/** (2.1) oracle: same contract as {@link maxPool2dForward}, allocating. */
export function maxPool2dForwardNaive(x: Float32Array, s: PoolShape): { y: Float32Array; argmax: Int32Array } {
  checkShape('maxPool2dForwardNaive', s);
  checkLen('maxPool2dForwardNaive', 'x', x, inShape(s));
  const y = new Float32Array(s.m * s.c * s.outH * s.outW);
  const argmax = new Int32Array(y.length);
  for (let n = 0; n < s.m; n++) {
    for (let c = 0; c < s.c; c++) {
      for (let i = 0; i < s.outH; i++) {
        for (let j = 0; j < s.outW; j++) {
          let best = -Infinity;
          let bestAt = at(n, c, i * s.strideH, j * s.strideW, s.c, s.inH, s.inW);
          let hasNaN = false;
          for (let u = 0; u < s.kH; u++) {
            for (let v = 0; v < s.kW; v++) {
              const idx = at(n, c, i * s.strideH + u, j * s.strideW + v, s.c, s.inH, s.inW);
              if (hasNaN) continue;
              if (Number.isNaN(x[idx])) {
                hasNaN = true;
                best = NaN;
                bestAt = idx;
              } else if (x[idx] > best) {
                best = x[idx];
                bestAt = idx;
              }
            }
          }
          const o = at(n, c, i, j, s.c, s.outH, s.outW);
          y[o] = best;
          argmax[o] = bestAt;
        }
      }
    }
  }
  return { y, argmax };
}

/** (2.2) oracle: for every output, add its δ to the input at its argmax. Allocates δx. */
export function maxPool2dDeltaNaive(deltaY: Float32Array, argmax: Int32Array, s: PoolShape): Float32Array {
  checkShape('maxPool2dDeltaNaive', s);
  checkLen('maxPool2dDeltaNaive', 'deltaY', deltaY, outShape(s));
  checkLen('maxPool2dDeltaNaive', 'argmax', argmax, outShape(s));
  const deltaX = new Float32Array(s.m * s.c * s.inH * s.inW);
  for (let n = 0; n < s.m; n++) {
    for (let c = 0; c < s.c; c++) {
      for (let i = 0; i < s.outH; i++) {
        for (let j = 0; j < s.outW; j++) {
          const o = at(n, c, i, j, s.c, s.outH, s.outW);
          deltaX[argmax[o]] += deltaY[o];
        }
      }
    }
  }
  return deltaX;
}

/** (2.3) oracle: window mean, float64 sum. Allocates y. */
export function avgPool2dForwardNaive(x: Float32Array, s: PoolShape): Float32Array {
  checkShape('avgPool2dForwardNaive', s);
  checkLen('avgPool2dForwardNaive', 'x', x, inShape(s));
  const y = new Float32Array(s.m * s.c * s.outH * s.outW);
  for (let n = 0; n < s.m; n++) {
    for (let c = 0; c < s.c; c++) {
      for (let i = 0; i < s.outH; i++) {
        for (let j = 0; j < s.outW; j++) {
          let sum = 0;
          for (let u = 0; u < s.kH; u++) {
            for (let v = 0; v < s.kW; v++) sum += x[at(n, c, i * s.strideH + u, j * s.strideW + v, s.c, s.inH, s.inW)];
          }
          y[at(n, c, i, j, s.c, s.outH, s.outW)] = sum / (s.kH * s.kW);
        }
      }
    }
  }
  return y;
}

/** (2.4) oracle: δx[x] = Σ over windows containing x of δy / (kH·kW), gathered per input in float64. */
export function avgPool2dDeltaNaive(deltaY: Float32Array, s: PoolShape): Float32Array {
  checkShape('avgPool2dDeltaNaive', s);
  checkLen('avgPool2dDeltaNaive', 'deltaY', deltaY, outShape(s));
  const deltaX = new Float32Array(s.m * s.c * s.inH * s.inW);
  for (let n = 0; n < s.m; n++) {
    for (let c = 0; c < s.c; c++) {
      for (let h = 0; h < s.inH; h++) {
        for (let w = 0; w < s.inW; w++) {
          let sum = 0;
          for (let i = 0; i < s.outH; i++) {
            for (let j = 0; j < s.outW; j++) {
              const u = h - i * s.strideH;
              const v = w - j * s.strideW;
              if (u >= 0 && u < s.kH && v >= 0 && v < s.kW) sum += deltaY[at(n, c, i, j, s.c, s.outH, s.outW)] / (s.kH * s.kW);
            }
          }
          deltaX[at(n, c, h, w, s.c, s.inH, s.inW)] = sum;
        }
      }
    }
  }
  return deltaX;
}
