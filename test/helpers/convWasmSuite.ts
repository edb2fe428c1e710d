/**
 * The oracle checks of the WASM convolution kernels (src/ops/wasm/convWasm.ts), written once and run by
 * one test file per kernel set (test/ops/convWasm.test.ts: FMA, convWasmSimd128.test.ts: plain simd128),
 * since a thread's kernel set is fixed at its first init (kernelSet.ts) and vitest runs each file in
 * its own worker.
 *
 * Tolerance: |got − want| ≤ 1e-6·(terms + 1) per element, the oracle summing in float64, inputs in
 * [−1, 1): a float32 sum of `terms` products in any order is within (terms)·u·Σ|a·b| ≤ terms·2⁻²⁴
 * (about 6e-8·terms) of the exact value, with or without FMA (FMA rounds once per term instead of
 * twice, so its bound is the smaller one); 1e-6 leaves a 16× margin. `terms` counts the real terms
 * (cIn·kH·kW for z, cOut·kH·kW for δx, m·outH·outW for dW and db); the zero taps a strided shape's
 * phases add (convPhases.ts) are exact (±0 products) and add no error.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  conv2dBackward,
  conv2dDeltaX,
  conv2dDeltaXNaive,
  conv2dForward,
  conv2dForwardNaive,
  conv2dGradB,
  conv2dGradBNaive,
  conv2dGradW,
  conv2dGradWNaive,
  convOutSize,
  type ConvShape,
} from '../../src/ops/conv.js';
import { initKernels } from '../../src/ops/kernels.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';
import { conv2dDeltaXWasm, conv2dForwardWasm, conv2dGradBWasm, conv2dGradWWasm, convWasmIsFma, convWasmReady, convWasmSupports } from '../../src/ops/wasm/convWasm.js';
import { residentAddress } from '../../src/ops/wasm/kernelMemory.js';

export function convShape(m: number, cIn: number, inH: number, inW: number, cOut: number, kH: number, kW: number, padH = 0, padW = 0, strideH = 1, strideW = strideH): ConvShape {
  return {
    m, cIn, inH, inW, cOut, kH, kW, strideH, strideW, padH, padW,
    outH: convOutSize(inH, kH, strideH, padH),
    outW: convOutSize(inW, kW, strideW, padW),
  };
}

export const tag = (s: ConvShape): string =>
  `m=${s.m} c=${s.cIn}→${s.cOut} in=${s.inH}×${s.inW} k=${s.kH}×${s.kW} stride=${s.strideH}×${s.strideW} pad=${s.padH}×${s.padW}`;

export function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

/** max |got − want| over a tensor (NaN counts as worst). */
export function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Stride-1 shapes: LeNet's two layers, odd widths (outW not a multiple of 4), paddings, every cOut block size. */
function stride1Shapes(): ConvShape[] {
  const list = [
    convShape(3, 1, 28, 28, 6, 5, 5),
    convShape(3, 6, 12, 12, 16, 5, 5),
    convShape(2, 2, 7, 9, 3, 3, 3, 1, 1),
    convShape(2, 3, 5, 4, 2, 1, 1),
    convShape(1, 2, 6, 13, 5, 2, 4, 0, 2),
    convShape(2, 1, 9, 30, 7, 3, 5, 2, 0),
    convShape(1, 4, 4, 4, 8, 4, 4),
    convShape(2, 2, 10, 21, 12, 3, 2, 1, 1),
  ];
  const rng = createRng(5);
  while (list.length < 24) {
    const kH = 1 + rng.int(5);
    const kW = 1 + rng.int(5);
    const padH = rng.int(3);
    const padW = rng.int(3);
    const inH = Math.max(1, kH - 2 * padH + rng.int(9));
    const inW = Math.max(1, kW - 2 * padW + rng.int(14));
    const s = convShape(1 + rng.int(3), 1 + rng.int(4), inH, inW, 1 + rng.int(10), kH, kW, padH, padW);
    if (s.outH >= 1 && s.outW >= 1) list.push(s);
  }
  return list;
}

/**
 * Strided shapes: kernels that are multiples of the stride and not, kernels smaller than the stride
 * (gaps between windows), input rows past the last window ((inH + 2p − k) % s ≠ 0), different strides
 * per axis, padding, a single output, then seeded random ones with strides 1–4 per axis.
 */
function stridedShapes(): ConvShape[] {
  const list = [
    convShape(3, 1, 28, 28, 6, 5, 5, 0, 0, 2), // odd kernel, stride 2: zero taps in both axes
    convShape(2, 3, 32, 32, 8, 3, 3, 1, 1, 2), // the ResNet-style 3×3 / 2, padding 1
    convShape(2, 2, 16, 16, 4, 2, 2, 0, 0, 2), // patchify: kernel = stride, no zero taps
    convShape(2, 2, 15, 17, 3, 4, 4, 1, 2, 2), // kernel a multiple of the stride, rows past the last window
    convShape(1, 3, 11, 13, 5, 1, 1, 0, 0, 3), // 1×1 kernel, stride 3: gaps
    convShape(2, 2, 10, 14, 4, 2, 3, 0, 1, 3, 2), // kernel smaller than stride 3 in H, stride 2 in W
    convShape(1, 1, 9, 12, 2, 3, 5, 2, 0, 1, 3), // stride 1 in H only
    convShape(2, 4, 7, 7, 6, 7, 7, 0, 0, 4), // a single output
    convShape(1, 2, 12, 12, 16, 5, 5, 2, 2, 3),
  ];
  const rng = createRng(29);
  while (list.length < 30) {
    const kH = 1 + rng.int(5);
    const kW = 1 + rng.int(5);
    const sH = 1 + rng.int(4);
    const sW = 1 + rng.int(4);
    if (sH === 1 && sW === 1) continue;
    const padH = rng.int(3);
    const padW = rng.int(3);
    const inH = Math.max(1, kH - 2 * padH + rng.int(14));
    const inW = Math.max(1, kW - 2 * padW + rng.int(18));
    const s = convShape(1 + rng.int(3), 1 + rng.int(4), inH, inW, 1 + rng.int(10), kH, kW, padH, padW, sH, sW);
    if (s.outH >= 1 && s.outW >= 1) list.push(s);
  }
  return list;
}

/** The oracle suite for the kernel set `fma` (initialised first, so this file's thread runs it). */
export function describeConvWasm(fma: boolean): void {
  describe(`WASM direct convolution (${fma ? 'relaxed FMA' : 'simd128'}) vs loop oracles`, () => {
    beforeAll(async () => {
      expect(await initKernels({ fma })).toBe(true);
    });

    it(`is ready after init, runs the ${fma ? 'FMA' : 'non-FMA'} kernels and takes every stride`, () => {
      expect(convWasmReady()).toBe(true);
      expect(convWasmIsFma()).toBe(fma);
      expect(convWasmSupports(convShape(1, 1, 8, 8, 1, 3, 3))).toBe(true);
      expect(convWasmSupports(convShape(1, 1, 8, 8, 1, 3, 3, 0, 0, 2))).toBe(true);
    });

    for (const [what, list, seed] of [['stride-1', stride1Shapes(), 11], ['strided', stridedShapes(), 13]] as const) {
      const rng = createRng(seed);
      const cases = list.map((s) => ({
        s,
        x: randomArray(rng, s.m * s.cIn * s.inH * s.inW),
        W: randomArray(rng, s.cOut * s.cIn * s.kH * s.kW),
        b: randomArray(rng, s.cOut),
        dz: randomArray(rng, s.m * s.cOut * s.outH * s.outW),
      }));

      it(`forward (3.5) matches conv2dForwardNaive on ${cases.length} ${what} shapes, and conv2dForward dispatches to it`, () => {
        for (const { s, x, W, b } of cases) {
          const want = conv2dForwardNaive(x, W, b, s);
          const got = conv2dForwardWasm(x, W, b, s, new Float32Array(want.length).fill(7));
          expect(maxDiff(got, want), tag(s)).toBeLessThanOrEqual(1e-6 * (s.cIn * s.kH * s.kW + 1));
          expect(conv2dForward(x, W, b, s)).toEqual(got);
        }
      });

      it(`deltaX (3.6) matches conv2dDeltaXNaive on ${cases.length} ${what} shapes, and conv2dDeltaX dispatches to it`, () => {
        for (const { s, W, dz } of cases) {
          const want = conv2dDeltaXNaive(dz, W, s);
          const got = conv2dDeltaXWasm(dz, W, s, new Float32Array(want.length).fill(7));
          expect(maxDiff(got, want), tag(s)).toBeLessThanOrEqual(1e-6 * (s.cOut * s.kH * s.kW + 1));
          expect(conv2dDeltaX(dz, W, s)).toEqual(got);
        }
      });

      it(`gradW and gradB (3.7) match the oracles on ${cases.length} ${what} shapes, and conv2dGradW/conv2dGradB dispatch to them`, () => {
        for (const { s, x, dz } of cases) {
          const wantW = conv2dGradWNaive(x, dz, s);
          const wantB = conv2dGradBNaive(dz, s);
          const db = new Float32Array(s.cOut).fill(7);
          const got = conv2dGradWWasm(x, dz, s, new Float32Array(wantW.length).fill(7), db);
          const terms = s.m * s.outH * s.outW;
          expect(maxDiff(got, wantW), tag(s)).toBeLessThanOrEqual(1e-6 * (terms + 1));
          expect(maxDiff(db, wantB), tag(s)).toBeLessThanOrEqual(1e-6 * (terms + 1));
          expect(conv2dGradW(x, dz, s)).toEqual(got);
          expect(conv2dGradB(dz, s)).toEqual(db);
          expect(conv2dGradBWasm(dz, s, new Float32Array(s.cOut).fill(7))).toEqual(db);
        }
      });

      it(`conv2dBackward (one copy of x and δz) gives exactly the separate dW, db and δx on the ${what} shapes`, () => {
        for (const { s, x, W, dz } of cases) {
          const dW = new Float32Array(W.length).fill(7);
          const db = new Float32Array(s.cOut).fill(7);
          const dx = new Float32Array(x.length).fill(7);
          conv2dBackward(x, dz, W, s, dW, db, dx);
          expect(dW, tag(s)).toEqual(conv2dGradW(x, dz, s));
          expect(db, tag(s)).toEqual(conv2dGradB(dz, s));
          expect(dx, tag(s)).toEqual(conv2dDeltaX(dz, W, s));
          const dW2 = new Float32Array(W.length);
          conv2dBackward(x, dz, W, s, dW2, new Float32Array(s.cOut), null);
          expect(dW2, tag(s)).toEqual(dW);
        }
      });
    }

    it('one layer shape at several batch sizes (the large one summed sample by sample) matches the oracles each time', () => {
      const rng = createRng(37);
      for (const base of [convShape(1, 6, 12, 12, 16, 5, 5), convShape(1, 3, 17, 17, 8, 3, 3, 1, 1, 2)]) {
        for (const m of [64, 2, 33]) {
          const s = { ...base, m };
          const x = randomArray(rng, m * s.cIn * s.inH * s.inW);
          const W = randomArray(rng, s.cOut * s.cIn * s.kH * s.kW);
          const dz = randomArray(rng, m * s.cOut * s.outH * s.outW);
          const dW = new Float32Array(W.length);
          const db = new Float32Array(s.cOut);
          const dx = new Float32Array(x.length);
          conv2dBackward(x, dz, W, s, dW, db, dx);
          const terms = m * s.outH * s.outW;
          expect(maxDiff(dW, conv2dGradWNaive(x, dz, s)), tag(s)).toBeLessThanOrEqual(1e-6 * (terms + 1));
          expect(maxDiff(db, conv2dGradBNaive(dz, s)), tag(s)).toBeLessThanOrEqual(1e-6 * (terms + 1));
          expect(maxDiff(dx, conv2dDeltaXNaive(dz, W, s)), tag(s)).toBeLessThanOrEqual(1e-6 * (s.cOut * s.kH * s.kW + 1));
        }
      }
    });

    it('x and δx resident in the kernel memory (gathered and scattered in place) give the bits of plain arrays: padded and strided shapes', () => {
      const rng = createRng(41);
      const ws = new Workspace();
      for (const s of [convShape(4, 3, 11, 13, 5, 3, 3, 1, 1), convShape(4, 3, 15, 15, 6, 3, 3, 1, 1, 2), convShape(3, 2, 16, 9, 4, 2, 3, 0, 2, 2, 3)]) {
        const x = randomArray(rng, s.m * s.cIn * s.inH * s.inW);
        const W = randomArray(rng, s.cOut * s.cIn * s.kH * s.kW);
        const dz = randomArray(rng, s.m * s.cOut * s.outH * s.outW);
        const xr = ws.residentF32(`x ${tag(s)}`, x.length);
        xr.set(x);
        const dxr = ws.residentF32(`dx ${tag(s)}`, x.length).fill(7);
        expect(residentAddress(xr) >= 0 && residentAddress(dxr) >= 0).toBe(true);
        const want = { dW: new Float32Array(W.length), db: new Float32Array(s.cOut), dx: new Float32Array(x.length) };
        conv2dBackward(x, dz, W, s, want.dW, want.db, want.dx);
        const dW = new Float32Array(W.length);
        conv2dBackward(xr, dz, W, s, dW, new Float32Array(s.cOut), dxr);
        expect(dW, tag(s)).toEqual(want.dW);
        expect(dxr, tag(s)).toEqual(want.dx);
        expect(conv2dForward(xr, W, new Float32Array(s.cOut), s), tag(s)).toEqual(conv2dForward(x, W, new Float32Array(s.cOut), s));
        expect(conv2dDeltaX(dz, W, s, ws.residentF32(`dx2 ${tag(s)}`, x.length)), tag(s)).toEqual(want.dx);
      }
    });

    it('gives δx = 0 for input rows and columns no strided window reads, whatever the weights', () => {
      // inH = 8 with k = 3, s = 2: windows start at 0, 2, 4 and end at row 6, so row 7 (and column 7) are never read
      const s = convShape(2, 2, 8, 8, 3, 3, 3, 0, 0, 2);
      const rng = createRng(31);
      const dx = conv2dDeltaX(randomArray(rng, s.m * s.cOut * s.outH * s.outW), randomArray(rng, s.cOut * s.cIn * 9), s, new Float32Array(s.m * s.cIn * 64).fill(7));
      for (let plane = 0; plane < s.m * s.cIn; plane++) {
        for (let i = 0; i < 8; i++) {
          expect(dx[plane * 64 + 7 * 8 + i]).toBe(0);
          expect(dx[plane * 64 + i * 8 + 7]).toBe(0);
        }
      }
    });

    it('is bit-for-bit deterministic: LeNet shapes at batch 64 and a strided shape, twice, interleaved', () => {
      const r = createRng(3);
      const s1 = convShape(64, 1, 28, 28, 6, 5, 5);
      const s2 = convShape(64, 6, 12, 12, 16, 5, 5);
      const s3 = convShape(16, 3, 32, 32, 8, 3, 3, 1, 1, 2);
      const x = randomArray(r, 64 * 784);
      const W = randomArray(r, 150);
      const b = randomArray(r, 6);
      const z1 = conv2dForward(x, W, b, s1);
      const x2 = randomArray(r, 64 * 6 * 144);
      const W2 = randomArray(r, 16 * 150);
      const dz2 = randomArray(r, 64 * 16 * 64);
      const g1 = conv2dGradW(x2, dz2, s2);
      const d1 = conv2dDeltaX(dz2, W2, s2);
      const x3 = randomArray(r, 16 * 3 * 1024);
      const W3 = randomArray(r, 8 * 27);
      const dz3 = randomArray(r, 16 * 8 * 256);
      const z3 = conv2dForward(x3, W3, new Float32Array(8), s3);
      const g3 = conv2dGradW(x3, dz3, s3);
      expect(conv2dForward(x, W, b, s1)).toEqual(z1);
      expect(conv2dForward(x3, W3, new Float32Array(8), s3)).toEqual(z3);
      expect(conv2dGradW(x2, dz2, s2)).toEqual(g1);
      expect(conv2dGradW(x3, dz3, s3)).toEqual(g3);
      expect(conv2dDeltaX(dz2, W2, s2)).toEqual(d1);
    });
  });
}
