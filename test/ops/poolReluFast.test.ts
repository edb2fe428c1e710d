import { describe, expect, it } from 'vitest';
import { activations, reluNaive, reluPrimeTimesNaive } from '../../src/ops/activations.js';
import { maxPool2dForward, maxPool2dForwardNaive, poolOutSize, type PoolShape } from '../../src/ops/pool.js';
import { createRng, type Rng } from '../../src/ops/random.js';

/** Floats whose comparisons are the tricky ones: ±0, the smallest subnormals, ±Infinity, ±max. */
const SPECIALS = [0, -0, 1.401298464324817e-45, -1.401298464324817e-45, Infinity, -Infinity, 3.4028234663852886e38, -3.4028234663852886e38, 1, -1, 0.5, -0.5];

/** Values drawn from SPECIALS and a few small integers, so windows often tie. */
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

function poolShape(m: number, c: number, inH: number, inW: number, strideH: number, strideW: number): PoolShape {
  return { m, c, inH, inW, kH: 2, kW: 2, strideH, strideW, outH: poolOutSize(inH, 2, strideH), outW: poolOutSize(inW, 2, strideW) };
}

describe('max pool 2×2 branchless fast path vs the loop oracle', () => {
  const shapes = [poolShape(4, 6, 24, 24, 2, 2), poolShape(3, 2, 8, 8, 2, 2), poolShape(2, 3, 7, 9, 2, 2), poolShape(2, 2, 6, 7, 1, 1), poolShape(1, 3, 9, 8, 3, 2), poolShape(2, 1, 5, 5, 1, 2)];

  it('gives the same y (bit for bit) and argmax on ties, ±0, subnormals and ±Infinity', () => {
    const rng = createRng(21);
    for (const s of shapes) {
      for (let trial = 0; trial < 5; trial++) {
        const x = trickyArray(rng, s.m * s.c * s.inH * s.inW, false);
        const want = maxPool2dForwardNaive(x, s);
        const got = maxPool2dForward(x, s, new Float32Array(want.y.length).fill(7), new Int32Array(want.y.length).fill(-1));
        expectSameBits(`y ${JSON.stringify(s)}`, got.y, want.y);
        expect(got.argmax).toEqual(want.argmax);
      }
    }
  });

  it('keeps the first maximum in row-major window order on ties, and −0 before +0', () => {
    const s = poolShape(1, 1, 2, 8, 2, 2);
    // windows: [1 2 / 2 1], [0 −0 / 0 0], [−0 0 / 0 0], [−Inf −Inf / −Inf −Inf]
    const x = Float32Array.from([1, 2, 0, -0, -0, 0, -Infinity, -Infinity, 2, 1, 0, 0, 0, 0, -Infinity, -Infinity]);
    const { y, argmax } = maxPool2dForward(x, s);
    expect(Array.from(argmax)).toEqual([1, 2, 4, 6]);
    expect(Object.is(y[1], 0)).toBe(true);
    expect(Object.is(y[2], -0)).toBe(true);
    expect(y[3]).toBe(-Infinity);
  });

  it('hands batches holding NaN to the general loop (the first NaN of a window wins)', () => {
    const rng = createRng(22);
    for (const s of shapes) {
      const x = trickyArray(rng, s.m * s.c * s.inH * s.inW, true);
      const want = maxPool2dForwardNaive(x, s);
      const got = maxPool2dForward(x, s);
      expectSameBits('y with NaN', got.y, want.y);
      expect(got.argmax).toEqual(want.argmax);
    }
  });
});

describe('branchless ReLU vs the float-compare oracle', () => {
  it('sigma matches z < 0 ? 0 : z bit for bit (−0 stays −0, NaN stays NaN), also in place', () => {
    const rng = createRng(23);
    const z = trickyArray(rng, 5000, true);
    for (let i = 0; i < 1000; i++) z[i] = 2 * rng.next() - 1;
    const want = reluNaive(z, new Float32Array(z.length));
    expectSameBits('relu', activations.relu.sigma(z, new Float32Array(z.length)), want);
    expect(Object.is(activations.relu.sigma(Float32Array.of(-0), new Float32Array(1))[0], -0)).toBe(true);
    const inPlace = z.slice();
    expectSameBits('relu in place', activations.relu.sigma(inPlace, inPlace), want);
  });

  it('sigmaPrimeTimes matches a > 0 ? δ : 0 bit for bit, also in place over δ', () => {
    const rng = createRng(24);
    const a = trickyArray(rng, 5000, true);
    const d = trickyArray(rng, 5000, false);
    for (let i = 0; i < 1000; i++) d[i] = 2 * rng.next() - 1;
    const want = reluPrimeTimesNaive(d, a, new Float32Array(a.length));
    expectSameBits('relu delta', activations.relu.sigmaPrimeTimes(d, a, new Float32Array(a.length)), want);
    const inPlace = d.slice();
    expectSameBits('relu delta in place', activations.relu.sigmaPrimeTimes(inPlace, a, inPlace), want);
  });
});
