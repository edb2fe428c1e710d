import { describe, expect, it } from 'vitest';
import {
  avgPool2dDelta,
  avgPool2dDeltaNaive,
  avgPool2dForward,
  avgPool2dForwardNaive,
  maxPool2dDelta,
  maxPool2dDeltaNaive,
  maxPool2dForward,
  maxPool2dForwardNaive,
  poolOutSize,
  type PoolShape,
} from '../../src/ops/pool.js';
import { createRng, type Rng } from '../../src/ops/random.js';

function poolShape(m: number, c: number, inH: number, inW: number, kH: number, kW: number, strideH: number, strideW: number): PoolShape {
  return { m, c, inH, inW, kH, kW, strideH, strideW, outH: poolOutSize(inH, kH, strideH), outW: poolOutSize(inW, kW, strideW) };
}

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

function expectClose(name: string, got: ArrayLike<number>, want: ArrayLike<number>, tol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  expect(worst, `${name}: max |diff| at index ${at}: got ${got[at]}, want ${want[at]}`).toBeLessThanOrEqual(tol);
}

/** Seeded random pooling configurations, including overlapping windows (stride < size) and non-square ones. */
function randomShapes(seed: number, count: number): PoolShape[] {
  const rng = createRng(seed);
  const shapes: PoolShape[] = [];
  while (shapes.length < count) {
    const kH = 1 + rng.int(4);
    const kW = 1 + rng.int(4);
    const s = poolShape(1 + rng.int(3), 1 + rng.int(4), kH + rng.int(6), kW + rng.int(6), kH, kW, 1 + rng.int(3), 1 + rng.int(3));
    shapes.push(s);
  }
  // fixed overlapping cases: 3×3 window stride 2, 3×2 window stride 1×2
  shapes.push(poolShape(2, 3, 7, 8, 3, 3, 2, 2), poolShape(1, 2, 6, 5, 3, 2, 1, 2));
  return shapes;
}

const describeShape = (s: PoolShape): string =>
  `m=${s.m} c=${s.c} in=${s.inH}×${s.inW} k=${s.kH}×${s.kW} stride=${s.strideH}×${s.strideW}`;

describe('pooling fast kernels vs loop oracles', () => {
  it('maxPool2dForward and maxPool2dDelta match the oracles on 40 seeded shapes incl. overlapping windows', () => {
    const rng = createRng(100);
    for (const s of randomShapes(1, 40)) {
      const x = randomArray(rng, s.m * s.c * s.inH * s.inW);
      const want = maxPool2dForwardNaive(x, s);
      const got = maxPool2dForward(x, s);
      expectClose(`max y ${describeShape(s)}`, got.y, want.y, 0);
      expect(Array.from(got.argmax), `argmax ${describeShape(s)}`).toEqual(Array.from(want.argmax));
      const deltaY = randomArray(rng, got.y.length);
      expectClose(`max δx ${describeShape(s)}`, maxPool2dDelta(deltaY, got.argmax, s), maxPool2dDeltaNaive(deltaY, want.argmax, s), 1e-6);
    }
  });

  it('avgPool2dForward and avgPool2dDelta match the oracles on 40 seeded shapes incl. overlapping windows', () => {
    const rng = createRng(200);
    for (const s of randomShapes(2, 40)) {
      const x = randomArray(rng, s.m * s.c * s.inH * s.inW);
      expectClose(`avg y ${describeShape(s)}`, avgPool2dForward(x, s), avgPool2dForwardNaive(x, s), 1e-6);
      const deltaY = randomArray(rng, s.m * s.c * s.outH * s.outW);
      expectClose(`avg δx ${describeShape(s)}`, avgPool2dDelta(deltaY, s), avgPool2dDeltaNaive(deltaY, s), 1e-6);
    }
  });

  it('the deltas overwrite stale contents of out', () => {
    const s = poolShape(1, 1, 4, 4, 2, 2, 2, 2);
    const x = randomArray(createRng(3), 16);
    const { argmax } = maxPool2dForward(x, s);
    const deltaY = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(maxPool2dDelta(deltaY, argmax, s, new Float32Array(16).fill(9)))).toEqual(Array.from(maxPool2dDelta(deltaY, argmax, s)));
    expect(Array.from(avgPool2dDelta(deltaY, s, new Float32Array(16).fill(9)))).toEqual(Array.from(avgPool2dDelta(deltaY, s)));
  });

  it('avgPool2dDelta is the transpose of avgPool2dForward: ⟨δy, Ax⟩ = ⟨Aᵀδy, x⟩ on overlapping non-square windows', () => {
    const rng = createRng(4);
    const s = poolShape(2, 2, 7, 6, 3, 2, 2, 1);
    const x = randomArray(rng, s.m * s.c * s.inH * s.inW);
    const deltaY = randomArray(rng, s.m * s.c * s.outH * s.outW);
    const y = avgPool2dForward(x, s);
    const deltaX = avgPool2dDelta(deltaY, s);
    let lhs = 0;
    let rhs = 0;
    for (let i = 0; i < y.length; i++) lhs += deltaY[i] * y[i];
    for (let i = 0; i < x.length; i++) rhs += deltaX[i] * x[i];
    expect(Math.abs(lhs - rhs)).toBeLessThan(1e-5);
  });
});

describe('pooling worked examples (MATH.md §5)', () => {
  it('max pool 2×2 stride 2 on a 4×4 input picks each window max and routes δ only to that argmax', () => {
    const s = poolShape(1, 1, 4, 4, 2, 2, 2, 2);
    // prettier-ignore
    const x = Float32Array.from([
      1, 3,   2, 0,
      4, 2,   1, 5,
      0, 0,   7, 8,
      6, 1,   9, 2,
    ]);
    const { y, argmax } = maxPool2dForward(x, s);
    expect(Array.from(y)).toEqual([4, 5, 6, 9]);
    expect(Array.from(argmax)).toEqual([4, 7, 12, 14]);
    const deltaX = maxPool2dDelta(Float32Array.from([0.1, 0.2, 0.3, 0.4]), argmax, s);
    const want = new Float32Array(16);
    want[4] = 0.1;
    want[7] = 0.2;
    want[12] = 0.3;
    want[14] = 0.4;
    expect(Array.from(deltaX)).toEqual(Array.from(want));
  });

  it('max pool 2×2 stride 1 (overlapping): an input that wins two windows receives both deltas', () => {
    const s = poolShape(1, 1, 2, 3, 2, 2, 1, 1);
    const x = Float32Array.from([0, 9, 0, 1, 2, 3]);
    const { y, argmax } = maxPool2dForward(x, s);
    expect(Array.from(y)).toEqual([9, 9]);
    expect(Array.from(argmax)).toEqual([1, 1]);
    expect(Array.from(maxPool2dDelta(Float32Array.from([1, 2]), argmax, s))).toEqual([0, 3, 0, 0, 0, 0]);
  });

  it('max pool ties go to the first maximum in row-major window order', () => {
    const s = poolShape(1, 1, 2, 2, 2, 2, 2, 2);
    expect(Array.from(maxPool2dForward(Float32Array.from([1, 5, 5, 5]), s).argmax)).toEqual([1]);
  });

  it('max pool propagates NaN: a NaN in the window gives NaN out and routes δ to the first NaN', () => {
    const s = poolShape(1, 1, 2, 4, 2, 2, 2, 2);
    const x = Float32Array.from([1, NaN, 3, 4, NaN, 7, 5, 6]);
    const { y, argmax } = maxPool2dForward(x, s);
    expect(Number.isNaN(y[0])).toBe(true);
    expect(argmax[0]).toBe(1);
    expect(y[1]).toBe(6);
    const naive = maxPool2dForwardNaive(x, s);
    expect(Array.from(naive.argmax)).toEqual(Array.from(argmax));
  });

  it('max pool of an all −Infinity window is −Infinity with the window start as argmax', () => {
    const s = poolShape(1, 1, 2, 2, 2, 2, 1, 1);
    const { y, argmax } = maxPool2dForward(new Float32Array(4).fill(-Infinity), s);
    expect(y[0]).toBe(-Infinity);
    expect(argmax[0]).toBe(0);
  });

  it('average pool 2×2 stride 2 gives window means and splits δ equally as δ/4', () => {
    const s = poolShape(1, 1, 2, 4, 2, 2, 2, 2);
    const x = Float32Array.from([1, 2, 10, 20, 3, 4, 30, 40]);
    expect(Array.from(avgPool2dForward(x, s))).toEqual([2.5, 25]);
    expect(Array.from(avgPool2dDelta(Float32Array.from([4, 8]), s))).toEqual([1, 1, 2, 2, 1, 1, 2, 2]);
  });

  it('average pool 2×2 stride 1 (overlapping) accumulates δ/4 where windows share inputs', () => {
    const s = poolShape(1, 1, 2, 3, 2, 2, 1, 1);
    expect(Array.from(avgPool2dDelta(Float32Array.from([4, 8]), s))).toEqual([1, 3, 2, 1, 3, 2]);
  });
});

describe('pool shape checks', () => {
  it('poolOutSize is floor((in − k)/stride) + 1', () => {
    expect(poolOutSize(28, 2, 2)).toBe(14);
    expect(poolOutSize(7, 3, 2)).toBe(3);
    expect(poolOutSize(6, 3, 2)).toBe(2);
    expect(poolOutSize(2, 3, 1)).toBe(0);
  });

  it('throws a ShapeError when outH/outW disagree with the window arithmetic', () => {
    const s = { ...poolShape(1, 1, 4, 4, 2, 2, 2, 2), outH: 3 };
    expect(() => maxPool2dForward(new Float32Array(16), s)).toThrow(
      'maxPool2dForward: expected shape [2, 2], got [3, 2] (outH/outW must be floor((in − k)/stride) + 1)',
    );
  });

  it('throws a ShapeError naming x when the input length is wrong', () => {
    expect(() => avgPool2dForward(new Float32Array(15), poolShape(1, 1, 4, 4, 2, 2, 2, 2))).toThrow(
      'avgPool2dForward: expected shape [1, 1, 4, 4], got [15] (x)',
    );
  });
});
