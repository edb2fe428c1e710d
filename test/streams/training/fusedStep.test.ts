/**
 * The fused per-step path (WASM averaging, then clip + update in one kernel pass per parameter) inside
 * `train`, against the step written out with the TypeScript reference functions (averaging.ts `…Ts`,
 * the clipped copy, optimizers.ts `applyUpdate`) on the same Σ-gradients: the same backprop (the same
 * WASM kernels) feeds both. Weights, optimizer slots and metrics are bitwise equal without clipping;
 * with clipping only the global norm's summation order differs (≤ 2(n−1)·2⁻⁵³ relative), which can
 * move a clipped gradient by one float32 ulp — bounded below.
 */
import { from, lastValueFrom, map, Subject, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { relu } from '../../../src/layers/activation.js';
import { conv2d } from '../../../src/layers/conv2d.js';
import { dense } from '../../../src/layers/dense.js';
import { flatten } from '../../../src/layers/flatten.js';
import { cloneModel, sequential, type Model } from '../../../src/layers/sequential.js';
import { accumulateSumsTs, averageDirectTs, divideSumsTs } from '../../../src/ops/averaging.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { adam, applyUpdate, createOptimizerState, momentum, sgd, type OptimizerConfig } from '../../../src/ops/optimizers.js';
import { createRng } from '../../../src/ops/random.js';
import { stepWasmReady } from '../../../src/ops/wasm/stepWasm.js';
import { createTrainingState, type StepMetrics } from '../../../src/streams/training/applyOptimizer.js';
import { backprop } from '../../../src/streams/training/backprop.js';
import { batch } from '../../../src/streams/training/batch.js';
import { softmaxCrossEntropy, type Backward } from '../../../src/streams/training/lossHead.js';
import { clipFactor } from '../../../src/streams/training/numerics.js';
import { train } from '../../../src/streams/training/train.js';
import type { Batch, Sample } from '../../../src/streams/types.js';
import { bits, sample } from '../samples.js';

function images(n: number, seed: number): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => sample(Array.from({ length: 2 * 9 * 9 }, () => 2 * rng.next() - 1), rng.int(4), i + 2, 4));
}

/** A conv net with a strided, padded convolution (the WASM phase path) and a dense head. */
function convNet(seed: number): Model {
  return sequential(
    { input: [2, 9, 9], seed },
    conv2d({ filters: 5, kernel: 3, stride: 2, padding: 1 }),
    relu(),
    conv2d({ filters: 4, kernel: 2 }),
    relu(),
    flatten(),
    dense({ units: 4 }),
  );
}

function mlp(seed: number): Model {
  return sequential({ input: [162], seed }, dense({ units: 33 }), relu(), dense({ units: 10 }), relu(), dense({ units: 4 }));
}

interface ReferenceOptions {
  readonly optimizer: OptimizerConfig;
  readonly microBatches: number;
  readonly clipNorm?: number;
}

/** The step of averageGradients + applyOptimizer written with the TypeScript reference loops; returns each step's ‖g‖. */
async function referenceTrain(model: Model, batches: Batch[], o: ReferenceOptions): Promise<number[]> {
  const params = model.params.map((p) => p.value);
  const state = createOptimizerState(o.optimizer, params.map((p) => p.length));
  const averages = params.map((p) => new Float32Array(p.length));
  const sums = params.map((p) => new Float64Array(p.length));
  const norms: number[] = [];
  let pending = 0;
  let count = 0;
  const apply = (sq: number): void => {
    const norm = Math.sqrt(sq);
    norms.push(norm);
    let grads = averages;
    if (o.clipNorm !== undefined && norm > o.clipNorm) {
      const f = clipFactor(norm, o.clipNorm);
      grads = averages.map((g) => g.map((v) => v * f));
    }
    applyUpdate(o.optimizer, state, params, grads, o.optimizer.lr);
  };
  const input = new Subject<Batch>();
  const done = lastValueFrom(
    input.pipe(
      backprop(model, { loss: softmaxCrossEntropy() }),
      map((b: Backward) => {
        const grads = b.grads.flatMap((g) => g ?? []);
        if (o.microBatches === 1) {
          apply(averageDirectTs(averages, grads, b.batch.m));
        } else {
          accumulateSumsTs(sums, grads);
          pending++;
          count += b.batch.m;
          if (pending === o.microBatches) {
            apply(divideSumsTs(averages, sums, count));
            pending = 0;
            count = 0;
          }
        }
      }),
      toArray(),
    ),
  );
  for (const b of batches) input.next(b);
  input.complete();
  await done;
  if (pending > 0) apply(divideSumsTs(averages, sums, count));
  return norms;
}

const ulp = (x: number): number => {
  const a = Math.abs(Math.fround(x));
  if (a === 0) return 2 ** -149;
  return Math.max(2 ** -149, 2 ** (Math.floor(Math.log2(a)) - 23));
};

describe('the fused per-step path inside train vs the TypeScript reference step', () => {
  beforeAll(async () => {
    expect(await initKernels()).toBe(true);
    expect(stepWasmReady()).toBe(true);
  });

  const cases: [string, (seed: number) => Model, OptimizerConfig, number][] = [
    ['MLP, sgd', mlp, sgd({ lr: 0.1 }), 1],
    ['MLP, momentum, 3 micro-batches', mlp, momentum({ lr: 0.05, momentum: 0.9 }), 3],
    ['MLP, adam', mlp, adam({ lr: 3e-3 }), 1],
    ['conv net (strided), adam, 2 micro-batches', convNet, adam({ lr: 3e-3 }), 2],
    ['conv net (strided), momentum', convNet, momentum({ lr: 0.02, momentum: 0.8 }), 1],
  ];
  for (const [name, build, optimizer, microBatches] of cases) {
    it(`${name}: weights, optimizer slots, losses and accuracies bitwise equal over 9 batches (the last one partial)`, async () => {
      const samples = images(9 * 6 - 2, name.length);
      const batches = await lastValueFrom(from(samples).pipe(batch(6), toArray()));
      const fused = build(4);
      const reference = cloneModel(fused);
      const state = createTrainingState(fused, optimizer);
      const metrics: StepMetrics[] = await lastValueFrom(from(batches).pipe(train(fused, { loss: softmaxCrossEntropy(), optimizer, microBatches, state }), toArray()));
      const norms = await referenceTrain(reference, batches, { optimizer, microBatches });
      expect(metrics).toHaveLength(Math.ceil(9 / microBatches));
      expect(bits(fused.params.map((p) => p.value))).toEqual(bits(reference.params.map((p) => p.value)));
      metrics.forEach((m, i) => expect(Math.abs(m.gradNorm - norms[i])).toBeLessThanOrEqual(fused.params.reduce((n, p) => n + p.value.length, 0) * 2 ** -52 * norms[i]));
      for (const slots of state.optimizer.slots) for (const s of slots) expect(s.some((v) => v !== 0)).toBe(true);
    });
  }

  it('with clipNorm engaged on every step, the weights stay within a few float32 ulps of the reference (the norm\'s summation order)', async () => {
    const optimizer = adam({ lr: 3e-3 });
    const samples = images(8 * 6, 3);
    const batches = await lastValueFrom(from(samples).pipe(batch(6), toArray()));
    const fused = mlp(6);
    const reference = cloneModel(fused);
    const metrics = await lastValueFrom(from(batches).pipe(train(fused, { loss: softmaxCrossEntropy(), optimizer, clipNorm: 0.05 }), toArray()));
    const norms = await referenceTrain(reference, batches, { optimizer, microBatches: 1, clipNorm: 0.05 });
    expect(metrics.every((m) => m.gradNorm > 0.05)).toBe(true);
    const n = fused.params.reduce((a, p) => a + p.value.length, 0);
    metrics.forEach((m, i) => expect(Math.abs(m.gradNorm - norms[i]), `step ${i + 1}`).toBeLessThanOrEqual(2 * (n - 1) * 2 ** -53 * norms[i]));
    // each step may round a clipped gradient one ulp apart, which Adam turns into a weight difference
    // of at most about lr·2⁻²² (its step is ≈ lr·m̂/√v̂ with |m̂/√v̂| ≲ 1); over 8 steps, plus an ulp of rounding each
    let worst = 0;
    fused.params.forEach((p, j) => {
      const q = reference.params[j].value;
      p.value.forEach((v, i) => {
        const excess = Math.abs(v - q[i]) - 8 * (optimizer.lr * 2 ** -20 + ulp(q[i]));
        if (excess > worst) worst = excess;
      });
    });
    expect(worst).toBe(0);
  });
});
