/**
 * fit with workers > 1 keeps ONE gradient pool for the whole run: its threads start once (not once per
 * epoch), are terminated when the run completes, errors or is unsubscribed, and the run is bitwise
 * reproducible and resumable from any step boundary. Worker threads are counted with the process's
 * own 'worker' event (emitted for every Worker this process creates), so fit needs no test hook.
 * The workers run the built dist/ (npm test builds first, via pretest).
 */
import type { Worker } from 'node:worker_threads';
import { concatMap, from, lastValueFrom, map, take, throwError, timer, toArray, type Observable } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { relu } from '../../../src/layers/activation.js';
import { dense } from '../../../src/layers/dense.js';
import { sequential } from '../../../src/layers/sequential.js';
import { exportOptimizerState, momentum, restoreOptimizerState } from '../../../src/ops/optimizers.js';
import { createTrainingState } from '../../../src/streams/training/applyOptimizer.js';
import type { SourcePosition } from '../../../src/streams/checkpoint/checkpointFormat.js';
import { fit, type FitBoundary, type FitEvent } from '../../../src/streams/training/fit.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import type { Sample } from '../../../src/streams/types.js';
import { bits, points } from '../samples.js';

/**
 * Worker threads this process starts while the watch is on, and a promise of all of them having
 * exited. Node emits 'worker' on a later tick than the Worker's construction, so both wait for a
 * setImmediate first (a synchronous fit can have ended, and closed its pool, before that tick).
 */
interface ThreadWatch {
  readonly started: () => Promise<number>;
  readonly allExited: () => Promise<number[]>;
  readonly stop: () => void;
}

function watchThreads(): ThreadWatch {
  const exits: Promise<number>[] = [];
  const onWorker = (w: Worker) => exits.push(new Promise((resolve) => w.once('exit', resolve)));
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  process.on('worker', onWorker);
  return {
    started: () => settle().then(() => exits.length),
    allExited: () => settle().then(() => Promise.all(exits)),
    stop: () => process.off('worker', onWorker),
  };
}

// 203 rows, batch 8, window 32: 26 steps an epoch (a partial last batch of 3 rows).
const data = points(203, 7);
const testSet = points(50, 8, undefined, 1000);
const source = (_epoch: number, start?: SourcePosition): Observable<Sample> => from(data.slice(start?.nextRecord ?? 0));
const net = () => sequential({ input: [2], seed: 3 }, dense({ units: 8 }), relu(), dense({ units: 2 }));
const optimizer = momentum({ lr: 0.05, momentum: 0.9 });
const STEPS_PER_EPOCH = 26;

interface Saved {
  readonly boundary: FitBoundary;
  readonly weights: Float32Array[];
  readonly optimizer: ReturnType<typeof exportOptimizerState>;
}

/** Everything but the timing fields, so two runs' events can be compared exactly. */
const untimed = (e: FitEvent) => (e.type === 'step' ? { ...e, samplesPerSecond: 0 } : { ...e, seconds: 0 });

/** A 3-epoch fit with `workers` threads, optionally resumed from a saved boundary. */
async function run(workers: number, options: { resume?: Saved; trainSource?: typeof source } = {}) {
  const m = net();
  const state = createTrainingState(m, optimizer);
  const { resume } = options;
  if (resume !== undefined) {
    m.params.forEach((p, i) => p.value.set(resume.weights[i]));
    restoreOptimizerState(state.optimizer, resume.optimizer);
    state.samples = resume.boundary.samples;
  }
  const saved: Saved[] = [];
  const b = resume?.boundary;
  const events = await lastValueFrom(
    fit(m, {
      trainSource: options.trainSource ?? source,
      testSource: () => from(testSet),
      epochs: 3,
      batchSize: 8,
      shuffle: { window: 32, seed: 11 },
      loss: softmaxCrossEntropy(),
      optimizer,
      state,
      workers,
      ...(b === undefined ? {} : { resume: { epoch: b.epoch, within: { shuffle: b.shuffle, position: b.isSourceDone ? null : b.position, progress: b.progress } } }),
      onBoundary: (boundary) => saved.push({ boundary, weights: m.params.map((p) => p.value.slice()), optimizer: exportOptimizerState(state.optimizer) }),
    }).pipe(toArray()),
  );
  return { events, saved, weights: bits(m.params.map((p) => p.value)) };
}

describe('fit with workers: one gradient pool for the whole run', () => {
  let threads: ThreadWatch;
  beforeEach(() => {
    threads = watchThreads();
  });
  afterEach(() => threads.stop());

  it('3 epochs with 2 workers start one thread once, end it at completion, and repeat bitwise', async () => {
    const a = await run(2);
    expect(a.events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3]);
    expect(a.events.filter((e) => e.type === 'step')).toHaveLength(3 * STEPS_PER_EPOCH);
    expect(await threads.started()).toBe(1);
    expect(await threads.allExited()).toHaveLength(1);
    const b = await run(2);
    expect(await threads.started()).toBe(2);
    expect(b.weights).toEqual(a.weights);
    expect(b.events.map(untimed)).toEqual(a.events.map(untimed));
    await threads.allExited();
  });

  it('3 workers start two threads once for all epochs', async () => {
    await run(3);
    expect(await threads.started()).toBe(2);
    expect(await threads.allExited()).toHaveLength(2);
  });

  it('1 worker starts no thread', async () => {
    await run(1);
    expect(await threads.started()).toBe(0);
  });

  it('unsubscribing in the middle of epoch 2 terminates the threads', async () => {
    // An asynchronous source, so the unsubscribe comes from outside, between two samples.
    const slow = (epoch: number, start?: SourcePosition) => source(epoch, start).pipe(concatMap((s) => timer(0).pipe(map(() => s))));
    const m = net();
    const steps: number[] = [];
    let resolveSeen: () => void = () => {};
    const seen = new Promise<void>((resolve) => (resolveSeen = resolve));
    const subscription = fit(m, { trainSource: slow, epochs: 3, batchSize: 8, loss: softmaxCrossEntropy(), optimizer, workers: 2 }).subscribe((e) => {
      if (e.type !== 'step') return;
      steps.push(e.step);
      if (e.step === STEPS_PER_EPOCH + 5) resolveSeen();
    });
    await seen;
    subscription.unsubscribe();
    expect(steps).toHaveLength(STEPS_PER_EPOCH + 5);
    expect(await threads.started()).toBe(1);
    expect(await threads.allExited()).toHaveLength(1);
  });

  it('take() ending the run inside an epoch closes the pool too', async () => {
    const m = net();
    const events = await lastValueFrom(fit(m, { trainSource: source, epochs: 3, batchSize: 8, loss: softmaxCrossEntropy(), optimizer, workers: 2 }).pipe(take(40), toArray()));
    expect(events).toHaveLength(40);
    expect(await threads.allExited()).toHaveLength(1);
  });

  it('a source error in epoch 2 reaches the subscriber and terminates the threads', async () => {
    const failing = (epoch: number, start?: SourcePosition) => (epoch === 2 ? throwError(() => new Error('disk gone')) : source(epoch, start));
    await expect(run(2, { trainSource: failing })).rejects.toThrow('disk gone');
    expect(await threads.started()).toBe(1);
    expect(await threads.allExited()).toHaveLength(1);
  });

  it('workers must be a positive integer', () => {
    expect(() => fit(net(), { trainSource: source, epochs: 1, batchSize: 8, loss: softmaxCrossEntropy(), optimizer, workers: 0 })).toThrow('fit: workers must be a positive integer, got 0');
  });

  it('resuming with 2 workers from step boundaries (inside epochs 1 and 2, in the flush) ends bitwise equal to the uninterrupted run', async () => {
    const full = await run(2);
    expect(full.saved).toHaveLength(3 * STEPS_PER_EPOCH);
    for (const k of [5, STEPS_PER_EPOCH - 1, STEPS_PER_EPOCH + 3]) {
      const cut = full.saved[k - 1];
      const resumed = await run(2, { resume: cut });
      expect(resumed.weights, `resumed at step ${k}`).toEqual(full.weights);
      const tail = full.events.filter((e) => (e.type === 'epoch' ? e.epoch >= cut.boundary.epoch : e.step > k));
      expect(resumed.events.map(untimed), `events after step ${k}`).toEqual(tail.map(untimed));
    }
    expect(await threads.started()).toBe(4);
    expect(await threads.allExited()).toHaveLength(4);
  });
});
