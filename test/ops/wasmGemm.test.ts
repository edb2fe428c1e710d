import { beforeAll, describe, expect, it } from 'vitest';
import { gemmNaive, type GemmShape } from '../../src/ops/gemm.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { ShapeError, Workspace } from '../../src/ops/tensor.js';
import { gemmWat } from '../../src/ops/wasm/gemm.wat.js';
import { residentAddress, residentF32 } from '../../src/ops/wasm/kernelMemory.js';
import {
  createWasmGemm,
  DEFAULT_BLOCKING,
  gemmWasm,
  gemmWasmIsFma,
  initWasm,
  releaseWasmScratch,
  wasmReady,
  wasmScratch,
  type WasmGemm,
} from '../../src/ops/wasm/gemmWasm.js';

type GemmFn = (a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array) => Float32Array;

function randomArray(rng: Rng, n: number): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = 2 * rng.next() - 1;
  return x;
}

const abs = (x: Float32Array): Float32Array => x.map(Math.abs);

/**
 * Check one product against the gemmNaive oracle (float64 sums). Tolerance per element: a
 * float32 sum of k products in any order is within γ ≈ k·u of the exact value relative to
 * Σ_p |op(A)_ip · op(B)_pj| (u = 2⁻²⁴ unit roundoff; Higham, "Accuracy and Stability of Numerical
 * Algorithms", §3.1); the bound used is 2·(k + 2)·u·Σ|ab| + 2u·|C₀| (accumulate adds C₀ once).
 * Reports the worst element with both values.
 */
function checkAgainstOracle(gemmUnderTest: GemmFn, rng: Rng, s: GemmShape, label: string): void {
  const { m, n, k } = s;
  const a = randomArray(rng, m * k);
  const b = randomArray(rng, k * n);
  const c0 = randomArray(rng, m * n);
  const want = gemmNaive(a, b, s, s.accumulate === true ? c0.slice() : undefined);
  // NaN garbage in `out` must be overwritten (not added to) when not accumulating.
  const out = s.accumulate === true ? c0.slice() : new Float32Array(m * n).fill(NaN);
  const got = gemmUnderTest(a, b, s, out);
  expect(got, `${label}: returns out`).toBe(out);
  const scale = gemmNaive(abs(a), abs(b), { m, n, k, transA: s.transA, transB: s.transB });
  const u = 2 ** -24;
  let worst = { excess: -Infinity, index: -1, got: 0, want: 0, tol: 0 };
  for (let i = 0; i < m * n; i++) {
    const tol = 2 * (k + 2) * u * scale[i] + (s.accumulate === true ? 2 * u * Math.abs(c0[i]) : 0);
    const excess = Math.abs(got[i] - want[i]) - tol;
    if (!(excess <= worst.excess)) worst = { excess, index: i, got: got[i], want: want[i], tol };
  }
  expect(
    worst.excess,
    `${label}: worst element ${worst.index} (row ${Math.floor(worst.index / n)}, col ${worst.index % n}): got ${worst.got}, want ${worst.want}, tolerance ${worst.tol}`,
  ).toBeLessThanOrEqual(0);
}

function describeShape(s: GemmShape): string {
  return `m=${s.m} n=${s.n} k=${s.k} transA=${s.transA === true} transB=${s.transB === true} accumulate=${s.accumulate === true}`;
}

const FLAGS = [false, true].flatMap((transA) =>
  [false, true].flatMap((transB) => [false, true].map((accumulate) => ({ transA, transB, accumulate }))),
);

describe('gemmWasm before initWasm', () => {
  it('throws a message that says to call initWasm first', () => {
    expect(wasmReady()).toBe(false);
    expect(() => gemmWasm(new Float32Array(1), new Float32Array(1), { m: 1, n: 1, k: 1 })).toThrow(
      'gemmWasm: call `await initWasm()` first (and check that it returned true)',
    );
  });
});

describe('gemmWasm (default 4×8 tile, default blocking, the thread\'s kernel set: relaxed FMA here)', () => {
  beforeAll(async () => {
    expect(await initWasm()).toBe(true);
  });

  it('reports ready after initWasm resolved true, and a second initWasm resolves true again', async () => {
    expect(wasmReady()).toBe(true);
    expect(gemmWasmIsFma()).toBe(true);
    expect(await initWasm()).toBe(true);
  });

  it('computes a hand-checked 2×3 · 3×2 product exactly, in all four transpose layouts', () => {
    // op(A) = [[1, 2, 3], [4, 5, 6]], op(B) = [[7, 8], [9, 10], [11, 12]] → [[58, 64], [139, 154]]
    const want = [58, 64, 139, 154];
    const aRows = new Float32Array([1, 2, 3, 4, 5, 6]);
    const aCols = new Float32Array([1, 4, 2, 5, 3, 6]); // stored 3 × 2
    const bRows = new Float32Array([7, 8, 9, 10, 11, 12]);
    const bCols = new Float32Array([7, 9, 11, 8, 10, 12]); // stored 2 × 3
    expect(Array.from(gemmWasm(aRows, bRows, { m: 2, n: 2, k: 3 }))).toEqual(want);
    expect(Array.from(gemmWasm(aCols, bRows, { m: 2, n: 2, k: 3, transA: true }))).toEqual(want);
    expect(Array.from(gemmWasm(aRows, bCols, { m: 2, n: 2, k: 3, transB: true }))).toEqual(want);
    expect(Array.from(gemmWasm(aCols, bCols, { m: 2, n: 2, k: 3, transA: true, transB: true }))).toEqual(want);
  });

  it('adds into out when accumulate is set: [[1]] += [[2]]·[[3]] gives [[7]]', () => {
    const out = new Float32Array([1]);
    expect(Array.from(gemmWasm(new Float32Array([2]), new Float32Array([3]), { m: 1, n: 1, k: 1, accumulate: true }, out))).toEqual([7]);
  });

  for (const flags of FLAGS) {
    it(`matches gemmNaive on 40 random sizes in 1..130 (primes, non-multiples of the tile) with transA=${flags.transA} transB=${flags.transB} accumulate=${flags.accumulate}`, () => {
      const rng = createRng(100 + 4 * Number(flags.transA) + 2 * Number(flags.transB) + Number(flags.accumulate));
      const fixed = [1, 2, 3, 4, 5, 7, 8, 9, 13, 31, 61, 97, 127, 128, 129, 130];
      for (let t = 0; t < 40; t++) {
        const pick = (): number => (rng.next() < 0.4 ? fixed[rng.int(fixed.length)] : 1 + rng.int(130));
        const s: GemmShape = { m: pick(), n: pick(), k: pick(), ...flags };
        checkAgainstOracle(gemmWasm, rng, s, describeShape(s));
      }
    });
  }

  const workloads: readonly GemmShape[] = [
    { m: 64, n: 128, k: 784, transB: true }, // MLP layer 1 forward Z = A·Wᵀ (1.1)
    { m: 128, n: 784, k: 64, transA: true }, // its ∂C/∂W = Δᵀ·A (1.4)
    { m: 64, n: 784, k: 128 }, // Δ·W (1.5)
    { m: 64, n: 64, k: 128, transB: true },
    { m: 64, n: 10, k: 64, transB: true },
    { m: 6, n: 576, k: 25 }, // conv1 per sample W·cols (3.5)
    { m: 6, n: 64 * 576, k: 25 }, // conv1 batched
    { m: 6, n: 25, k: 576, transB: true, accumulate: true }, // conv1 dW += δ·colsᵀ (3.7)
    { m: 16, n: 64, k: 150 }, // conv2 per sample
    { m: 150, n: 64, k: 16, transA: true }, // conv2 dcols = Wᵀ·δ (3.6)
    { m: 16, n: 150, k: 64, transB: true, accumulate: true }, // conv2 dW
    { m: 64, n: 120, k: 256, transB: true }, // LeNet fc1
    { m: 120, n: 256, k: 64, transA: true },
  ];
  for (const s of workloads) {
    it(`matches gemmNaive on the workload shape ${describeShape(s)}`, () => {
      checkAgainstOracle(gemmWasm, createRng(s.m * 7 + s.n * 3 + s.k), s, describeShape(s));
    });
  }

  it('handles k = 0 (C = 0, or C unchanged when accumulating) and empty m or n', () => {
    expect(Array.from(gemmWasm(new Float32Array(0), new Float32Array(0), { m: 2, n: 2, k: 0 }, new Float32Array(4).fill(5)))).toEqual([0, 0, 0, 0]);
    expect(Array.from(gemmWasm(new Float32Array(0), new Float32Array(0), { m: 1, n: 2, k: 0, accumulate: true }, new Float32Array([5, 6])))).toEqual([5, 6]);
    expect(gemmWasm(new Float32Array(0), new Float32Array(3), { m: 0, n: 1, k: 3 }).length).toBe(0);
    expect(gemmWasm(new Float32Array(3), new Float32Array(0), { m: 1, n: 0, k: 3 }).length).toBe(0);
  });

  it('reads operands that are subarrays at a non-zero offset of a larger buffer', () => {
    const rng = createRng(9);
    const big = randomArray(rng, 1000);
    const a = big.subarray(3, 3 + 5 * 7);
    const b = big.subarray(101, 101 + 7 * 9);
    const out = new Float32Array(1000).subarray(17, 17 + 45);
    const s: GemmShape = { m: 5, n: 9, k: 7 };
    const want = gemmNaive(a, b, s);
    const got = gemmWasm(a, b, s, out);
    for (let i = 0; i < 45; i++) expect(got[i]).toBeCloseTo(want[i], 5);
  });

  it('throws ShapeError naming gemmWasm when A, B or C has the wrong length, or accumulate has no out', () => {
    const s: GemmShape = { m: 2, n: 3, k: 4 };
    expect(() => gemmWasm(new Float32Array(7), new Float32Array(12), s)).toThrow(
      new ShapeError('gemmWasm', [2, 4], [7], 'A has the wrong number of elements'),
    );
    expect(() => gemmWasm(new Float32Array(8), new Float32Array(11), { ...s, transB: true })).toThrow(
      'gemmWasm: expected shape [3, 4], got [11] (B has the wrong number of elements)',
    );
    expect(() => gemmWasm(new Float32Array(8), new Float32Array(12), s, new Float32Array(5))).toThrow(
      'gemmWasm: expected shape [2, 3], got [5] (C has the wrong number of elements)',
    );
    expect(() => gemmWasm(new Float32Array(8), new Float32Array(12), { ...s, accumulate: true })).toThrow(
      'gemmWasm: expected shape [2, 3], got no C (accumulate needs an out buffer to add into)',
    );
    expect(() => gemmWasm(new Float32Array(0), new Float32Array(0), { m: 1.5, n: 0, k: 0 })).toThrow(ShapeError);
  });

  it('reads and writes arrays resident in the kernel memory (Workspace.residentF32) in place, with every transpose, also the newest block at the top of the memory', () => {
    const rng = createRng(23);
    for (const flags of FLAGS) {
      const s: GemmShape = { m: 13, n: 21, k: 11, ...flags };
      const a = randomArray(rng, s.m * s.k);
      const b = randomArray(rng, s.k * s.n);
      const c0 = randomArray(rng, s.m * s.n);
      const [ra, rb, rc] = [residentF32(a.length), residentF32(b.length), residentF32(c0.length)];
      if (ra === null || rb === null || rc === null) throw new Error('no kernel memory');
      ra.set(a);
      rb.set(b);
      rc.set(c0);
      const want = gemmNaive(a, b, s, c0.slice());
      const expectClose = (got: Float32Array, want: Float32Array): void => {
        for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${describeShape(s)} element ${i}`).toBeLessThan(1e-5);
      };
      const got = gemmWasm(ra, rb, s, rc);
      expect(got).toBe(rc);
      expect(residentAddress(got)).toBeGreaterThan(0);
      expectClose(got, want);
      // a subarray of a resident view is not itself resident: it is copied in and out, same result
      const sub = rc.subarray(0);
      sub.set(c0);
      expectClose(gemmWasm(ra, rb, s, sub), want);
    }
  });

  it('Workspace.residentCopy copies an ordinary array into the kernel memory once per call, and passes a resident one through', () => {
    const ws = new Workspace();
    const x = randomArray(createRng(24), 100);
    const r = ws.residentCopy('x', x);
    expect(r).not.toBe(x);
    expect(residentAddress(r)).toBeGreaterThan(0);
    expect(Array.from(r)).toEqual(Array.from(x));
    x[0] = 5;
    expect(ws.residentCopy('x', x)).toBe(r); // the same buffer, refreshed
    expect(r[0]).toBe(5);
    expect(ws.residentCopy('other', r)).toBe(r);
  });

  it('uses wasmScratch operands in place, and their views survive memory growth (the shared kernel memory never detaches them)', () => {
    const rng = createRng(21);
    const s: GemmShape = { m: 33, n: 47, k: 65, transB: true };
    const aBlock = wasmScratch(s.m * s.k);
    const bBlock = wasmScratch(s.k * s.n);
    const cBlock = wasmScratch(s.m * s.n);
    const a = randomArray(rng, s.m * s.k);
    const b = randomArray(rng, s.k * s.n);
    aBlock.view().set(a);
    bBlock.view().set(b);
    const got = gemmWasm(aBlock.view(), bBlock.view(), s, cBlock.view());
    expect(got.buffer).toBe(cBlock.view().buffer);
    const want = gemmNaive(a, b, s);
    for (let i = 0; i < want.length; i++) expect(cBlock.view()[i]).toBeCloseTo(want[i], 5);

    // A large copied product grows the memory; the blocks keep their contents and places, and a
    // view taken before the growth still aliases them.
    const before = cBlock.view();
    const big = 700;
    gemmWasm(new Float32Array(big * big), new Float32Array(big * big), { m: big, n: big, k: big });
    expect(before.length).toBe(want.length);
    expect(Array.from(before)).toEqual(Array.from(cBlock.view()));
    for (let i = 0; i < want.length; i++) expect(cBlock.view()[i]).toBeCloseTo(want[i], 5);
    expect(Array.from(aBlock.view())).toEqual(Array.from(a));
    releaseWasmScratch();
  });
});

describe('gemmWasm kernels with other tiles and tiny cache blocks (every blocking loop runs several times)', () => {
  const configs = [
    { tile: { mr: 4, nr: 8 }, blocking: { kc: 7, mc: 8, nc: 16, isAInPlace: true, maxInPlaceBBytes: 1e9 } },
    { tile: { mr: 6, nr: 8 }, blocking: { kc: 5, mc: 12, nc: 24, isAInPlace: false, maxInPlaceBBytes: 0 } },
    { tile: { mr: 3, nr: 12 }, blocking: { kc: 16, mc: 9, nc: 12, isAInPlace: true, maxInPlaceBBytes: 0 } },
    { tile: { mr: 1, nr: 4 }, blocking: { kc: 3, mc: 2, nc: 8, isAInPlace: false, maxInPlaceBBytes: 1e9 } },
  ];
  for (const { tile, blocking, fma } of configs.flatMap((c) => [false, true].map((f) => ({ ...c, fma: f })))) {
    const name = `${tile.mr}×${tile.nr} tile, kc=${blocking.kc} mc=${blocking.mc} nc=${blocking.nc}, in place A=${blocking.isAInPlace} B≤${blocking.maxInPlaceBBytes} bytes, ${fma ? 'FMA' : 'no FMA'}`;
    let engine: WasmGemm;
    beforeAll(async () => {
      engine = await createWasmGemm(tile, blocking, { fma });
      expect(engine.fma).toBe(fma);
    });
    it(`matches gemmNaive for all transposes and accumulate with the ${name}`, () => {
      const rng = createRng(tile.mr * 100 + tile.nr);
      for (const flags of FLAGS) {
        for (let t = 0; t < 6; t++) {
          const s: GemmShape = { m: 1 + rng.int(50), n: 1 + rng.int(50), k: 1 + rng.int(50), ...flags };
          checkAgainstOracle((a, b, sh, out) => engine.gemm(a, b, sh, out), rng, s, `${name}, ${describeShape(s)}`);
        }
      }
    });
  }

  it('the default tile without FMA (the simd128 set) matches gemmNaive on 48 random sizes with every transpose and accumulate', async () => {
    const engine = await createWasmGemm(undefined, DEFAULT_BLOCKING, { fma: false });
    const rng = createRng(77);
    for (const flags of FLAGS) {
      for (let t = 0; t < 12; t++) {
        const s: GemmShape = { m: 1 + rng.int(130), n: 1 + rng.int(130), k: 1 + rng.int(300), ...flags };
        checkAgainstOracle((a, b, sh, out) => engine.gemm(a, b, sh, out), rng, s, `simd128, ${describeShape(s)}`);
      }
    }
  });

  it('writes the micro-kernel\'s multiply-adds as relaxed_madd with fma, as mul then add without', () => {
    expect(gemmWat(undefined, { fma: true })).toContain('f32x4.relaxed_madd');
    expect(gemmWat(undefined, { fma: true })).not.toContain('f32x4.mul');
    expect(gemmWat()).not.toContain('relaxed');
  });

  it('rejects a blocking that is not a multiple of the tile', async () => {
    await expect(createWasmGemm({ mr: 4, nr: 8 }, { kc: 8, mc: 6, nc: 16, isAInPlace: true, maxInPlaceBBytes: 1e9 })).rejects.toThrow(
      'createWasmGemm: blocking mc=6 nc=16 must be multiples of the tile 4x8, kc >= 1',
    );
  });
});
