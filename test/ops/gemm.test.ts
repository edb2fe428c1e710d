import { describe, expect, it } from 'vitest';
import { addBiasRows, gemm, gemmNaive, sumRows, type GemmShape } from '../../src/ops/gemm.js';
import { createRng, type Rng } from '../../src/ops/random.js';

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

/** Largest |got − want| with its index, for a readable failure message. */
function maxAbsDiff(got: Float32Array, want: Float32Array): { diff: number; index: number; got: number; want: number } {
  let worst = { diff: 0, index: -1, got: 0, want: 0 };
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst.diff)) worst = { diff: d, index: i, got: got[i], want: want[i] };
  }
  return worst;
}

function expectClose(name: string, got: Float32Array, want: Float32Array, tol: number): void {
  expect(got.length, `${name}: length`).toBe(want.length);
  const w = maxAbsDiff(got, want);
  expect(w.diff, `${name}: max |diff| at index ${w.index}: got ${w.got}, want ${w.want}`).toBeLessThanOrEqual(tol);
}

const sizes = [1, 3, 4, 5, 17, 65];

describe('gemm vs gemmNaive', () => {
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`matches the triple loop for transA=${transA} transB=${transB} over sizes ${sizes.join(',')}`, () => {
        const rng = createRng(11 + (transA ? 2 : 0) + (transB ? 1 : 0));
        for (const m of sizes) {
          for (const n of sizes) {
            for (const k of sizes) {
              const s: GemmShape = { m, n, k, transA, transB };
              const a = randomArray(rng, m * k);
              const b = randomArray(rng, k * n);
              const want = gemmNaive(a, b, s);
              const got = gemm(a, b, s);
              // |entries| ≤ 1, so each sum has magnitude ≤ k; float32 rounding grows ~ linearly in k.
              expectClose(`gemm m=${m} n=${n} k=${k}`, got, want, 2e-7 * (k + 1));
            }
          }
        }
      });
    }
  }

  it('accumulates into out for all four transpose combinations when accumulate is set', () => {
    const rng = createRng(5);
    for (const transA of [false, true]) {
      for (const transB of [false, true]) {
        const m = 7;
        const n = 9;
        const k = 13;
        const a = randomArray(rng, m * k);
        const b = randomArray(rng, k * n);
        const c0 = randomArray(rng, m * n);
        const s: GemmShape = { m, n, k, transA, transB, accumulate: true };
        const want = gemmNaive(a, b, s, c0.slice());
        const got = gemm(a, b, s, c0.slice());
        expectClose(`accumulate transA=${transA} transB=${transB}`, got, want, 1e-5);
        // and the accumulation really added: result − c0 equals the plain product
        const plain = gemmNaive(a, b, { m, n, k, transA, transB });
        const added = got.map((v, i) => v - c0[i]);
        expectClose('accumulated minus initial', added, plain, 1e-5);
      }
    }
  });

  it('overwrites stale contents of out when accumulate is not set', () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([5, 6, 7, 8]);
    const out = new Float32Array(4).fill(1000);
    gemm(a, b, { m: 2, n: 2, k: 2 }, out);
    expect(Array.from(out)).toEqual([19, 22, 43, 50]);
  });

  it('computes a 2×3 by 3×2 product worked by hand, with and without transposed storage', () => {
    // A = [[1,2,3],[4,5,6]], B = [[7,8],[9,10],[11,12]], AB = [[58,64],[139,154]]
    const a = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const aT = Float32Array.from([1, 4, 2, 5, 3, 6]);
    const b = Float32Array.from([7, 8, 9, 10, 11, 12]);
    const bT = Float32Array.from([7, 9, 11, 8, 10, 12]);
    const want = [58, 64, 139, 154];
    expect(Array.from(gemm(a, b, { m: 2, n: 2, k: 3 }))).toEqual(want);
    expect(Array.from(gemm(aT, b, { m: 2, n: 2, k: 3, transA: true }))).toEqual(want);
    expect(Array.from(gemm(a, bT, { m: 2, n: 2, k: 3, transB: true }))).toEqual(want);
    expect(Array.from(gemm(aT, bT, { m: 2, n: 2, k: 3, transA: true, transB: true }))).toEqual(want);
  });

  it('handles k = 0 as an empty sum (zeros, or out unchanged when accumulating)', () => {
    const empty = new Float32Array(0);
    expect(Array.from(gemm(empty, empty, { m: 2, n: 2, k: 0 }, new Float32Array(4).fill(3)))).toEqual([0, 0, 0, 0]);
    expect(Array.from(gemm(empty, empty, { m: 2, n: 2, k: 0, accumulate: true }, new Float32Array(4).fill(3)))).toEqual([3, 3, 3, 3]);
  });

  it('throws a ShapeError when accumulate is set without an out buffer to add into', () => {
    expect(() => gemm(new Float32Array(4), new Float32Array(4), { m: 2, n: 2, k: 2, accumulate: true })).toThrow(
      'gemm: expected shape [2, 2], got no C (accumulate needs an out buffer to add into)',
    );
  });

  it('throws a ShapeError naming gemm when A has the wrong length', () => {
    expect(() => gemm(new Float32Array(5), new Float32Array(6), { m: 2, n: 2, k: 3 })).toThrow(
      'gemm: expected shape [2, 3], got [5] (A has the wrong number of elements)',
    );
  });
});

describe('dense-layer helpers', () => {
  it('addBiasRows adds b[j] to every row of z', () => {
    const z = Float32Array.from([1, 2, 3, 4, 5, 6]);
    addBiasRows(z, Float32Array.from([10, 20, 30]), 2, 3);
    expect(Array.from(z)).toEqual([11, 22, 33, 14, 25, 36]);
  });

  it('sumRows overwrites out with the column sums over the batch', () => {
    const delta = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const out = new Float32Array(3).fill(99);
    expect(Array.from(sumRows(delta, 2, 3, out))).toEqual([5, 7, 9]);
  });
});
