import { filter, from, lastValueFrom, map, tap, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initKernels } from '../../../src/ops/kernels.js';
import { stepWasmReady } from '../../../src/ops/wasm/stepWasm.js';
import { relu, sigmoid, tanh } from '../../../src/layers/activation.js';
import { avgPool2d } from '../../../src/layers/avgPool2d.js';
import { conv2d } from '../../../src/layers/conv2d.js';
import { flatten } from '../../../src/layers/flatten.js';
import { maxPool2d } from '../../../src/layers/maxPool2d.js';
import { dense } from '../../../src/layers/dense.js';
import { cloneModel, sequential, type Model } from '../../../src/layers/sequential.js';
import { softmaxCrossEntropy as sceKernel } from '../../../src/ops/loss.js';
import { sgd } from '../../../src/ops/optimizers.js';
import type { Tensor } from '../../../src/ops/tensor.js';
import { applyOptimizer, type StepMetrics } from '../../../src/streams/training/applyOptimizer.js';
import { averageGradients } from '../../../src/streams/training/averageGradients.js';
import { batch } from '../../../src/streams/training/batch.js';
import { deltaModel } from '../../../src/streams/training/delta.js';
import { forwardModel } from '../../../src/streams/training/forward.js';
import { internals } from '../../../src/streams/training/internals.js';
import { lossHead, meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { NonFiniteError } from '../../../src/streams/training/numerics.js';
import { train } from '../../../src/streams/training/train.js';
import type { Batch, Sample } from '../../../src/streams/types.js';
import { bits, sample } from '../samples.js';
import { createRng } from '../../../src/ops/random.js';

/** n samples of 4 features in 3 classes (seeded), lines from 2. */
function data(n: number, seed: number): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = Array.from({ length: 4 }, () => 2 * rng.next() - 1);
    return sample(x, rng.int(3), i + 2, 3);
  });
}

function mlp(seed = 3): Model {
  return sequential({ input: [4], seed }, dense({ units: 5 }), tanh(), dense({ units: 3 }));
}

/** The training steps written out by hand: layers called directly, (1.6) SGD. */
function handTrain(model: Model, batches: Batch[], lr: number): void {
  for (const b of batches) {
    const caches: unknown[] = [];
    let a: Tensor = b.x;
    for (const layer of model.layers) {
      const { y, cache } = layer.forward(a);
      caches.push(cache);
      a = y;
    }
    const { delta } = sceKernel(a.data, b.target.data, b.m, 3);
    let deltaY: Tensor | null = { data: delta, shape: a.shape };
    const grads: Float32Array[][] = [];
    for (let i = model.layers.length - 1; i >= 0; i--) {
      if (deltaY === null) throw new Error('no delta');
      const r = model.layers[i].delta(deltaY, caches[i], undefined, i > 0);
      grads[i] = r.grads.map((g) => g.slice());
      deltaY = r.deltaX;
    }
    const flat = grads.flat();
    model.params.forEach((p, j) => {
      const g = flat[j].map((s) => s / b.m); // (1/m) Σ, rounded to float32
      for (let i = 0; i < p.value.length; i++) p.value[i] -= lr * g[i];
    });
  }
}

// Run twice: with the TypeScript kernels, then (same thread, from the second block on) the WASM ones,
// whose fused per-step kernels (averaging, clip + update) must keep every contract below.
for (const isWasm of [false, true]) {
  describe(`train (real layers) (${isWasm ? 'WASM kernels' : 'TypeScript kernels'})`, () => {
    beforeAll(async () => {
      if (isWasm) expect(await initKernels()).toBe(true);
      expect(stepWasmReady()).toBe(isWasm);
    });

    it('equals, bitwise, the same SGD steps done by calling the layers by hand (batches 4, 4, 2)', async () => {
      const samples = data(10, 1);
      const model = mlp();
      const byHand = cloneModel(model);
      const batches = await lastValueFrom(from(samples).pipe(batch(4), toArray()));
      expect(batches.map((b) => b.m)).toEqual([4, 4, 2]);

      const metrics = await lastValueFrom(from(samples).pipe(batch(4), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) }), toArray()));
      handTrain(byHand, batches, 0.1);

      expect(bits(model.params.map((p) => p.value))).toEqual(bits(byHand.params.map((p) => p.value)));
      expect(metrics.map((m) => [m.step, m.samples, m.firstLine, m.lastLine])).toEqual([
        [1, 4, 2, 5],
        [2, 8, 6, 9],
        [3, 10, 10, 11],
      ]);
    });

    it('a training step never writes its batch (batches may be views of the source\'s blocks): every layer kind', async () => {
      const rng = createRng(9);
      const m = 6;
      const nets: [Model, number][] = [
        [sequential({ input: [1, 8, 8], seed: 4 }, conv2d({ filters: 3, kernel: 3, stride: 2, padding: 1 }), relu(), maxPool2d({ size: 2 }), conv2d({ filters: 2, kernel: 1 }), sigmoid(), flatten(), dense({ units: 3 })), 64],
        [sequential({ input: [2, 6, 6], seed: 5 }, conv2d({ filters: 2, kernel: 3 }), tanh(), avgPool2d({ size: 2, stride: 1 }), flatten(), dense({ units: 4 }), relu(), dense({ units: 3 })), 72],
      ];
      for (const [model, n] of nets) {
        const x = Float32Array.from({ length: m * n }, () => 2 * rng.next() - 1);
        const target = new Float32Array(m * 3);
        const labels = Int32Array.from({ length: m }, (_, i) => i % 3);
        labels.forEach((l, i) => (target[3 * i + l] = 1));
        const b: Batch = { x: { data: x, shape: [m, ...model.input] }, target: { data: target, shape: [m, 3] }, labels, m, origins: Array.from({ length: m }, (_, i) => ({ source: 'v', line: i + 2, record: i, endOffset: 0 })) };
        const before = [x.slice(), target.slice()];
        await lastValueFrom(from([b, b]).pipe(train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) }), toArray()));
        expect(bits([x, target])).toEqual(bits(before));
      }
    });

    it('the pieces placed by hand with ordinary RxJS operators between them give the same weights bitwise', async () => {
      const samples = data(12, 2);
      const viaTrain = mlp();
      const viaPieces = cloneModel(viaTrain);
      const optimizer = sgd({ lr: 0.05 });
      await lastValueFrom(from(samples).pipe(batch(3), train(viaTrain, { loss: softmaxCrossEntropy(), optimizer }), toArray()));
      const seenLosses: number[] = [];
      await lastValueFrom(
        from(samples).pipe(
          batch(3),
          filter((b) => b.m > 0),
          forwardModel(viaPieces),
          map((f) => f),
          lossHead(softmaxCrossEntropy()),
          tap((b) => seenLosses.push(b.loss)),
          deltaModel(viaPieces),
          averageGradients(),
          applyOptimizer(viaPieces, optimizer),
          toArray(),
        ),
      );
      expect(seenLosses).toHaveLength(4);
      expect(bits(viaPieces.params.map((p) => p.value))).toEqual(bits(viaTrain.params.map((p) => p.value)));
    });

    it('the last partial batch is averaged over its true size: a batch of 1 reports that sample\'s own loss', async () => {
      const samples = data(5, 3);
      const model = mlp();
      const probe = cloneModel(model);
      // Loss of sample 5 alone under the weights after the first (full) step, computed by hand.
      const metrics = await lastValueFrom(
        from(samples).pipe(
          batch(4),
          tap((b) => {
            if (b.m === 1) {
              probe.params.forEach((p, j) => p.value.set(model.params[j].value));
            }
          }),
          train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) }),
          toArray(),
        ),
      );
      const last = samples[4];
      let a: Tensor = { data: last.x, shape: [1, 4] };
      for (const layer of probe.layers) a = layer.forward(a).y;
      const alone = sceKernel(a.data, last.target, 1, 3).loss;
      expect(metrics[1].loss).toBe(alone);
      expect(metrics[1].samples).toBe(5);
    });

    it('tapping every layer\'s deltas and gradients does not change the trained weights', async () => {
      const samples = data(16, 4);
      const plain = mlp();
      const tapped = cloneModel(plain);
      const probe = internals(tapped);
      let nEvents = 0;
      tapped.layers.forEach((_, i) => {
        probe.delta(i).subscribe(() => nEvents++);
        probe.gradients(i).subscribe((e) => (nEvents += e.grads.length));
        probe.activation(i).subscribe(() => nEvents++);
      });
      const options = { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) };
      await lastValueFrom(from(samples).pipe(batch(4), train(plain, options), toArray()));
      await lastValueFrom(from(samples).pipe(batch(4), train(tapped, { ...options, internals: probe }), toArray()));
      expect(nEvents).toBeGreaterThan(0);
      expect(bits(tapped.params.map((p) => p.value))).toEqual(bits(plain.params.map((p) => p.value)));
    });

    it('the same seed and data give bitwise-identical weights run after run', async () => {
      const run = async () => {
        const model = mlp(11);
        await lastValueFrom(from(data(40, 5)).pipe(batch(8), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.2, momentum: 0.9 }) }), toArray()));
        return bits(model.params.map((p) => p.value));
      };
      expect(await run()).toEqual(await run());
    });

    it('an input that overflows layer 0 stops training with NonFiniteError naming the step, lines and layer; step-1 weights intact', async () => {
      const samples = data(8, 6);
      const huge = sample([3e38, 3e38, 3e38, 3e38], 0, 7, 3);
      samples[5] = huge;
      // relu lets the overflow through (tanh(∞) = 1 would hide it; see the checkNumerics test).
      const model = sequential({ input: [4], seed: 3 }, dense({ units: 5 }), relu(), dense({ units: 3 }));
      model.params[0].value.fill(0.5); // z = 4 · 0.5 · 3e38 overflows float32
      const after: number[][][] = [];
      const run = from(samples).pipe(
        batch(4),
        train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) }),
        tap(() => after.push(bits(model.params.map((p) => p.value)))),
      );
      const error = await lastValueFrom(run).then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(NonFiniteError);
      const e = error as NonFiniteError;
      expect([e.step, e.firstLine, e.lastLine, e.layer, e.location?.where]).toEqual([2, 6, 9, 0, 'output']);
      expect(e.message).toMatch(/^step 2: loss NaN, gradient norm NaN on the batch of data.csv lines 6–9; layer 0 \(dense\) output went non-finite first; update not applied, weights are those after step 1/);
      expect(after).toHaveLength(1);
      expect(bits(model.params.map((p) => p.value))).toEqual(after[0]);
    });

    it('checkNumerics catches an overflow that a saturating tanh hides from the loss', async () => {
      const samples = data(8, 6);
      samples[5] = sample([3e38, 3e38, 3e38, 3e38], 0, 7, 3);
      const options = { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) };
      const hidden = mlp();
      hidden.params[0].value.fill(0.5);
      const quiet = await lastValueFrom(from(samples).pipe(batch(4), train(hidden, options), toArray()));
      expect(quiet).toHaveLength(2);
      const checked = mlp();
      checked.params[0].value.fill(0.5);
      const run = from(samples).pipe(batch(4), train(checked, { ...options, checkNumerics: true }));
      await expect(lastValueFrom(run)).rejects.toThrow('layer 0 (dense) output went non-finite first');
    });

    it('a non-finite input (what 1e300 becomes in float32) is named as the input, before any layer', async () => {
      const samples = data(4, 6);
      samples[2] = sample([Math.fround(1e300), 0, 0, 0], 0, 4, 3);
      const model = mlp();
      const before = bits(model.params.map((p) => p.value));
      const run = from(samples).pipe(batch(4), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) }));
      await expect(lastValueFrom(run)).rejects.toThrow('the input batch holds a non-finite value');
      expect(bits(model.params.map((p) => p.value))).toEqual(before);
    });

    it('a learning rate far too high diverges into NonFiniteError with the previous step\'s weights intact', async () => {
      const rng = createRng(8);
      const samples = Array.from({ length: 400 }, (_, i) => {
        const x = [4 * rng.next(), 4 * rng.next()];
        const s = sample(x, -1, i + 2, 1);
        s.target[0] = x[0] + x[1];
        return s;
      });
      const model = sequential({ input: [2], seed: 1 }, dense({ units: 1 }));
      let last: number[][] = bits(model.params.map((p) => p.value));
      const run = from(samples).pipe(
        batch(2),
        train(model, { loss: meanSquaredError(), optimizer: sgd({ lr: 5 }) }),
        tap(() => (last = bits(model.params.map((p) => p.value)))),
      );
      await expect(lastValueFrom(run)).rejects.toBeInstanceOf(NonFiniteError);
      expect(bits(model.params.map((p) => p.value))).toEqual(last);
    });

    it('clipNorm bounds the update and reports the pre-clip gradient norm', async () => {
      const samples = data(4, 9);
      const model = mlp();
      const before = model.params.map((p) => Float64Array.from(p.value));
      const [m] = await lastValueFrom(
        from(samples).pipe(batch(4), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 1 }), clipNorm: 0.01 }), toArray()),
      );
      let sq = 0;
      model.params.forEach((p, j) => p.value.forEach((v, i) => (sq += (v - before[j][i]) ** 2)));
      expect(m.gradNorm).toBeGreaterThan(0.05);
      expect(Math.sqrt(sq)).toBeLessThanOrEqual(0.01 * (1 + 1e-5));
      expect(Math.sqrt(sq)).toBeGreaterThan(0.0099);
    });

    it('metrics: loss and accuracy are the batch\'s before the update, lr follows the schedule', async () => {
      const samples = data(8, 10);
      const model = mlp();
      const metrics: StepMetrics[] = await lastValueFrom(
        from(samples).pipe(batch(4), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.4 }), lrSchedule: (step) => 1 / (step + 1) }), toArray()),
      );
      expect(metrics.map((m) => m.lr)).toEqual([0.4, 0.2]);
      for (const m of metrics) {
        expect(m.accuracy).not.toBeNull();
        expect(Number.isFinite(m.samplesPerSecond)).toBe(true);
      }
    });

    it('microBatches 2 over batches of 2 matches one batch of 4 up to float rounding', async () => {
      const samples = data(8, 12);
      const a = mlp();
      const b = cloneModel(a);
      const options = { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.3 }) };
      const ma = await lastValueFrom(from(samples).pipe(batch(4), train(a, options), toArray()));
      const mb = await lastValueFrom(from(samples).pipe(batch(2), train(b, { ...options, microBatches: 2 }), toArray()));
      expect(mb.map((m) => [m.step, m.samples])).toEqual(ma.map((m) => [m.step, m.samples]));
      a.params.forEach((p, j) => p.value.forEach((v, i) => expect(b.params[j].value[i]).toBeCloseTo(v, 6)));
    });
  });
}
