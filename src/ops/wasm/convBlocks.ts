/**
 * The register blocks of the WASM convolution kernels (convWat.ts) for one layer shape: how many
 * output channels × f32x4 vectors (forward), channels × taps (gradW) and taps × vectors (deltaX) each
 * pass keeps in registers, and the padded row strides of the layouts. convWasm.ts generates one
 * module per shape from the ConvKernelShape chosen here.
 */
import type { ConvShape } from '../convShape.js';
import { phaseShape } from './convPhases.js';
import type { ConvKernelShape } from './convWat.js';

const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/**
 * Register blocks. V8 gives wasm SIMD 15 xmm registers (xmm15 is its scratch), and TurboFan may
 * issue all loads of a loop body before its arithmetic, so accumulators + loaded vectors + one
 * product temporary ≤ 15 (one more spills an accumulator to the stack: seen in --print-wasm-code).
 * Within that, the most accumulators (up to 9: enough to hide the add latency), the least padding
 * of the output rows, then the fewest passes over the data. With a fused relaxed_madd there is no
 * product temporary, so one more register holds an accumulator or a loaded vector (LeNet's first
 * layer: 3 × 3 forward blocks instead of 2 × 3).
 */
export function kernelShape(s: ConvShape, fma: boolean, isFused: boolean): ConvKernelShape {
  // a fused relaxed_madd needs no product temporary (vfmadd231ps accumulates in place)
  const fits = (a: number, b: number): boolean => a * b + a + b + (fma && isFused ? 0 : 1) <= 15;
  // loads per multiply-add, the tie-breaker between blocks with as many accumulators
  const loadCost = (a: number, b: number): number => (a + b) / (a * b) / 1000;
  let best = { score: -1, ob: 1, jb: 1 };
  for (let jb = 4; jb >= 1; jb--) {
    for (let ob = Math.min(8, s.cOut); ob >= 1; ob--) {
      if (s.cOut % ob !== 0 || !fits(ob, jb)) continue;
      const score = Math.min(ob * jb, 9) * (s.outW / roundUp(s.outW, 4 * jb)) ** 2 - loadCost(ob, jb);
      if (score > best.score) best = { score, ob, jb };
    }
  }
  const { ob, jb } = best;
  const outWp = roundUp(s.outW, 4 * jb);
  let g = { score: -1, gb: 1, gvb: 1 };
  for (let gvb = Math.min(8, s.kW); gvb >= 1; gvb--) {
    for (let gb = Math.min(8, s.cOut); gb >= 1; gb--) {
      if (s.cOut % gb !== 0 || !fits(gb, gvb)) continue;
      const score = Math.min(gb * gvb, 9) - Math.ceil(s.kW / gvb) / 100 - loadCost(gb, gvb);
      if (score > g.score) g = { score, gb, gvb };
    }
  }
  // the last, narrower block of kW % gvb taps gets its own channel block: the most accumulators that fit
  // (with gb it would run on as few as gb, e.g. 2, add-latency-bound); the sums are the same, in the same order
  const nvTail = s.kW > g.gvb ? s.kW % g.gvb : 0;
  let gbTail = g.gb;
  if (nvTail > 0) {
    for (let d = Math.min(8, s.cOut); d >= 1; d--) {
      if (s.cOut % d === 0 && fits(d, nvTail)) {
        gbTail = Math.max(gbTail, d);
        break;
      }
    }
  }
  let d = { score: -1, dj: 1, dvb: 1 };
  for (let dj = 4; dj >= 1; dj--) {
    for (let dvb = Math.min(8, s.kW); dvb >= 1; dvb--) {
      if ((outWp / 4) % dj !== 0 || !fits(dj, dvb)) continue;
      const score = Math.min(dj * dvb, 9) - Math.ceil(s.kW / dvb) / 100 - loadCost(dj, dvb);
      if (score > d.score) d = { score, dj, dvb };
    }
  }
  return {
    cIn: s.cIn,
    cOut: s.cOut,
    kH: s.kH,
    kW: s.kW,
    hp: s.inH + 2 * s.padH,
    wp: roundUp(Math.max(s.inW + 2 * s.padW, outWp + s.kW - 1), 4),
    outH: s.outH,
    outWp,
    ob,
    jb,
    gb: g.gb,
    gvb: g.gvb,
    gbTail,
    dvb: d.dvb,
    dj: d.dj,
    fma,
  };
}

/** The register blocks chosen for a stride-1 shape (for tests and the profile script); a strided shape: for its phaseShape. */
export function convKernelShape(s: ConvShape, fma = false, isFused = fma): ConvKernelShape {
  return kernelShape(phaseShape(s), fma, isFused);
}
