/**
 * Strided convolution as a stride-1 convolution over phases (space-to-depth), so the stride-1 WASM
 * kernels of convWat.ts run every stride. With stride (sH, sW) and padding (pH, pW), the padded input
 * xpad splits into sH·sW phase planes and the kernel into as many sub-kernels:
 *
 *   x'[n, (c,a,b), i', j']  = xpad[n, c, i'·sH + a, j'·sW + b]                     a < sH, b < sW
 *   W'[o, (c,a,b), u', v']  = W[o, c, u'·sH + a, v'·sW + b]   (0 where u'·sH + a ≥ kH or v'·sW + b ≥ kW)
 *   phase channel (c,a,b)   = (c·sH + a)·sW + b,  kH' = ⌈kH/sH⌉,  kW' = ⌈kW/sW⌉
 *
 * Then (3.5) z[o,i,j] = b[o] + Σ_c Σ_{u,v} xpad[c, i·sH+u, j·sW+v]·W[o,c,u,v]
 *                     = b[o] + Σ_{(c,a,b)} Σ_{u',v'} x'[(c,a,b), i+u', j+v']·W'[o,(c,a,b),u',v'],
 * a stride-1, unpadded convolution with cIn·sH·sW input channels, a kH' × kW' kernel, the same output
 * size, and input planes of (outH + kH' − 1) × (outW + kW' − 1). Its δx' (3.6) and dW' (3.7) map back
 * the same way: δx[n,c,y,x] = δx'[n, phase of (y+pH, x+pW)], dW[o,c,u,v] = dW'[o, (c, u%sH, v%sW),
 * ⌊u/sH⌋, ⌊v/sW⌋]; the δz and db of both are the same tensors.
 *
 * Numbers: every real term of each sum is present once; the zero taps of W' (when kH % sH ≠ 0 or
 * kW % sW ≠ 0) add ±0 products, which change no finite sum, and their dW' entries are dropped.
 * NOTE: a zero tap meets an x' value that a real tap of a neighbouring output reads, so an Inf in x
 * becomes NaN (0·Inf) in one more output than the loop oracle has — the tensor is non-finite either
 * way. Rows and columns of xpad past the last window (when (inH + 2pH − kH) % sH ≠ 0) are never
 * copied: their δx is 0, as in conv.ts.
 *
 * Layout: NCHW row-major; the phase planes are written straight into the stride-1 kernel's padded
 * layout [m, cIn', hp, wp] (convWat.ts), at float index `at` of the heap.
 */
import type { ConvShape } from '../convShape.js';

/** True for the shapes that go through phases (any stride > 1). */
export function isStrided(s: ConvShape): boolean {
  return s.strideH !== 1 || s.strideW !== 1;
}

/** The stride-1, unpadded convolution the phases of `s` make (s itself when it has stride 1). */
export function phaseShape(s: ConvShape): ConvShape {
  if (!isStrided(s)) return s;
  const kH = Math.ceil(s.kH / s.strideH);
  const kW = Math.ceil(s.kW / s.strideW);
  return {
    m: s.m,
    cIn: s.cIn * s.strideH * s.strideW,
    inH: s.outH + kH - 1,
    inW: s.outW + kW - 1,
    cOut: s.cOut,
    kH,
    kW,
    strideH: 1,
    strideW: 1,
    padH: 0,
    padW: 0,
    outH: s.outH,
    outW: s.outW,
  };
}

/**
 * x [m, cIn, inH, inW] → x' in the kernel layout [m, cIn', hp, wp] at float index `at` (p = phaseShape(s);
 * hp = p.inH, wp ≥ p.inW the kernel's row stride). Overwrites the whole region (zeros where xpad is padding).
 */
export function copyXInPhases(heap: Float32Array, x: Float32Array, s: ConvShape, p: ConvShape, hp: number, wp: number, at: number): void {
  const { m, cIn, inH, inW, strideH: sH, strideW: sW, padH, padW } = s;
  heap.fill(0, at, at + m * p.cIn * hp * wp);
  for (let n = 0; n < m; n++) {
    for (let c = 0; c < cIn; c++) {
      const src = (n * cIn + c) * inH * inW;
      for (let a = 0; a < sH; a++) {
        for (let i = 0; i < p.inH; i++) {
          const y = i * sH + a - padH;
          if (y < 0 || y >= inH) continue;
          const row = src + y * inW;
          for (let b = 0; b < sW; b++) {
            const dst = at + ((n * p.cIn + (c * sH + a) * sW + b) * hp + i) * wp;
            // columns j with 0 ≤ j·sW + b − pW < inW
            const j0 = Math.max(0, Math.ceil((padW - b) / sW));
            const j1 = Math.min(p.inW, Math.floor((inW - 1 + padW - b) / sW) + 1);
            for (let j = j0; j < j1; j++) heap[dst + j] = x[row + j * sW + b - padW];
          }
        }
      }
    }
  }
}

/** δx' in the kernel layout at float index `at` → δx [m, cIn, inH, inW] (overwrites `out`; 0 where no window reads). */
export function copyXOutPhases(heap: Float32Array, at: number, s: ConvShape, p: ConvShape, hp: number, wp: number, out: Float32Array): void {
  const { m, cIn, inH, inW, strideH: sH, strideW: sW, padH, padW } = s;
  for (let n = 0; n < m; n++) {
    for (let c = 0; c < cIn; c++) {
      const plane = (n * cIn + c) * inH * inW;
      for (let y = 0; y < inH; y++) {
        const yp = y + padH;
        const i = Math.floor(yp / sH);
        const row = plane + y * inW;
        if (i >= p.inH) {
          out.fill(0, row, row + inW);
          continue;
        }
        const a = yp - i * sH;
        for (let x = 0; x < inW; x++) {
          const xp = x + padW;
          const j = Math.floor(xp / sW);
          const b = xp - j * sW;
          out[row + x] = j < p.inW ? heap[at + ((n * p.cIn + (c * sH + a) * sW + b) * hp + i) * wp + j] : 0;
        }
      }
    }
  }
}

/**
 * W [cOut, cIn, kH, kW] → W' [cOut, cIn', kH', kW'] in `out`. Writes only the real taps: the zero taps
 * are never written, so a buffer zeroed once serves every call.
 */
export function phaseWeights(W: Float32Array, s: ConvShape, p: ConvShape, out: Float32Array): Float32Array {
  const { cOut, cIn, kH, kW, strideH: sH, strideW: sW } = s;
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      for (let u = 0; u < kH; u++) {
        const a = u % sH;
        const uq = (u - a) / sH;
        for (let v = 0; v < kW; v++) {
          const b = v % sW;
          const vq = (v - b) / sW;
          out[((o * p.cIn + (c * sH + a) * sW + b) * p.kH + uq) * p.kW + vq] = W[((o * cIn + c) * kH + u) * kW + v];
        }
      }
    }
  }
  return out;
}

/** dW' [cOut, cIn', kH', kW'] at float index `at` → dW [cOut, cIn, kH, kW] (overwrites `dW`; the zero taps' entries are dropped). */
export function gatherGradW(heap: Float32Array, at: number, s: ConvShape, p: ConvShape, dW: Float32Array): void {
  const { cOut, cIn, kH, kW, strideH: sH, strideW: sW } = s;
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      for (let u = 0; u < kH; u++) {
        const a = u % sH;
        const uq = (u - a) / sH;
        for (let v = 0; v < kW; v++) {
          const b = v % sW;
          const vq = (v - b) / sW;
          dW[((o * cIn + c) * kH + u) * kW + v] = heap[at + ((o * p.cIn + (c * sH + a) * sW + b) * p.kH + uq) * p.kW + vq];
        }
      }
    }
  }
}
