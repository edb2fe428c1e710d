import { beforeAll, describe, expect, it } from 'vitest';
import { activations, reluNaive, reluPrimeTimesNaive } from '../../src/ops/activations.js';
import { conv2dBackward, conv2dForward, conv2dGradW, conv2dGradWNaive, convOutSize, type ConvShape } from '../../src/ops/conv.js';
import { initKernels } from '../../src/ops/kernels.js';
import { maxPool2dDelta, maxPool2dDeltaNaive, maxPool2dForward, maxPool2dForwardNaive, poolOutSize, type PoolShape } from '../../src/ops/pool.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';
import { elementwiseWasmReady, pool2x2WasmSupports } from '../../src/ops/wasm/elementwiseWasm.js';
import { convKernelShape } from '../../src/ops/wasm/convWasm.js';
import { convWat } from '../../src/ops/wasm/convWat.js';
import { residentAddress, residentF32 } from '../../src/ops/wasm/kernelMemory.js';

/** Floats whose comparisons are the tricky ones: ±0, the smallest subnormals, ±Infinity, ±max. */
const SPECIALS = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1, 0.5, -0.5];

function trickyArray(rng: Rng, n: number, withNaN: boolean): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.int(10);
    if (withNaN && r === 0) x[i] = rng.int(2) === 0 ? NaN : -NaN;
    else if (r < 5) x[i] = SPECIALS[rng.int(SPECIALS.length)];
    else x[i] = rng.int(5) - 2;
  }
  return x;
}

const bits = (x: Float32Array): Int32Array => new Int32Array(x.buffer, x.byteOffset, x.length);

/** Bitwise equality, except that any NaN equals any NaN (a float round trip may change a NaN's payload). */
function expectSameBits(name: string, got: Float32Array, want: Float32Array): void {
  expect(got.length, name).toBe(want.length);
  const g = bits(got);
  const w = bits(want);
  for (let i = 0; i < want.length; i++) {
    if (Number.isNaN(want[i])) expect(Number.isNaN(got[i]), `${name}[${i}]`).toBe(true);
    else if (g[i] !== w[i]) expect(`${name}[${i}]: ${got[i]} (0x${(g[i] >>> 0).toString(16)})`).toBe(`${want[i]} (0x${(w[i] >>> 0).toString(16)})`);
  }
}

/** A resident copy of `x` (inside the kernels' memory), through a Workspace like the layers get theirs. */
function resident(ws: Workspace, key: string, x: Float32Array): Float32Array {
  const r = ws.residentF32(key, x.length);
  r.set(x);
  return r;
}

function poolShape(m: number, c: number, inH: number, inW: number): PoolShape {
  return { m, c, inH, inW, kH: 2, kW: 2, strideH: 2, strideW: 2, outH: poolOutSize(inH, 2, 2), outW: poolOutSize(inW, 2, 2) };
}

beforeAll(async () => {
  expect(await initKernels()).toBe(true);
  expect(elementwiseWasmReady()).toBe(true);
});

describe('WASM ReLU vs the float-compare oracles', () => {
  it('sigma: bit for bit on plain and resident arrays, odd lengths, in place', () => {
    const rng = createRng(31);
    const ws = new Workspace();
    for (const n of [1, 3, 4, 5, 4097, 5001]) {
      const z = trickyArray(rng, n, true);
      for (let i = 0; i < n / 3; i++) z[i] = 2 * rng.next() - 1;
      const want = reluNaive(z, new Float32Array(n));
      expectSameBits(`plain ${n}`, activations.relu.sigma(z, new Float32Array(n)), want);
      const zr = resident(ws, `z${n}`, z);
      expect(residentAddress(zr)).toBeGreaterThan(0);
      expectSameBits(`resident ${n}`, activations.relu.sigma(zr, ws.residentF32(`a${n}`, n)), want);
      expectSameBits(`resident → plain ${n}`, activations.relu.sigma(zr, new Float32Array(n)), want);
      const inPlace = z.slice();
      expectSameBits(`plain in place ${n}`, activations.relu.sigma(inPlace, inPlace), want);
      expectSameBits(`resident in place ${n}`, activations.relu.sigma(zr, zr), want);
    }
    expect(Object.is(activations.relu.sigma(Float32Array.of(-0, -1, 0), new Float32Array(3))[0], -0)).toBe(true);
    expect(Object.is(activations.relu.sigma(Float32Array.of(-0, -1, 0), new Float32Array(3))[1], 0)).toBe(true);
  });

  it('sigmaPrimeTimes: bit for bit on plain and resident arrays, odd lengths, in place over δ', () => {
    const rng = createRng(32);
    const ws = new Workspace();
    for (const n of [1, 6, 4097, 5001]) {
      const a = trickyArray(rng, n, true);
      const d = trickyArray(rng, n, true);
      const want = reluPrimeTimesNaive(d, a, new Float32Array(n));
      expectSameBits(`plain ${n}`, activations.relu.sigmaPrimeTimes(d, a, new Float32Array(n)), want);
      const ar = resident(ws, `a${n}`, a);
      const dr = resident(ws, `d${n}`, d);
      expectSameBits(`resident ${n}`, activations.relu.sigmaPrimeTimes(dr, ar, ws.residentF32(`o${n}`, n)), want);
      expectSameBits(`mixed ${n}`, activations.relu.sigmaPrimeTimes(d, ar, new Float32Array(n)), want);
      expectSameBits(`resident in place ${n}`, activations.relu.sigmaPrimeTimes(dr, ar, dr), want);
    }
  });
});

describe('WASM 2×2 stride-2 max pool vs the loop oracles', () => {
  const shapes = [poolShape(4, 6, 24, 24), poolShape(3, 16, 8, 8), poolShape(2, 3, 4, 16), poolShape(1, 1, 2, 8)];

  it('takes the LeNet shapes, and not odd sizes or rows of outW % 4 ≠ 0', () => {
    expect(shapes.every(pool2x2WasmSupports)).toBe(true);
    expect(pool2x2WasmSupports(poolShape(2, 3, 7, 9))).toBe(false);
    expect(pool2x2WasmSupports(poolShape(2, 3, 6, 6))).toBe(false);
  });

  it('forward: same y bits and argmax on ties, ±0, subnormals, ±Infinity and NaN (first NaN wins), plain and resident', () => {
    const rng = createRng(33);
    const ws = new Workspace();
    for (const s of shapes) {
      for (const withNaN of [false, true]) {
        for (let trial = 0; trial < 4; trial++) {
          const x = trickyArray(rng, s.m * s.c * s.inH * s.inW, withNaN);
          const want = maxPool2dForwardNaive(x, s);
          const got = maxPool2dForward(x, s, new Float32Array(want.y.length).fill(7), new Int32Array(want.y.length).fill(-1));
          expectSameBits(`y ${JSON.stringify(s)}`, got.y, want.y);
          expect(got.argmax).toEqual(want.argmax);
          const xr = resident(ws, 'x', x);
          const res = maxPool2dForward(xr, s, ws.residentF32('y', want.y.length), ws.residentI32('arg', want.y.length));
          expectSameBits(`resident y ${JSON.stringify(s)}`, res.y, want.y);
          expect(Array.from(res.argmax)).toEqual(Array.from(want.argmax));
        }
      }
    }
  });

  it('keeps the first maximum on ties, −0 before +0, and the first NaN of a window', () => {
    const s = poolShape(1, 1, 2, 8);
    // windows: [1 2 / 2 1], [0 −0 / 0 0], [NaN 1 / −NaN 0], [−Inf −Inf / −Inf −Inf]
    const x = Float32Array.from([1, 2, 0, -0, NaN, 1, -Infinity, -Infinity, 2, 1, 0, 0, -NaN, 0, -Infinity, -Infinity]);
    const { y, argmax } = maxPool2dForward(x, s);
    expect(Array.from(argmax)).toEqual([1, 2, 4, 6]);
    expect(Object.is(y[1], 0)).toBe(true);
    expect(Number.isNaN(y[2])).toBe(true);
    expect(y[3]).toBe(-Infinity);
  });

  it('delta: same δx bits as zero-fill-then-add (−0 becomes +0, NaN routed), plain and resident', () => {
    const rng = createRng(34);
    const ws = new Workspace();
    for (const s of shapes) {
      const x = trickyArray(rng, s.m * s.c * s.inH * s.inW, true);
      const { argmax } = maxPool2dForwardNaive(x, s);
      const dy = trickyArray(rng, argmax.length, true);
      const want = maxPool2dDeltaNaive(dy, argmax, s);
      expectSameBits(`plain ${JSON.stringify(s)}`, maxPool2dDelta(dy, argmax, s, new Float32Array(want.length).fill(7)), want);
      const argR = ws.residentI32('arg', argmax.length);
      argR.set(argmax);
      const got = maxPool2dDelta(resident(ws, 'dy', dy), argR, s, ws.residentF32('dx', want.length).fill(7));
      expectSameBits(`resident ${JSON.stringify(s)}`, got, want);
    }
  });

  it('delta: an argmax outside its window falls back to the scatter loop (duplicates add up)', () => {
    const s = poolShape(1, 1, 2, 8);
    const argmax = Int32Array.from([0, 0, 13, 6]);
    const dy = Float32Array.from([1, 2, 3, 4]);
    const want = maxPool2dDeltaNaive(dy, argmax, s);
    expectSameBits('fallback', maxPool2dDelta(dy, argmax, s, new Float32Array(16).fill(7)), want);
    expect(want[0]).toBe(3);
  });
});

describe('kernel memory: resident buffers', () => {
  it('stay valid (same length and contents) after the memory grows', () => {
    const a = residentF32(1000);
    expect(a).not.toBeNull();
    const v = a as Float32Array;
    for (let i = 0; i < v.length; i++) v[i] = i;
    const big = residentF32(64 << 20);
    expect(big).not.toBeNull();
    expect(v.length).toBe(1000);
    expect(v[999]).toBe(999);
    const out = new Float32Array(1000);
    activations.relu.sigma(v, out);
    expect(out[999]).toBe(999);
  });
});

describe('conv kernels on resident operands (in place) give the copy path’s bits', () => {
  function convShape(m: number, cIn: number, inH: number, inW: number, cOut: number, k: number, pad: number): ConvShape {
    return {
      m, cIn, inH, inW, cOut, kH: k, kW: k, strideH: 1, strideW: 1, padH: pad, padW: pad,
      outH: convOutSize(inH, k, 1, pad), outW: convOutSize(inW, k, 1, pad),
    };
  }
  const cases = [convShape(8, 1, 28, 28, 6, 5, 0), convShape(8, 6, 12, 12, 16, 5, 0), convShape(3, 2, 9, 9, 4, 3, 1)];

  it('gradW runs the last, narrower tap block with its own channel block (gbTail), which must divide cOut', () => {
    const k1 = convKernelShape(cases[0]);
    const k2 = convKernelShape(cases[1]);
    expect([k1.gb, k1.gvb, k1.gbTail]).toEqual([2, 4, 6]);
    expect([k2.gb, k2.gvb, k2.gbTail]).toEqual([2, 4, 4]);
    expect(() => convWat({ ...k2, gbTail: 3 })).toThrow(/must divide cOut/);
  });

  it('gradW of large batches (run sample by sample, partial sums in memory) matches the oracle and repeats bit for bit', () => {
    const rng = createRng(36);
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
    for (const base of [cases[0], cases[1]]) {
      const s = { ...base, m: 64 };
      const x = rand(s.m * s.cIn * s.inH * s.inW);
      const dz = rand(s.m * s.cOut * s.outH * s.outW);
      const got = conv2dGradW(x, dz, s);
      const want = conv2dGradWNaive(x, dz, s);
      let worst = 0;
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
      // float32 sums of up to 64·576 random terms against the float64 oracle
      expect(worst).toBeLessThan(1e-3);
      expect(Array.from(conv2dGradW(x, dz, s))).toEqual(Array.from(got));
    }
  });

  it('forward and backward (dW, db, δx)', () => {
    const rng = createRng(35);
    const ws = new Workspace();
    const rand = (n: number): Float32Array => Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
    for (const s of cases) {
      const nX = s.m * s.cIn * s.inH * s.inW;
      const nZ = s.m * s.cOut * s.outH * s.outW;
      const x = rand(nX);
      const W = rand(s.cOut * s.cIn * s.kH * s.kW);
      const b = rand(s.cOut);
      const dz = rand(nZ);
      const z = conv2dForward(x, W, b, s, new Float32Array(nZ));
      const zr = conv2dForward(resident(ws, 'x', x), W, b, s, ws.residentF32('z', nZ));
      expect(Array.from(zr)).toEqual(Array.from(z));
      const dW = new Float32Array(W.length);
      const db = new Float32Array(s.cOut);
      const dx = new Float32Array(nX);
      conv2dBackward(x, dz, W, s, dW, db, dx);
      const dWr = new Float32Array(W.length);
      const dbr = new Float32Array(s.cOut);
      const dxr = ws.residentF32('dx', nX).fill(7);
      conv2dBackward(resident(ws, 'x', x), resident(ws, 'dz', dz), W, s, dWr, dbr, dxr);
      expect(Array.from(dWr)).toEqual(Array.from(dW));
      expect(Array.from(dbr)).toEqual(Array.from(db));
      expect(Array.from(dxr)).toEqual(Array.from(dx));
    }
  });
});
