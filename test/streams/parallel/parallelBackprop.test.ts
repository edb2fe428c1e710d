/**
 * parallelBackprop: the same Σ-gradients as backprop up to float32 summation order, bitwise
 * reproducible, errors from workers delivered with their message, and no thread left behind.
 * The workers run the built dist/ (npm test builds first, via pretest).
 */
import { from, lastValueFrom, Subject, take, tap, toArray, type Observable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { relu, tanh } from '../../../src/layers/activation.js';
import { conv2d } from '../../../src/layers/conv2d.js';
import { dense } from '../../../src/layers/dense.js';
import { flatten } from '../../../src/layers/flatten.js';
import { maxPool2d } from '../../../src/layers/maxPool2d.js';
import { sequential, type Model } from '../../../src/layers/sequential.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { sgd } from '../../../src/ops/optimizers.js';
import { createRng } from '../../../src/ops/random.js';
import { createTrainingState } from '../../../src/streams/training/applyOptimizer.js';
import { batch } from '../../../src/streams/training/batch.js';
import { fit } from '../../../src/streams/training/fit.js';
import { internals } from '../../../src/streams/training/internals.js';
import { meanSquaredError, softmaxCrossEntropy, type Backward } from '../../../src/streams/training/lossHead.js';
import { NonFiniteError } from '../../../src/streams/training/numerics.js';
import { createGradientPool, GradientWorkerError, parallelBackprop, type ParallelBackpropOptions, type WorkerFault } from '../../../src/streams/parallel/parallelBackprop.js';
import { batchRows } from '../../../src/streams/parallel/sharedBatch.js';
import { backprop, train } from '../../../src/streams/training/train.js';
import type { Batch, Sample } from '../../../src/streams/types.js';
import { bits, sample } from '../samples.js';

/** n seeded samples of `nIn` features in `nOut` classes, lines from 2. */
function data(n: number, seed: number, nIn: number, nOut = 3): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = Array.from({ length: nIn }, () => 2 * rng.next() - 1);
    return sample(x, rng.int(nOut), i + 2, nOut);
  });
}

function mlp(seed = 3): Model {
  return sequential({ input: [4], seed }, dense({ units: 5 }), tanh(), dense({ units: 3 }));
}

function convNet(seed = 5): Model {
  return sequential({ input: [1, 8, 8], seed }, conv2d({ filters: 4, kernel: 3 }), relu(), maxPool2d({ size: 2 }), flatten(), dense({ units: 3 }));
}

async function batches(samples: Sample[], m: number): Promise<Batch[]> {
  return lastValueFrom(from(samples).pipe(batch(m), toArray()));
}

interface Copied {
  readonly grads: Float32Array[];
  readonly lossSum: number;
  readonly correct: number | null;
  readonly m: number;
  readonly output: Float32Array;
}

/** Each record's gradients, loss and output, copied as it passes (the operators reuse their buffers). */
async function collectGrads(source: Observable<Backward>): Promise<Copied[]> {
  const out: Copied[] = [];
  await lastValueFrom(
    source.pipe(
      tap((b) =>
        out.push({
          grads: b.grads.flatMap((g) => (g ?? []).map((t) => t.slice())),
          lossSum: b.lossSum,
          correct: b.correct,
          m: b.batch.m,
          output: b.output.data.slice(),
        }),
      ),
      toArray(),
    ),
  );
  return out;
}

/** The reference for N threads: backprop of each ⌈m/N⌉-row slice on this thread, added in slice order in float64, rounded once. */
async function sliceSums(model: Model, b: Batch, workers: number): Promise<Float32Array[]> {
  const rows = Math.ceil(b.m / workers);
  const nIn = b.x.data.length / b.m;
  const nOut = b.target.shape[1];
  const slices: Batch[] = [];
  for (let start = 0; start < b.m; start += rows) slices.push(batchRows(b, start, Math.min(rows, b.m - start), nIn, nOut));
  const perSlice = await collectGrads(from(slices).pipe(backprop(model, { loss: softmaxCrossEntropy() })));
  return perSlice[0].grads.map((g, j) =>
    g.map((_, e) => {
      let s = 0;
      for (const p of perSlice) s += p.grads[j][e];
      return s;
    }),
  );
}

/** max |a − b| over a tensor, relative to max |b| of that tensor. */
function maxRelDiff(a: readonly Float32Array[], b: readonly Float32Array[]): number {
  let worst = 0;
  a.forEach((t, j) => {
    let scale = 0;
    let diff = 0;
    for (let i = 0; i < t.length; i++) {
      scale = Math.max(scale, Math.abs(b[j][i]));
      diff = Math.max(diff, Math.abs(t[i] - b[j][i]));
    }
    if (scale > 0) worst = Math.max(worst, diff / scale);
  });
  return worst;
}

/** Options with an onExit hook, and a promise of the moment all `workers − 1` threads have exited. */
function watchExits(options: Omit<ParallelBackpropOptions, 'testHooks'>, fault?: WorkerFault) {
  const exited: number[] = [];
  let resolve: () => void = () => {};
  const allExited = new Promise<number[]>((r) => (resolve = () => r(exited)));
  const withHooks: ParallelBackpropOptions = {
    ...options,
    testHooks: {
      fault,
      onExit: (worker) => {
        exited.push(worker);
        if (exited.length === options.workers - 1) resolve();
      },
    },
  };
  return { options: withHooks, allExited };
}

/** float32 summation order: the tolerance on max|Δg| / max|g| per tensor (float32 ε ≈ 1.2e-7). */
const ORDER_TOLERANCE = 1e-5;

describe('parallelBackprop', () => {
  it.each([2, 3])('%i threads: gradients are bitwise the slice sums, and equal whole-batch backprop up to float32 summation order', async (workers) => {
    for (const [model, nIn, m] of [[mlp(), 4, 10], [convNet(), 64, 32]] as const) {
      const [b] = await batches(data(m, 1, nIn), m);
      const [single] = await collectGrads(from([b]).pipe(backprop(model, { loss: softmaxCrossEntropy() })));
      const [parallel] = await collectGrads(from([b]).pipe(parallelBackprop(model, { loss: softmaxCrossEntropy(), workers })));
      expect(bits(parallel.grads)).toEqual(bits(await sliceSums(model, b, workers)));
      expect(maxRelDiff(parallel.grads, single.grads)).toBeLessThan(ORDER_TOLERANCE);
      expect(parallel.lossSum).toBeCloseTo(single.lossSum, 10);
      expect([parallel.m, parallel.correct]).toEqual([single.m, single.correct]);
      expect(bits([parallel.output])).toEqual(bits([single.output])); // forward is per row: no summation order involved
    }
  });

  it('two parallel runs with the same seed give bitwise-identical weights', async () => {
    const run = async () => {
      const model = mlp(11);
      await lastValueFrom(from(data(40, 5, 4)).pipe(batch(8), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.2, momentum: 0.9 }), workers: 3 }), toArray()));
      return bits(model.params.map((p) => p.value));
    };
    expect(await run()).toEqual(await run());
  });

  it('a conv net trained 20 steps with 2 workers: bitwise equal to itself, close to 1 worker', async () => {
    const samples = data(20 * 16, 7, 64);
    const run = async (workers: number) => {
      const model = convNet();
      const metrics = await lastValueFrom(from(samples).pipe(batch(16), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }), workers }), toArray()));
      return { metrics, weights: model.params.map((p) => p.value) };
    };
    const a = await run(2);
    const b = await run(2);
    const one = await run(1);
    expect(a.metrics).toHaveLength(20);
    expect(bits(a.weights)).toEqual(bits(b.weights));
    expect(maxRelDiff(a.weights, one.weights)).toBeLessThan(1e-4);
    expect(a.metrics.map((s) => [s.step, s.samples, s.firstLine, s.lastLine])).toEqual(one.metrics.map((s) => [s.step, s.samples, s.firstLine, s.lastLine]));
  });

  it('partial last batch and batches smaller than N: true counts, real lines, close to 1 worker', async () => {
    const samples = data(10, 2, 4);
    const run = async (workers: number, m: number) => {
      const model = mlp();
      const metrics = await lastValueFrom(from(samples).pipe(batch(m), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), workers }), toArray()));
      return { metrics, weights: model.params.map((p) => p.value) };
    };
    // batch(4) → 4, 4, 2 (3 threads: slices 2+2, 2+2, 1+1); batch(2) → m = 2 < 3 threads; batch(3) → 3, 3, 3, 1 (a batch of 1 stays on this thread).
    for (const m of [4, 2, 3]) {
      const three = await run(3, m);
      const one = await run(1, m);
      expect(three.metrics.map((s) => [s.samples, s.firstLine, s.lastLine])).toEqual(one.metrics.map((s) => [s.samples, s.firstLine, s.lastLine]));
      three.metrics.forEach((s, i) => {
        expect(s.loss).toBeCloseTo(one.metrics[i].loss, 5);
        expect(s.accuracy).toBe(one.metrics[i].accuracy);
      });
      expect(maxRelDiff(three.weights, one.weights)).toBeLessThan(ORDER_TOLERANCE);
    }
  });

  it('regression (no labels, MSE): correct stays null and gradients match', async () => {
    const model = sequential({ input: [4], seed: 2 }, dense({ units: 3 }), tanh(), dense({ units: 2 }));
    const samples = Array.from({ length: 9 }, (_, i) => sample([i / 9, -i / 9, 0.5, (i % 3) - 1], -1, i + 2, 2)).map((s, i) => ({ ...s, target: Float32Array.of(i / 9, 1 - i / 9) }));
    const [b] = await batches(samples, 9);
    const [single] = await collectGrads(from([b]).pipe(backprop(model, { loss: meanSquaredError() })));
    const [parallel] = await collectGrads(from([b]).pipe(parallelBackprop(model, { loss: meanSquaredError(), workers: 2 })));
    expect(parallel.correct).toBeNull();
    expect(maxRelDiff(parallel.grads, single.grads)).toBeLessThan(ORDER_TOLERANCE);
  });

  it('a worker\'s error reaches the subscriber with its message, and every worker thread exits', async () => {
    const { options, allExited } = watchExits({ loss: softmaxCrossEntropy(), workers: 3 }, { worker: 2, step: 2, kind: 'throw', message: 'injected fault in slice 2' });
    const run = from(await batches(data(24, 3, 4), 6)).pipe(parallelBackprop(mlp(), options));
    const error = await lastValueFrom(run).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(GradientWorkerError);
    expect(error).toMatchObject({ worker: 2, workerErrorName: 'Error', message: 'parallelBackprop: gradient worker 2 failed on its slice of step 2: injected fault in slice 2' });
    expect((await allExited).sort()).toEqual([1, 2]);
  });

  it('a worker thread that dies ends the stream with an error instead of hanging', async () => {
    const { options, allExited } = watchExits({ loss: softmaxCrossEntropy(), workers: 2 }, { worker: 1, step: 1, kind: 'exit', message: '' });
    const run = from(await batches(data(8, 3, 4), 4)).pipe(parallelBackprop(mlp(), options));
    await expect(lastValueFrom(run)).rejects.toThrow('parallelBackprop: gradient worker 1 exited while its slice of step 1');
    expect(await allExited).toEqual([1]);
  });

  it('a batch of the wrong shape fails as it does on one thread', async () => {
    const [b] = await batches(data(6, 3, 4), 6);
    const bad: Batch = { ...b, x: { data: b.x.data.subarray(0, 20), shape: [6, 4] } };
    const { options, allExited } = watchExits({ loss: softmaxCrossEntropy(), workers: 2 });
    const single = lastValueFrom(from([bad]).pipe(backprop(mlp(), { loss: softmaxCrossEntropy() })));
    const parallel = lastValueFrom(from([bad]).pipe(parallelBackprop(mlp(), options)));
    await expect(single).rejects.toThrow('forwardModel: expected shape [6, 4], got [6, 4] (batch of 6 samples)');
    await expect(parallel).rejects.toThrow('forwardModel: expected shape [6, 4], got [6, 4] (batch of 6 samples)');
    await allExited;
  });

  it('unsubscribing mid-stream terminates the workers', async () => {
    const { options, allExited } = watchExits({ loss: softmaxCrossEntropy(), workers: 3 });
    const input = new Subject<Batch>();
    const seen: number[] = [];
    const subscription = input.pipe(parallelBackprop(mlp(), options), take(5)).subscribe((b) => seen.push(b.batch.m));
    const bs = await batches(data(12, 4, 4), 4);
    input.next(bs[0]);
    input.next(bs[1]);
    subscription.unsubscribe();
    expect(seen).toEqual([4, 4]);
    expect((await allExited).sort()).toEqual([1, 2]);
  });

  it('a non-finite value born in slice 1 stops training with NonFiniteError (located as the loss: only slice 0\'s tape is scanned)', async () => {
    const samples = data(8, 6, 4);
    samples[7] = sample([3e38, 3e38, 3e38, 3e38], 0, 9, 3); // batch 2, row 3: slice 1 with 2 threads
    const model = sequential({ input: [4], seed: 3 }, dense({ units: 5 }), relu(), dense({ units: 3 }));
    model.params[0].value.fill(0.5);
    const before: number[][][] = [];
    const run = from(samples).pipe(
      batch(4),
      train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), workers: 2 }),
      tap(() => before.push(bits(model.params.map((p) => p.value)))),
    );
    const error = await lastValueFrom(run).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error).toMatchObject({ step: 2, firstLine: 6, lastLine: 9, location: { where: 'loss' } });
    expect(bits(model.params.map((p) => p.value))).toEqual(before[0]);
  });

  it('fit passes workers through to train', async () => {
    const run = async (workers: number) => {
      const model = mlp();
      const events = await lastValueFrom(
        fit(model, { trainSource: () => from(data(24, 8, 4)), epochs: 2, batchSize: 6, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), workers }).pipe(toArray()),
      );
      return { events, weights: model.params.map((p) => p.value) };
    };
    const two = await run(2);
    const one = await run(1);
    expect(two.events.filter((e) => e.type === 'epoch')).toHaveLength(2);
    expect(maxRelDiff(two.weights, one.weights)).toBeLessThan(ORDER_TOLERANCE);
  });

  it('workers must be a positive integer', () => {
    expect(() => parallelBackprop(mlp(), { loss: softmaxCrossEntropy(), workers: 0 })).toThrow('parallelBackprop: workers must be a positive integer, got 0');
    expect(() => train(mlp(), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), workers: 1.5 })).toThrow('parallelBackprop: workers must be a positive integer, got 1.5');
  });

  it('fit with workers but a given pool uses that pool and leaves it open', async () => {
    const model = mlp();
    const loss = softmaxCrossEntropy();
    const pool = createGradientPool(model, { loss, workers: 2 });
    const events = await lastValueFrom(fit(model, { trainSource: () => from(data(24, 8, 4)), epochs: 3, batchSize: 6, loss, optimizer: sgd({ lr: 0.1 }), workers: 2, pool }).pipe(toArray()));
    expect(events.filter((e) => e.type === 'epoch')).toHaveLength(3);
    expect(pool.stats()).toEqual({ started: 1, subscriptions: 3, isClosed: false });
    pool.close();
    expect(pool.stats().isClosed).toBe(true);
  });

  // Last of the parallelBackprop tests: turns on this file's WASM kernels for good (the createGradientPool tests below run with them, as the CLI does).
  it('with WASM kernels on, the workers use them too: still bitwise the slice sums', async () => {
    if (!(await initKernels())) return;
    const model = convNet();
    const [b] = await batches(data(32, 9, 64), 32);
    const [parallel] = await collectGrads(from([b]).pipe(parallelBackprop(model, { loss: softmaxCrossEntropy(), workers: 2 })));
    expect(bits(parallel.grads)).toEqual(bits(await sliceSums(model, b, 2)));
  });
});

describe('createGradientPool', () => {
  const loss = softmaxCrossEntropy();
  const optimizer = () => sgd({ lr: 0.2, momentum: 0.9 });

  /** Train `epochs` passes of 40 samples in batches of 8 with `train(model, trainWith)`. */
  async function epochs(model: Model, count: number, trainWith: { workers?: number; pool?: ReturnType<typeof createGradientPool> }) {
    const opt = optimizer();
    const state = createTrainingState(model, opt);
    for (let e = 0; e < count; e++) {
      await lastValueFrom(from(data(40, 5 + e, 4)).pipe(batch(8), train(model, { loss, optimizer: opt, state, ...trainWith }), toArray()));
    }
    return bits(model.params.map((p) => p.value));
  }

  it('serves several subscriptions with threads started once, bitwise as threads started per subscription', async () => {
    const model = mlp(11);
    const { options, allExited } = watchExits({ loss, workers: 3 });
    const pool = createGradientPool(model, options);
    expect(pool.stats()).toEqual({ started: 2, subscriptions: 0, isClosed: false });
    const kept = await epochs(model, 3, { pool });
    expect(pool.stats()).toEqual({ started: 2, subscriptions: 3, isClosed: false });
    const fresh = await epochs(mlp(11), 3, { workers: 3 });
    expect(kept).toEqual(fresh);
    pool.close();
    expect((await allExited).sort()).toEqual([1, 2]);
  });

  it('one subscription at a time; after close() a subscription errors', async () => {
    const model = mlp();
    const { options, allExited } = watchExits({ loss, workers: 2 });
    const pool = createGradientPool(model, options);
    const input = new Subject<Batch>();
    const first = input.pipe(pool.backprop).subscribe();
    const [b] = await batches(data(4, 1, 4), 4);
    await expect(lastValueFrom(from([b]).pipe(pool.backprop))).rejects.toThrow('parallelBackprop: a gradient pool serves one subscription at a time, and another one is active');
    first.unsubscribe();
    await expect(lastValueFrom(from([b]).pipe(pool.backprop))).resolves.toMatchObject({ lossSum: expect.any(Number) });
    pool.close();
    pool.close();
    await expect(lastValueFrom(from([b]).pipe(pool.backprop))).rejects.toThrow('parallelBackprop: the gradient pool is closed (close() was called)');
    expect(await allExited).toEqual([1]);
  });

  it('a worker failure closes the pool, saying why to later subscriptions', async () => {
    const { options, allExited } = watchExits({ loss, workers: 2 }, { worker: 1, step: 2, kind: 'throw', message: 'injected fault' });
    const pool = createGradientPool(mlp(), options);
    const bs = await batches(data(12, 3, 4), 4);
    await expect(lastValueFrom(from(bs).pipe(pool.backprop))).rejects.toThrow('parallelBackprop: gradient worker 1 failed on its slice of step 2: injected fault');
    expect(pool.stats().isClosed).toBe(true);
    await expect(lastValueFrom(from(bs).pipe(pool.backprop))).rejects.toThrow(
      'parallelBackprop: the gradient pool is closed (a gradient worker failed: parallelBackprop: gradient worker 1 failed on its slice of step 2: injected fault)',
    );
    expect(await allExited).toEqual([1]);
  });

  it('a worker asleep after a pause longer than its poll budget is still woken for the next step', async () => {
    const model = mlp(4);
    const pool = createGradientPool(model, { loss, workers: 2 });
    const bs = await batches(data(12, 4, 4), 6);
    const input = new Subject<Batch>();
    const got = collectGrads(input.pipe(pool.backprop));
    for (const b of bs) {
      input.next(b);
      // well past SPIN_MS: the worker has stopped polling and sleeps in Atomics.wait
      await new Promise((r) => setTimeout(r, 50));
    }
    input.complete();
    const records = await got;
    expect(records).toHaveLength(2);
    for (const [i, b] of bs.entries()) expect(bits(records[i].grads)).toEqual(bits(await sliceSums(model, b, 2)));
    pool.close();
  });

  it('a worker that stalls on a slice times out: the stream errors, the pool closes and its thread is ended', async () => {
    const { options, allExited } = watchExits({ loss, workers: 2, timeoutMs: 1000 }, { worker: 1, step: 2, kind: 'stall', message: '', stallMs: 60_000 });
    const pool = createGradientPool(mlp(), options);
    const bs = await batches(data(12, 3, 4), 4);
    // the timeout covers the worker's start-up too: give it time to be ready first, even on a busy machine
    await new Promise((r) => setTimeout(r, 1000));
    const t0 = performance.now();
    await expect(lastValueFrom(from(bs).pipe(pool.backprop))).rejects.toThrow('parallelBackprop: gradient worker 1 did not finish its slice of step 2 within 1000 ms');
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(pool.stats().isClosed).toBe(true);
    expect(await allExited).toEqual([1]);
  });

  it('an error on this thread (a bad batch) leaves the pool usable', async () => {
    const model = mlp();
    const pool = createGradientPool(model, { loss, workers: 2 });
    const [b] = await batches(data(6, 3, 4), 6);
    const bad: Batch = { ...b, x: { data: b.x.data.subarray(0, 20), shape: [6, 4] } };
    await expect(lastValueFrom(from([bad]).pipe(pool.backprop))).rejects.toThrow('forwardModel: expected shape [6, 4], got [6, 4] (batch of 6 samples)');
    const [viaPool] = await collectGrads(from([b]).pipe(pool.backprop));
    expect(bits(viaPool.grads)).toEqual(bits(await sliceSums(model, b, 2)));
    expect(pool.stats()).toEqual({ started: 1, subscriptions: 2, isClosed: false });
    pool.close();
  });

  it('train refuses a pool made for another model, loss, probe or size', () => {
    const model = mlp();
    const pool = createGradientPool(model, { loss, workers: 2 });
    const opt = sgd({ lr: 0.1 });
    expect(() => train(mlp(), { loss, optimizer: opt, pool })).toThrow('train: the gradient pool was created for another model');
    expect(() => train(model, { loss: meanSquaredError(), optimizer: opt, pool })).toThrow('train: the loss is meanSquaredError, but the gradient pool computes softmaxCrossEntropy');
    expect(() => train(model, { loss, optimizer: opt, pool, workers: 3 })).toThrow('train: workers is 3, but the gradient pool has 2 threads');
    expect(() => train(model, { loss, optimizer: opt, pool, internals: internals(model) })).toThrow("train: the internals probe differs from the gradient pool's (pass it to createGradientPool)");
    expect(() => createGradientPool(model, { loss, workers: -1 })).toThrow('createGradientPool: workers must be a positive integer, got -1');
    pool.close();
  });
});
