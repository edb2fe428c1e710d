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
 * Layout: NCHW row-major; the phase planes are laid out straight in the stride-1 kernel's padded
 * layout [m, cIn', hp, wp] (convWat.ts) by the WASM layout kernels (layoutWasm.ts), which follow the
 * tables of phaseTables.
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

/** Where input row y and column x of a plane go in the kernel's layout (float offsets; −1: never read). */
export interface PhaseTables {
  /** rows[y] = (a·sW·hp + i)·wp with a = (y + pH) mod sH, i = ⌊(y + pH)/sH⌋; −1 when i ≥ hp. */
  readonly rows: Int32Array;
  /** cols[x] = b·hp·wp + j with b = (x + pW) mod sW, j = ⌊(x + pW)/sW⌋; −1 when j is past the last window. */
  readonly cols: Int32Array;
  /** Floats of one input plane's phase planes in the layout: sH·sW·hp·wp. */
  readonly plane: number;
}

/**
 * The tables that lay a plane of x [inH, inW] out as the kernel reads it — hp × wp rows of the
 * stride-1 shape `p` = phaseShape(s), one block per phase (a, b), with the padding around — and that
 * bring δx back: element (y, x) of plane q is at q·plane + rows[y] + cols[x] (layoutWasm.ts). At
 * stride 1 this is the plain padded layout (one phase; y + pH, x + pW). Positions past the last
 * window ((inH + 2pH − kH) % sH ≠ 0) map to −1: never copied in, δx 0 there.
 */
export function phaseTables(s: ConvShape, p: ConvShape, hp: number, wp: number): PhaseTables {
  const { inH, inW, strideH: sH, strideW: sW, padH, padW } = s;
  // the rows and columns a window can read: hp of them, and p's padded width
  const wRead = p.inW + 2 * p.padW;
  const rows = new Int32Array(inH);
  for (let y = 0; y < inH; y++) {
    const a = (y + padH) % sH;
    const i = (y + padH - a) / sH;
    rows[y] = i < hp ? (a * sW * hp + i) * wp : -1;
  }
  const cols = new Int32Array(inW);
  for (let x = 0; x < inW; x++) {
    const b = (x + padW) % sW;
    const j = (x + padW - b) / sW;
    cols[x] = j < wRead ? b * hp * wp + j : -1;
  }
  return { rows, cols, plane: sH * sW * hp * wp };
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
