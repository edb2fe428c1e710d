import { describe, expect, it } from 'vitest';
import { conv2dBackward, conv2dDeltaXNaive, conv2dGradBNaive, conv2dGradWNaive, convOutSize, type ConvShape } from '../../src/ops/conv.js';
import { createRng } from '../../src/ops/random.js';
import { ShapeError } from '../../src/ops/tensor.js';

// Without initKernels() this runs the TypeScript path (im2col + gemm); convWasm.test.ts covers the WASM one.
function shape(m: number, cIn: number, inH: number, inW: number, cOut: number, k: number, stride: number, pad: number): ConvShape {
  return { m, cIn, inH, inW, cOut, kH: k, kW: k, strideH: stride, strideW: stride, padH: pad, padW: pad, outH: convOutSize(inH, k, stride, pad), outW: convOutSize(inW, k, stride, pad) };
}

describe('conv2dBackward (TypeScript path) vs the loop oracles', () => {
  const rng = createRng(31);
  const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
  for (const s of [shape(2, 1, 12, 12, 4, 5, 1, 0), shape(2, 3, 7, 8, 2, 3, 2, 1)]) {
    it(`gives dW, db and δx for m=${s.m} c=${s.cIn}→${s.cOut} k=${s.kH} stride=${s.strideH} pad=${s.padH}`, () => {
      const x = rand(s.m * s.cIn * s.inH * s.inW);
      const W = rand(s.cOut * s.cIn * s.kH * s.kW);
      const dz = rand(s.m * s.cOut * s.outH * s.outW);
      const dW = new Float32Array(W.length).fill(7);
      const db = new Float32Array(s.cOut).fill(7);
      const dx = new Float32Array(x.length).fill(7);
      conv2dBackward(x, dz, W, s, dW, db, dx);
      const close = (got: Float32Array, want: Float32Array): void => got.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-5));
      close(dW, conv2dGradWNaive(x, dz, s));
      close(db, conv2dGradBNaive(dz, s));
      close(dx, conv2dDeltaXNaive(dz, W, s));
    });
  }

  it('checks every buffer length', () => {
    const s = shape(1, 1, 5, 5, 2, 3, 1, 0);
    const ok = { x: new Float32Array(25), dz: new Float32Array(18), W: new Float32Array(18), dW: new Float32Array(18), db: new Float32Array(2) };
    expect(() => conv2dBackward(ok.x, ok.dz, ok.W, s, new Float32Array(17), ok.db, null)).toThrow(ShapeError);
    expect(() => conv2dBackward(ok.x, ok.dz, ok.W, s, ok.dW, new Float32Array(3), null)).toThrow(ShapeError);
    expect(() => conv2dBackward(ok.x, ok.dz, ok.W, s, ok.dW, ok.db, new Float32Array(24))).toThrow(ShapeError);
  });
});
