/**
 * The loop-by-loop oracles of 2-D convolution, written straight from MATH.md §3, that the tests hold
 * the fast kernels (conv.ts, and the WASM ones behind them) to, and the single-channel plane
 * operations they are built from. conv.ts re-exports everything here.
 *
 * Equations (MATH.md §3), stride s = (sH, sW), zero padding p = (pH, pW):
 *   (3.1) single channel: z[i,j] = Σ_{u,v} a[i+u, j+v] · w[u,v] + b          (validCorr)
 *   (3.2) δa = fullConv(δz, rot180(w)), rot180(w)[u,v] = w[kH−1−u, kW−1−v]    (fullConv, rot180Plane, rot180)
 *   (3.3) ∂C/∂w = validCorr(a, δz), a valid cross-correlation                  (validCorr)
 *   (3.5) z[o,i,j] = b[o] + Σ_c Σ_{u,v} a[c, i·sH+u−pH, j·sW+v−pW] · w[o,c,u,v]   (out of range → 0)
 *   (3.6) δa[c] = Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])), cropped by p on each side
 *   (3.7) ∂C/∂w[o,c] = validCorr(pad_p(a[c]), dilate_s(δz[o])),  ∂C/∂b[o] = Σ_{i,j} δz[o,i,j]
 * (3.5)–(3.7) are conv2dForwardNaive, conv2dDeltaXNaive, conv2dGradWNaive and conv2dGradBNaive.
 * Gradients are summed over the batch here; dividing by m (1.6) is the averaging step's job.
 *
 * Layout: NCHW row-major, as in conv.ts: x and δx are [m, cIn, inH, inW]; W is [cOut, cIn, kH, kW];
 * b is [cOut]; z and δz are [m, cOut, outH, outW]. A Plane is one row-major h × w plane in float64,
 * so the oracles round once, at the end. Every function here allocates its result.
 *
 * NOTE: when (inH + 2pH − kH) % sH ≠ 0 the last rows of the padded input are never read by any
 * window; their δx is 0 and they contribute nothing to dW. The oracles handle this by cropping.
 */
import { type ConvShape, checkLen, checkShape, wShape, xShape, zShape } from './convShape.js';

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
