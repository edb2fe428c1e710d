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
import { createRng, type Rng } from '../../src/ops/random.js';
import {
  conv2dDeltaXWasm,
  conv2dForwardWasm,
  conv2dGradBWasm,
  conv2dGradWWasm,
  convWasmReady,
  convWasmSupports,
  initConvWasm,
} from '../../src/ops/wasm/convWasm.js';
import { convWat } from '../../src/ops/wasm/convWat.js';

function convShape(m: number, cIn: number, inH: number, inW: number, cOut: number, kH: number, kW: number, padH = 0, padW = 0, stride = 1): ConvShape {
  return {
    m, cIn, inH, inW, cOut, kH, kW, strideH: stride, strideW: stride, padH, padW,
    outH: convOutSize(inH, kH, stride, padH),
    outW: convOutSize(inW, kW, stride, padW),
  };
}

const tag = (s: ConvShape): string => `m=${s.m} c=${s.cIn}→${s.cOut} in=${s.inH}×${s.inW} k=${s.kH}×${s.kW} pad=${s.padH}×${s.padW}`;

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

function maxDiff(got: ArrayLike<number>, want: ArrayLike<number>): number {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) worst = d;
  }
  return worst;
}

/** Stride-1 shapes: LeNet's two layers, odd widths (outW not a multiple of 4), paddings, every cOut block size. */
function shapes(): ConvShape[] {
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

describe('WASM direct convolution (stride 1) vs loop oracles', () => {
  beforeAll(async () => {
    expect(await initConvWasm()).toBe(true);
  });

  it('is ready after init and takes stride-1 shapes only', () => {
    expect(convWasmReady()).toBe(true);
    expect(convWasmSupports(convShape(1, 1, 8, 8, 1, 3, 3))).toBe(true);
    expect(convWasmSupports(convShape(1, 1, 8, 8, 1, 3, 3, 0, 0, 2))).toBe(false);
  });

  const list = shapes();
  const rng = createRng(11);
  const cases = list.map((s) => {
    const x = randomArray(rng, s.m * s.cIn * s.inH * s.inW);
    const W = randomArray(rng, s.cOut * s.cIn * s.kH * s.kW);
    const b = randomArray(rng, s.cOut);
    const dz = randomArray(rng, s.m * s.cOut * s.outH * s.outW);
    return { s, x, W, b, dz };
  });

  it('forward (3.5) matches conv2dForwardNaive, and conv2dForward dispatches to it', () => {
    for (const { s, x, W, b } of cases) {
      const want = conv2dForwardNaive(x, W, b, s);
      const got = conv2dForwardWasm(x, W, b, s, new Float32Array(want.length).fill(7));
      const k = s.cIn * s.kH * s.kW;
      expect(maxDiff(got, want), tag(s)).toBeLessThanOrEqual(1e-6 * (k + 1));
      expect(conv2dForward(x, W, b, s)).toEqual(got);
    }
  });

  it('deltaX (3.6) matches conv2dDeltaXNaive, and conv2dDeltaX dispatches to it', () => {
    for (const { s, W, dz } of cases) {
      const want = conv2dDeltaXNaive(dz, W, s);
      const got = conv2dDeltaXWasm(dz, W, s, new Float32Array(want.length).fill(7));
      expect(maxDiff(got, want), tag(s)).toBeLessThanOrEqual(1e-6 * (s.cOut * s.kH * s.kW + 1));
      expect(conv2dDeltaX(dz, W, s)).toEqual(got);
    }
  });

  it('gradW and gradB (3.7) match the oracles, and conv2dGradW/conv2dGradB dispatch to them', () => {
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

  it('conv2dBackward (one copy of x and δz) gives exactly the separate dW, db and δx', () => {
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

  it('is bit-for-bit deterministic: LeNet shapes at batch 64, twice, and interleaved with another shape', () => {
    const r = createRng(3);
    const s1 = convShape(64, 1, 28, 28, 6, 5, 5);
    const s2 = convShape(64, 6, 12, 12, 16, 5, 5);
    const x = randomArray(r, 64 * 784);
    const W = randomArray(r, 150);
    const b = randomArray(r, 6);
    const z1 = conv2dForward(x, W, b, s1);
    const x2 = randomArray(r, 64 * 6 * 144);
    const W2 = randomArray(r, 16 * 150);
    const dz2 = randomArray(r, 64 * 16 * 64);
    const g1 = conv2dGradW(x2, dz2, s2);
    const d1 = conv2dDeltaX(dz2, W2, s2);
    expect(conv2dForward(x, W, b, s1)).toEqual(z1);
    expect(conv2dGradW(x2, dz2, s2)).toEqual(g1);
    expect(conv2dDeltaX(dz2, W2, s2)).toEqual(d1);
  });

  it('rejects inconsistent kernel shapes when generating the module', () => {
    const k = { cIn: 1, cOut: 6, kH: 5, kW: 5, hp: 28, wp: 28, outH: 24, outWp: 24, ob: 3, jb: 3, gb: 3, gvb: 3, dvb: 3, dj: 2 };
    expect(() => convWat({ ...k, ob: 4 })).toThrow(/ob and gb must divide cOut/);
    expect(() => convWat({ ...k, outWp: 20 })).toThrow(/outWp must be a multiple/);
    expect(() => convWat({ ...k, wp: 26 })).toThrow(/wp must be/);
    expect(convWat(k)).toContain('(export "forward")');
  });
});
