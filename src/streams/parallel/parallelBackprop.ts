/**
 * Data-parallel backprop over worker_threads: a drop-in replacement for `backprop(model, { loss })`
 * (backprop.ts) that splits each batch of m rows into slices of ⌈m/N⌉ rows and computes them at the same
 * time — slice 0 on this thread through a kept-alive backprop subscription, slices 1…N−1 on N−1
 * gradient workers (gradientWorker.ts) — then emits ONE Backward for the whole batch:
 *
 *   grads   = Σ_s Σ_{x ∈ slice s} ∂C_x/∂θ, added in slice order s = 0, 1, …, N−1 in float64 and
 *             rounded to float32 once (so the result does not depend on which thread finishes first)
 *   lossSum = Σ_s lossSum_s,  correct = Σ_s correct_s,  output = the slices' outputs in row order
 *   batch   = the whole batch (averageGradients divides by the true m; origins are the real ones)
 *
 * Two ways to get it:
 *
 *   createGradientPool(model, { loss, workers })   starts the N−1 threads once and returns a pool whose
 *                                                 `backprop` operator can be subscribed again and again
 *                                                 (one subscription at a time) while the threads stay
 *                                                 up; `close()` ends them. fit() keeps one pool for all
 *                                                 its epochs; train(model, { pool }) uses a given one.
 *   parallelBackprop(model, { loss, workers })     a pool per subscription: started on subscribe,
 *                                                 closed on complete, error or unsubscribe.
 *
 * Numbers: each slice is computed by the same kernels as on this thread (the workers enable the WASM
 * kernels this thread has on when the pool is created: call initKernels() before; subscribing after
 * the kernels changed is an error), so the gradients are bitwise the float64-summed, float32-rounded
 * slice sums. They differ from a single-thread backprop of the whole batch only by float32 summation
 * order (the kernels add the rows of one slice at a time), a few ulps of the sum of |terms| — see the
 * tests for the bound. Two runs with the same N, seed and data give bitwise the same weights, whether
 * the threads are new or kept from an earlier subscription (a worker copies in the parameters at every
 * step, and its backprop keeps no state between steps but its buffers).
 *
 * What flows besides the sums: `tape`, `deltas` and `delta` are slice 0's (its rows only) and the
 * `internals` probe sees slice 0 only. So when a step goes non-finite, averageGradients' locateNonFinite
 * checks the whole input batch, the combined loss and gradients, but the layer outputs and δ of slice 0
 * only: a NaN born in another slice is reported as a non-finite loss (or gradient) rather than at its
 * layer. The NonFiniteError itself is raised the same way.
 *
 * Shared memory and handshake: sharedBatch.ts. Each step blocks this thread until the workers are
 * done, so the step stays synchronous inside `next` (DESIGN.md); between steps (and between
 * subscriptions) every worker is idle. Both sides poll briefly before they sleep in Atomics.wait
 * (spinThenWait.ts: at most SPIN_MS, adapted to how long the waits last, and only when every thread
 * has a core), since a kernel wake-up costs a small network's step a good part of its time.
 *
 * The reduction (sumSlices.ts) runs on this thread once the workers are done. With the WASM kernels
 * on, the workers' result areas live in this thread's kernel memory and the combined gradients are
 * resident, so with two threads the sum is one SIMD pass (sliceSumWasm.ts, bitwise the same numbers)
 * and averageGradients reads its result in place.
 *
 * Failures: a worker's error reaches the subscriber as a GradientWorkerError with the worker's
 * message; a worker that exits, or does not answer within `timeoutMs`, ends the stream with an error
 * instead of hanging. Any such worker failure also closes the pool (a later subscription gets an
 * error saying why); an error on this thread (a bad batch, slice 0's backprop) leaves it usable.
 * The threads are started when the pool is created (the first step waits for them to be ready),
 * unref'd (an idle pool never keeps the process alive), and told to quit and terminated by close().
 *
 * The model must be one `sequential`/`createModel` can rebuild from its layer specs (workers rebuild it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { defer, finalize, Observable, pipe, Subject, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { ShapeError, sizeOf, Workspace } from '../../ops/tensor.js';
import { convWasmIsFma, convWasmReady } from '../../ops/wasm/convWasm.js';
import { gemmWasmIsFma, wasmReady } from '../../ops/wasm/gemmWasm.js';
import { kernelArena, residentAddress, residentF32 } from '../../ops/wasm/kernelMemory.js';
import { sumTwoWasm } from '../../ops/wasm/sliceSumWasm.js';
import { backprop, type BackpropOptions } from '../training/backprop.js';
import type { Internals } from '../training/internals.js';
import { lossHead, type Backward, type Loss } from '../training/lossHead.js';
import {
  Command,
  Control,
  CONTROL_LENGTH,
  createResultArea,
  resultBytes,
  viewResultArea,
  createSliceArea,
  Ready,
  Status,
  batchRows,
  writeRows,
  type GradientWorkerData,
  type ResultArea,
  type SliceArea,
  type SliceMessage,
  type WorkerErrorMessage,
  type WorkerFault,
} from './sharedBatch.js';
import { SpinBudget, spinBudgetMs, spinThenWait } from './spinThenWait.js';
import { sumSlices } from './sumSlices.js';
import type { Batch } from '../types.js';

export type { WorkerFault } from './sharedBatch.js';

export interface ParallelBackpropOptions extends BackpropOptions {
  /** N: threads computing each batch (this one and N − 1 workers); 1 is the plain backprop. */
  readonly workers: number;
  /** Give up on a worker that has not started, or not finished a step, within this many ms; default 120 000. */
  readonly timeoutMs?: number;
  /**
   * Testing only: a fault to inject in a worker (its `step` counts the slices that worker has
   * computed since its pool started), and a callback told when each worker thread has exited.
   */
  readonly testHooks?: {
    readonly fault?: WorkerFault;
    readonly onExit?: (worker: number, code: number) => void;
  };
}

/** What createGradientPool takes: the same options as parallelBackprop. */
export type GradientPoolOptions = ParallelBackpropOptions;

/** A pool's counters, for tests and logs. */
export interface GradientPoolStats {
  /** Worker threads started over the pool's life: N − 1, at creation (never restarted). */
  readonly started: number;
  /** Subscriptions of `backprop` so far (fit: one per epoch). */
  readonly subscriptions: number;
  readonly isClosed: boolean;
}

/** N − 1 gradient worker threads kept up across subscriptions; see the file comment. */
export interface GradientPool {
  readonly model: Model;
  readonly workers: number;
  readonly loss: Loss;
  readonly internals: Internals | undefined;
  /**
   * backprop on the pool's threads. Subscribe it as often as needed, one subscription at a time
   * (a second one while another is active errors); it never closes the pool itself.
   */
  readonly backprop: OperatorFunction<Batch, Backward>;
  stats(): GradientPoolStats;
  /** Tell the workers to quit and terminate them; idempotent. A later subscription errors. */
  close(): void;
}

/** A gradient worker's error, with its message and the worker's own stack. */
export class GradientWorkerError extends Error {
  constructor(
    readonly worker: number,
    readonly workerErrorName: string,
    message: string,
    readonly workerStack: string,
  ) {
    super(message);
    this.name = 'GradientWorkerError';
  }
}

/** The built worker entry: next to this file in dist/, or dist/src/streams/parallel/ when running from TypeScript sources (vitest). */
function workerUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../../dist/src/streams/parallel/gradientWorker.js', here) : new URL('./gradientWorker.js', here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`parallelBackprop: worker entry ${fileURLToPath(url)} not found (run \`npm run build\`)`);
  return url;
}

/** `workers` and `timeoutMs`, checked; `who` names the function in the message. */
function checkOptions(who: string, options: ParallelBackpropOptions): { readonly workers: number; readonly timeoutMs: number } {
  const { workers } = options;
  if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`${who}: workers must be a positive integer, got ${workers}`);
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!(timeoutMs > 0)) throw new RangeError(`${who}: timeoutMs must be positive, got ${timeoutMs}`);
  return { workers, timeoutMs };
}

/** Main-thread side of one gradient worker. */
interface WorkerSlot {
  readonly index: number;
  readonly thread: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  readonly result: ResultArea;
  /** This thread's poll budget when it waits for this worker. */
  readonly spin: SpinBudget;
  /** Byte address of `result.grads` in this thread's kernel memory, or −1 when the area is a buffer of its own. */
  readonly gradsAt: number;
  slice: SliceArea | null;
  generation: number;
  seq: number;
}

/**
 * backprop on `workers` threads: one Backward per batch carrying the whole batch's Σ-gradients. The
 * threads live as long as one subscription (use createGradientPool to keep them across several).
 *
 * @example batches.pipe(parallelBackprop(model, { loss: softmaxCrossEntropy(), workers: 2 }), averageGradients())
 */
export function parallelBackprop(model: Model, options: ParallelBackpropOptions): OperatorFunction<Batch, Backward> {
  const { workers } = checkOptions('parallelBackprop', options);
  if (workers === 1) return backprop(model, options);
  return (source) =>
    defer(() => {
      const pool = createGradientPool(model, options);
      return source.pipe(
        pool.backprop,
        finalize(() => pool.close()),
      );
    });
}

/**
 * Start N − 1 gradient workers for `model` and return the pool; the caller closes it.
 *
 * @example
 * const pool = createGradientPool(model, { loss: softmaxCrossEntropy(), workers: 2 });
 * for (const epoch of [1, 2, 3]) await lastValueFrom(batches(epoch).pipe(train(model, { loss, optimizer, pool })));
 * pool.close();
 */
export function createGradientPool(model: Model, options: GradientPoolOptions): GradientPool {
  const { workers, timeoutMs } = checkOptions('createGradientPool', options);
  const nIn = sizeOf(model.input);
  const nOut = sizeOf(model.outShape);
  const sizes = model.params.map((p) => p.value.length);
  const nParams = sizes.reduce((a, b) => a + b, 0);
  const paramsSab = new SharedArrayBuffer(4 * nParams);
  const params = new Float32Array(paramsSab);
  // set once the threads start (a page has no cores to count, nor threads to start)
  let spinMs = 0;
  const kernels = { conv: convWasmReady(), gemm: wasmReady(), fma: convWasmIsFma() || gemmWasmIsFma() };
  const slots: WorkerSlot[] = [];
  let started = 0;
  let subscriptions = 0;
  let isReady = workers === 1;
  let isBusy = false;
  let closedBecause: string | null = null;

  function startWorker(url: URL, index: number): WorkerSlot {
    const controlSab = new SharedArrayBuffer(4 * CONTROL_LENGTH);
    const control = new Int32Array(controlSab);
    const { result, block } = resultArea();
    const { port1, port2 } = new MessageChannel();
    const data: GradientWorkerData = {
      index,
      input: model.input,
      specs: model.layers.map((l) => l.spec),
      seed: model.seed,
      loss: options.loss.name,
      kernels,
      control: controlSab,
      params: paramsSab,
      result: result.sab,
      resultOffset: result.stats.byteOffset,
      port: port2,
      spinMs,
      fault: options.testHooks?.fault ?? null,
    };
    const thread = new Worker(url, { workerData: data, transferList: [port2] });
    started++;
    thread.unref();
    // A kernel-memory block is reused once its view is collected: keep it until the thread has
    // exited, not only as long as the pool (close() does not wait for a busy worker to stop writing).
    if (block !== null) thread.once('exit', () => block.length);
    // Errors are reported through shared memory and the port; this listener only keeps an
    // 'error' event from becoming an uncaught exception after the pool has closed.
    thread.on('error', () => {});
    const onExit = options.testHooks?.onExit;
    if (onExit !== undefined) thread.on('exit', (code: number) => onExit(index, code));
    const gradsAt = block === null ? -1 : residentAddress(block) + (result.grads.byteOffset - result.stats.byteOffset);
    return { index, thread, port: port1, control, result, gradsAt, spin: new SpinBudget(spinMs), slice: null, generation: 0, seq: 0 };
  }

  /**
   * A worker's result area: a block of this thread's kernel memory when the WASM kernels are on
   * (sumTwoWasm then reads it in place, its last vector up to 3 floats past the gradients: the 4
   * floats of padding), else a SharedArrayBuffer of its own.
   */
  function resultArea(): { readonly result: ResultArea; readonly block: Float32Array | null } {
    const memory = kernelArena()?.memory;
    const block = memory === undefined ? null : residentF32(Math.ceil(resultBytes(nParams) / 4) + 4);
    if (block === null || !(block.buffer instanceof SharedArrayBuffer)) return { result: createResultArea(nParams), block: null };
    return { result: viewResultArea(block.buffer, block.byteOffset, nParams), block };
  }

  function close(because = 'close() was called'): void {
    if (closedBecause !== null) return;
    closedBecause = because;
    for (const slot of slots) {
      Atomics.store(slot.control, Control.command, Command.quit);
      Atomics.add(slot.control, Control.seq, 1);
      Atomics.notify(slot.control, Control.seq);
      slot.port.close();
      slot.thread.terminate().catch(() => {});
    }
  }

  /** A worker failed: the pool cannot go on (the worker may be dead or still busy). Close it, return the error to throw. */
  function broken<E extends Error>(err: E): E {
    close(`a gradient worker failed: ${err.message}`);
    return err;
  }

  function workerError(slot: WorkerSlot, what: string): GradientWorkerError {
    const received = receiveMessageOnPort(slot.port);
    const msg: WorkerErrorMessage = received?.message ?? { name: 'Error', message: 'no message', stack: '' };
    return broken(new GradientWorkerError(slot.index, msg.name, `parallelBackprop: gradient worker ${slot.index} ${what}: ${msg.message}`, msg.stack));
  }

  /**
   * Block until `isDone()` (woken through control[index]), or the worker dies, or timeoutMs passes;
   * polls first for up to `spin.ms` (spinThenWait.ts).
   */
  function waitFor(slot: WorkerSlot, index: number, isDone: () => boolean, what: string, spin: SpinBudget | null = null): void {
    const t0 = performance.now();
    const deadline = t0 + timeoutMs;
    for (let round = 0; ; round++) {
      const seen = Atomics.load(slot.control, index);
      if (isDone()) {
        if (round > 0) spin?.record(performance.now() - t0);
        return;
      }
      if (Atomics.load(slot.control, Control.status) === Status.dead) {
        throw broken(new Error(`parallelBackprop: gradient worker ${slot.index} exited while ${what}`));
      }
      const left = deadline - performance.now();
      if (left <= 0) throw broken(new Error(`parallelBackprop: gradient worker ${slot.index} did not finish ${what} within ${timeoutMs} ms`));
      spinThenWait(slot.control, index, seen, round === 0 && spin !== null ? Math.min(spin.ms, left) : 0, Math.min(left, 1000));
    }
  }

  function awaitReady(): void {
    for (const slot of slots) {
      waitFor(slot, Control.ready, () => Atomics.load(slot.control, Control.ready) !== Ready.starting, 'starting');
      if (Atomics.load(slot.control, Control.ready) === Ready.failed) throw workerError(slot, 'failed to start');
    }
    isReady = true;
  }

  /** Hand rows [start, start + rows) to a worker and wake it. */
  function post(slot: WorkerSlot, batch: Batch, start: number, rows: number): void {
    if (slot.slice === null || slot.slice.capacity < rows) {
      slot.slice = createSliceArea(rows, nIn, nOut);
      slot.generation++;
      const msg: SliceMessage = { generation: slot.generation, capacity: rows, sab: slot.slice.sab };
      slot.port.postMessage(msg);
    }
    writeRows(slot.slice, batch, start, rows, nIn, nOut);
    const c = slot.control;
    Atomics.store(c, Control.generation, slot.generation);
    Atomics.store(c, Control.rows, rows);
    Atomics.store(c, Control.hasLabels, batch.labels === null ? 0 : 1);
    Atomics.store(c, Control.command, Command.step);
    slot.seq++;
    Atomics.store(c, Control.seq, slot.seq);
    Atomics.notify(c, Control.seq);
  }

  function awaitDone(slot: WorkerSlot): void {
    waitFor(slot, Control.done, () => Atomics.load(slot.control, Control.done) === slot.seq, `its slice of step ${slot.seq}`, slot.spin);
    if (Atomics.load(slot.control, Control.status) === Status.error) throw workerError(slot, `failed on its slice of step ${slot.seq}`);
  }

  function checkBatch(batch: Batch): void {
    const { m } = batch;
    if (batch.x.data.length !== m * nIn || batch.x.shape[0] !== m) {
      throw new ShapeError('forwardModel', [m, ...model.input], batch.x.shape, `batch of ${m} samples`);
    }
    if (batch.target.data.length !== m * nOut) throw new ShapeError('parallelBackprop', [m, nOut], batch.target.shape, 'batch target vs. model output');
    if (batch.labels !== null && batch.labels.length !== m) throw new ShapeError('parallelBackprop', [m], [batch.labels.length], 'labels');
  }

  /** Why a subscription cannot start now, or null. */
  function refusal(): string | null {
    if (closedBecause !== null) return `parallelBackprop: the gradient pool is closed (${closedBecause})`;
    if (isBusy) return 'parallelBackprop: a gradient pool serves one subscription at a time, and another one is active';
    if (convWasmReady() !== kernels.conv || wasmReady() !== kernels.gemm) {
      return 'parallelBackprop: the WASM kernels were turned on after the gradient pool was created, so its workers would sum in another order (call initKernels() first)';
    }
    return null;
  }

  const poolBackprop: OperatorFunction<Batch, Backward> = (source) =>
    new Observable<Backward>((subscriber) => {
      const refused = refusal();
      if (refused !== null) {
        subscriber.error(new Error(refused));
        return;
      }
      isBusy = true;
      subscriptions++;
      // Per subscription: this thread's backprop (kept alive, driven synchronously) and the combined buffers.
      const ws = new Workspace();
      const local = new Subject<Batch>();
      let localOut: Backward | null = null;
      let localFailure: { readonly error: unknown } | null = null;
      const localSubscription = local.pipe(backprop(model, options)).subscribe({
        next: (b) => (localOut = b),
        error: (error: unknown) => (localFailure = { error }),
      });
      let isReleased = false;
      /** Done with the pool: at complete or error (a synchronous source may subscribe the pool again from there) or unsubscribe. */
      function release(): void {
        if (isReleased) return;
        isReleased = true;
        isBusy = false;
        localSubscription.unsubscribe();
      }

      function runLocal(batch: Batch): Backward {
        localOut = null;
        local.next(batch);
        if (localFailure !== null) throw localFailure.error;
        if (localOut === null) throw new Error('parallelBackprop: backprop emitted nothing for a slice');
        return localOut;
      }

      /** Slice 0's record with the workers' slices added in slice order. */
      function combine(batch: Batch, b0: Backward, used: readonly WorkerSlot[], rows: number): Backward {
        let offset = 0;
        const others = used.map((slot) => slot.result.grads);
        const grads = b0.grads.map((layerGrads, i) => {
          if (layerGrads === undefined) throw new Error(`parallelBackprop: layer ${i} has no gradients`);
          return layerGrads.map((g0, k) => {
            // resident (when the kernels are on) so that sumTwoWasm writes it and averageGradients reads it in place
            const sum = ws.residentF32(`grad ${i}.${k}`, g0.length);
            const isSummed = used.length === 1 && used[0].gradsAt >= 0 && sumTwoWasm(sum, g0, used[0].gradsAt + 4 * offset);
            if (!isSummed) sumSlices(sum, g0, others, offset);
            offset += g0.length;
            return sum;
          });
        });
        let lossSum = b0.lossSum;
        let correct = b0.correct;
        const output = ws.f32('output', batch.m * nOut);
        output.set(b0.output.data.subarray(0, rows * nOut));
        used.forEach((slot, j) => {
          lossSum += slot.result.stats[0];
          if (correct !== null) correct += slot.result.stats[1];
          const start = (j + 1) * rows;
          const n = Math.min(rows, batch.m - start);
          if (slot.slice !== null) output.set(slot.slice.output.subarray(0, n * nOut), start * nOut);
        });
        return { ...b0, batch, output: { data: output, shape: [batch.m, ...model.outShape] }, lossSum, loss: lossSum / batch.m, correct, grads };
      }

      function step(batch: Batch): Backward {
        if (closedBecause !== null) throw new Error(`parallelBackprop: the gradient pool is closed (${closedBecause})`);
        const { m } = batch;
        if (m < 2 || workers === 1) return runLocal(batch);
        checkBatch(batch);
        const rows = Math.ceil(m / workers);
        const used = slots.slice(0, Math.ceil(m / rows) - 1);
        if (!isReady) awaitReady();
        let offset = 0;
        for (const p of model.params) {
          params.set(p.value, offset);
          offset += p.value.length;
        }
        used.forEach((slot, j) => {
          const start = (j + 1) * rows;
          post(slot, batch, start, Math.min(rows, m - start));
        });
        let b0: Backward;
        try {
          b0 = runLocal(batchRows(batch, 0, rows, nIn, nOut));
        } catch (err) {
          // Let the workers finish first, so the pool is idle (and usable) after this error.
          used.forEach(awaitDone);
          throw err;
        }
        used.forEach(awaitDone);
        return combine(batch, b0, used, rows);
      }

      const upstream = source.subscribe({
        next(batch) {
          let out: Backward;
          try {
            out = step(batch);
          } catch (err) {
            release();
            subscriber.error(err);
            return;
          }
          subscriber.next(out);
        },
        error: (err) => {
          release();
          subscriber.error(err);
        },
        complete: () => {
          release();
          subscriber.complete();
        },
      });
      return () => {
        upstream.unsubscribe();
        release();
      };
    });

  try {
    if (workers > 1) {
      const url = workerUrl();
      spinMs = spinBudgetMs(workers);
      for (let i = 1; i < workers; i++) slots.push(startWorker(url, i));
    }
  } catch (err) {
    close(`it failed to start: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  }
  return {
    model,
    workers,
    loss: options.loss,
    internals: options.internals,
    backprop: poolBackprop,
    stats: () => ({ started, subscriptions, isClosed: closedBecause !== null }),
    close: () => close(),
  };
}
