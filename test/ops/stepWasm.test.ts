/**
 * The per-step WASM kernels (src/ops/wasm/step.wat.ts) against the TypeScript loops they replace
 * (averaging.ts `…Ts`, optimizers.ts `applyUpdate`): averages, float64 sums and updates bitwise; the
 * global norm's Σ avg² within its stated bound 2(n − 1)·2⁻⁵³ relative (another summation order); and
 * the overflow bound `isUpdateSafe`, which lets the fast update skip the guard, sound (whenever it
 * says safe, the reference update stays finite) and not uselessly strict.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { accumulateSums, accumulateSumsTs, averageDirect, averageDirectTs, divideSums, divideSumsTs, kernelF32, kernelF64 } from '../../src/ops/averaging.js';
import { initKernels } from '../../src/ops/kernels.js';
import { adam, applyUpdate, applyUpdateFast, createOptimizerState, isUpdateSafe, momentum, sgd, type OptimizerConfig, type OptimizerState } from '../../src/ops/optimizers.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { residentAddress } from '../../src/ops/wasm/kernelMemory.js';
import { exactReciprocal, stepWasmReady } from '../../src/ops/wasm/stepWasm.js';

const bits = (x: Float32Array | Float64Array): string[] =>
  x instanceof Float32Array ? Array.from(new Uint32Array(x.buffer, x.byteOffset, x.length), String) : Array.from(new BigUint64Array(x.buffer, x.byteOffset, x.length), String);

/** Lengths with every tail (n % 4) and the empty tensor. */
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 13, 64, 150, 1001, 2400];

/** Gradient-like values: mostly uniform in ±scale, some ±0, some subnormal, some of magnitude `huge` (0: none). */
function values(rng: Rng, n: number, scale = 1, huge = 1e30): Float32Array {
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = rng.next();
    if (r < 0.05) x[i] = rng.next() < 0.5 ? 0 : -0;
    else if (r < 0.1) x[i] = (rng.next() - 0.5) * 1e-40;
    else if (r < 0.15 && huge > 0) x[i] = (rng.next() - 0.5) * huge;
    else x[i] = (2 * rng.next() - 1) * scale;
  }
  return x;
}

/** A copy of `x` in the kernel memory (as the averaging and optimizer buffers are allocated). */
function resident(x: Float32Array): Float32Array {
  const r = kernelF32(x.length);
  r.set(x);
  return r;
}

function expectNormClose(got: number, want: number, n: number, label: string): void {
  expect(Math.abs(got - want), label).toBeLessThanOrEqual(2 * Math.max(n - 1, 0) * 2 ** -53 * want);
}

describe('per-step WASM kernels vs the TypeScript loops', () => {
  beforeAll(async () => {
    expect(await initKernels()).toBe(true);
    expect(stepWasmReady()).toBe(true);
  });

  it('averageDirect: float32(g / m) bitwise for every length and m, Σ avg² within 2(n−1)·2⁻⁵³ relative, resident or not', () => {
    const rng = createRng(1);
    for (const count of [1, 3, 7, 32, 64, 100, 4096]) {
      const grads = LENGTHS.map((n) => values(rng, n, 50));
      const want = grads.map((g) => new Float32Array(g.length));
      const sqWant = averageDirectTs(want, grads, count);
      for (const isResident of [false, true]) {
        const got = grads.map((g) => (isResident ? kernelF32(g.length) : new Float32Array(g.length).fill(NaN)));
        const src = isResident ? grads.map(resident) : grads;
        expect(residentAddress(got[12]) >= 0).toBe(isResident);
        const sq = averageDirect(got, src, count);
        got.forEach((a, j) => expect(bits(a), `m=${count} n=${a.length}`).toEqual(bits(want[j])));
        expectNormClose(sq, sqWant, grads.reduce((n, g) => n + g.length, 0), `m=${count}`);
      }
    }
  });

  it('averageDirect by a power of two (a multiply by the exact reciprocal) keeps the bits of the division at the edges: subnormals, ±0, ±Inf, the largest floats', () => {
    const edge = new Float32Array([1.4e-45, -1.4e-45, 1.1754942e-38, 1e-40, -3e-39, 0, -0, Infinity, -Infinity, 3.4028235e38, -3.4028235e38, 1, -7, 0.1, 5.9e-39, 2.9e-44, 1.5]);
    for (const count of [2, 64, 1024, 2 ** 20, 2 ** 126]) {
      const want = [new Float32Array(edge.length)];
      averageDirectTs(want, [edge], count);
      const got = [new Float32Array(edge.length)];
      averageDirect(got, [edge], count);
      expect(bits(got[0]), `m=${count}`).toEqual(bits(want[0]));
    }
    expect([1, 2, 64, 2 ** 126, 2 ** 127, 3, 0, -4, 0.5, NaN].map(exactReciprocal)).toEqual([1, 0.5, 1 / 64, 2 ** -126, 0, 0, 0, 0, 2, 0]);
  });

  it('accumulateSums then divideSums: float64 sums and float32(Σ / count) bitwise over 5 micro-batches, sums zeroed after', () => {
    const rng = createRng(2);
    const sumsWant = LENGTHS.map((n) => new Float64Array(n));
    const sumsGot = LENGTHS.map((n) => kernelF64(n));
    let count = 0;
    for (let b = 0; b < 5; b++) {
      const grads = LENGTHS.map((n) => values(rng, n, 10));
      const tWant = accumulateSumsTs(sumsWant, grads);
      const tGot = accumulateSums(sumsGot, b % 2 === 0 ? grads : grads.map(resident));
      expect(Number.isFinite(tGot)).toBe(Number.isFinite(tWant));
      sumsGot.forEach((s, j) => expect(bits(s)).toEqual(bits(sumsWant[j])));
      count += 7 + b;
    }
    const avgWant = LENGTHS.map((n) => new Float32Array(n));
    const avgGot = LENGTHS.map((n) => kernelF32(n));
    const sqWant = divideSumsTs(avgWant, sumsWant, count);
    const sqGot = divideSums(avgGot, sumsGot, count);
    avgGot.forEach((a, j) => expect(bits(a)).toEqual(bits(avgWant[j])));
    expectNormClose(sqGot, sqWant, LENGTHS.reduce((a, b) => a + b, 0), 'divideSums');
    for (const s of sumsGot) expect(s.every((v) => v === 0)).toBe(true);
  });

  it('reports a NaN or ±Infinity gradient the way the loops do: a non-finite Σ avg² or Σ g, wherever it sits (vector or tail)', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, 5, 12]) {
        const g = new Float32Array(13).fill(0.5);
        g[at] = bad;
        expect(Number.isFinite(averageDirect([kernelF32(13)], [g], 4))).toBe(false);
        expect(Number.isFinite(accumulateSums([kernelF64(13)], [g]))).toBe(false);
      }
    }
    // the largest float32 squared, many times over, still fits a float64 sum: finite
    expect(Number.isFinite(averageDirect([kernelF32(1000)], [new Float32Array(1000).fill(3.4e38)], 1))).toBe(true);
  });

  const configs: [string, OptimizerConfig][] = [
    ['sgd', sgd({ lr: 0.05 })],
    ['momentum', momentum({ lr: 0.01, momentum: 0.9 })],
    ['adam', adam({ lr: 1e-3 })],
    ['adam (β1 0, tiny ε)', adam({ lr: 0.3, beta1: 0, beta2: 0.99, eps: 1e-12 })],
  ];
  for (const [name, config] of configs) {
    it(`${name}: applyUpdateFast equals applyUpdate on the clipped copy bitwise over 12 steps (factor 1 and < 1, changing lr, weights resident or not)`, () => {
      const rng = createRng(name.length);
      const params = LENGTHS.map((n) => values(rng, n, 1, 100));
      const ref = params.map((p) => p.slice());
      const fast = params.map((p, j) => (j % 2 === 0 ? p.slice() : resident(p)));
      const lengths = params.map((p) => p.length);
      const sRef = createOptimizerState(config, lengths);
      const sFast = createOptimizerState(config, lengths);
      for (let step = 0; step < 12; step++) {
        const grads = lengths.map((n) => values(rng, n, 3, 1e4));
        const factor = step % 3 === 0 ? 1 : Math.fround(0.3 + 0.05 * step) * 0.999;
        const lr = config.lr * (1 + 0.1 * step);
        const clipped = grads.map((g) => g.map((v) => v * factor));
        applyUpdate(config, sRef, ref, factor === 1 ? grads : clipped, lr);
        expect(applyUpdateFast(config, sFast, fast, step % 2 === 0 ? grads : grads.map(resident), lr, factor)).toBe(true);
        expect(sFast.t).toBe(sRef.t);
        fast.forEach((p, j) => expect(bits(p), `step ${step + 1}, parameter ${j}`).toEqual(bits(ref[j])));
        sFast.slots.forEach((slots, j) => slots.forEach((s, k) => expect(bits(s), `step ${step + 1}, parameter ${j} slot ${k}`).toEqual(bits(sRef.slots[j][k]))));
      }
    });
  }

  it('the optimizer slots live in the kernel memory once the kernels are on', () => {
    const state = createOptimizerState(adam(), [10, 3]);
    for (const slots of state.slots) for (const s of slots) expect(residentAddress(s)).toBeGreaterThanOrEqual(0);
  });

  it('applyUpdateFast refuses (returns false, changes nothing) an update the bound cannot prove finite', () => {
    const config = sgd({ lr: 1e40 });
    const p = Float32Array.of(1, 2, 3);
    const state = createOptimizerState(config, [3]);
    expect(applyUpdateFast(config, state, [p], [Float32Array.of(1, 1, 1)], config.lr, 1)).toBe(false);
    expect(Array.from(p)).toEqual([1, 2, 3]);
    expect(state.t).toBe(0);
    // a NaN weight is never "safe" either: the reference path (and its guard) handles it
    const q = Float32Array.of(NaN, 0);
    expect(applyUpdateFast(sgd({ lr: 0.1 }), createOptimizerState(sgd({ lr: 0.1 }), [2]), [q], [Float32Array.of(1, 1)], 0.1, 1)).toBe(false);
  });

  it('applyUpdateFast names the parameter whose gradient has the wrong length', () => {
    const config = sgd({ lr: 0.1 });
    expect(() => applyUpdateFast(config, createOptimizerState(config, [3]), [new Float32Array(3)], [new Float32Array(2)], 0.1, 1)).toThrow(
      'applyUpdateFast: parameter 0: expected shape [3], got [2] (gradient)',
    );
  });
});

describe('isUpdateSafe, the overflow bound', () => {
  const e = (p: number, g: number, slotMax: number[] = [], slotMin: number[] = []) => ({ p, g, slotMax, slotMin });

  it('accepts ordinary training magnitudes for every rule', () => {
    expect(isUpdateSafe(sgd({ lr: 0.05 }), 0.05, 1, e(30, 1e3))).toBe(true);
    expect(isUpdateSafe(momentum({ lr: 0.01 }), 0.01, 9, e(30, 1e3, [5e3]))).toBe(true);
    expect(isUpdateSafe(adam(), 1e-3, 1, e(30, 1e3, [0, 0], [0, 0]))).toBe(true);
    // and magnitudes far beyond any training, up to a factor of about 4 below float32's maximum
    expect(isUpdateSafe(sgd({ lr: 1 }), 1, 1, e(2 ** 124, 2 ** 124))).toBe(true);
    expect(isUpdateSafe(sgd({ lr: 1 }), 1, 1, e(2 ** 126, 2 ** 126))).toBe(false);
    expect(isUpdateSafe(adam(), 1e-3, 500, e(30, 1e6, [1e5, 1e12], [0, 0]))).toBe(true);
  });

  it('rejects NaN or infinite magnitudes, huge learning rates (of either sign), and a negative Adam v', () => {
    expect(isUpdateSafe(sgd({ lr: 0.05 }), 0.05, 1, e(NaN, 1))).toBe(false);
    expect(isUpdateSafe(sgd({ lr: 0.05 }), 0.05, 1, e(1, Infinity))).toBe(false);
    expect(isUpdateSafe(sgd({ lr: 1e40 }), 1e40, 1, e(1, 1))).toBe(false);
    expect(isUpdateSafe(sgd({ lr: 0.05 }), -1e40, 1, e(1, 1))).toBe(false);
    expect(isUpdateSafe(momentum({ lr: 0.01 }), 0.01, 1, e(1, 1, [NaN]))).toBe(false);
    expect(isUpdateSafe(adam(), 1e-3, 1, e(1, 1, [0, 0], [0, -1e-30]))).toBe(false);
    expect(isUpdateSafe(adam(), 1e-3, 1, e(1, 1e20, [0, 0], [0, 0]))).toBe(false); // g² = 1e40 overflows v
  });

  it('is sound: whenever it says safe, the reference update of tensors with those extremes stays finite (property test)', () => {
    // log-uniform magnitudes from 1e-45 to 3.4e38 (and 0), half of them above 1e25, so safe and unsafe cases, and cases near the edge, all occur
    const logUniform = (lo: number, hi: number) => fc.double({ min: lo, max: hi, noNaN: true }).map((x) => Math.fround(10 ** x));
    const magnitude = fc.oneof(fc.constant(0), logUniform(-45, 38.53), logUniform(25, 38.53));
    const rate = fc.tuple(fc.double({ min: -30, max: 30, noNaN: true }), fc.boolean()).map(([x, isNegative]) => (isNegative ? -1 : 1) * 10 ** x);
    const rule = fc.constantFrom<OptimizerConfig>(sgd({ lr: 1 }), momentum({ lr: 1, momentum: 0.9 }), adam({ lr: 1 }), adam({ lr: 1, eps: 1e-30 }));
    let nSafe = 0;
    let nOverflows = 0;
    fc.assert(
      fc.property(rule, magnitude, magnitude, magnitude, magnitude, rate, fc.integer({ min: 1, max: 50 }), (config, P, G, s0, s1, lr, t) => {
        // every sign combination of the extremes, so the worst case is among them
        const p = Float32Array.of(P, -P, P, -P);
        const g = Float32Array.of(G, G, -G, -G);
        const state: OptimizerState = createOptimizerState(config, [4]);
        state.t = t - 1;
        const slots = state.slots[0];
        if (slots.length >= 1) slots[0].set([s0, -s0, -s0, s0]);
        if (slots.length === 2) slots[1].fill(s1);
        const slotMax = [s0, s1].slice(0, slots.length);
        const slotMin = slots.length === 2 ? [-s0, s1] : [-s0];
        const isSafe = isUpdateSafe(config, lr, t, { p: P, g: G, slotMax, slotMin });
        applyUpdate(config, state, [p], [g], lr);
        const isFinite = p.every(Number.isFinite) && slots.every((s) => s.every(Number.isFinite));
        if (isSafe) nSafe++;
        if (!isFinite) nOverflows++;
        if (isSafe) expect(isFinite).toBe(true);
      }),
      { numRuns: 4000, seed: 15 },
    );
    // the property has teeth: both kinds of case were drawn plenty of times
    expect(nSafe).toBeGreaterThan(500);
    expect(nOverflows).toBeGreaterThan(500);
  });
});
