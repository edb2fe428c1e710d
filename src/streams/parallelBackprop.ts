/**
 * Data-parallel backprop over worker_threads: a drop-in replacement for `backprop(model, { loss })`
 * (train.ts) that splits each batch of m rows into slices of ⌈m/N⌉ rows and computes them at the same
 * time — slice 0 on this thread through a kept-alive backprop subscription, slices 1…N−1 on N−1
 * gradient workers (gradientWorker.ts) — then emits ONE Backward for the whole batch:
 *
 *   grads   = Σ_s Σ_{x ∈ slice s} ∂C_x/∂θ, added in slice order s = 0, 1, …, N−1 in float64 and
 *             rounded to float32 once (so the result does not depend on which thread finishes first)
 *   lossSum = Σ_s lossSum_s,  correct = Σ_s correct_s,  output = the slices' outputs in row order
 *   batch   = the whole batch (averageGradients divides by the true m; origins are the real ones)
 *
 * Numbers: each slice is computed by the same kernels as on this thread (the workers enable the WASM
 * kernels this thread has on when the operator is subscribed: call initKernels() before), so the
 * gradients are bitwise the float64-summed, float32-rounded slice sums. They differ from a
 * single-thread backprop of the whole batch only by float32 summation order (the kernels add the
 * rows of one slice at a time), a few ulps of the sum of |terms| — see the tests for the bound.
 * Two runs with the same N, seed and data give bitwise the same weights.
 *
 * What flows besides the sums: `tape`, `deltas` and `delta` are slice 0's (its rows only) and the
 * `internals` probe sees slice 0 only. So when a step goes non-finite, averageGradients' locateNonFinite
 * checks the whole input batch, the combined loss and gradients, but the layer outputs and δ of slice 0
 * only: a NaN born in another slice is reported as a non-finite loss (or gradient) rather than at its
 * layer. The NonFiniteError itself is raised the same way.
 *
 * Shared memory and handshake: sharedBatch.ts. Each step blocks this thread in Atomics.wait until the
 * workers are done, so the step stays synchronous inside `next` (DESIGN.md). A worker's error reaches
 * the subscriber as a GradientWorkerError with the worker's message; a worker that exits, or does not
 * answer within `timeoutMs`, ends the stream with an error instead of hanging. Workers are started on
 * subscribe (the first step waits for them to be ready), unref'd, and told to quit and terminated on
 * complete, error or unsubscribe.
 *
 * The model must be one `sequential`/`createModel` can rebuild from its layer specs (workers rebuild it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { Observable, pipe, Subject, type OperatorFunction } from 'rxjs';
import type { Model } from '../layers/sequential.js';
import { ShapeError, sizeOf, Workspace } from '../ops/tensor.js';
import { convWasmReady } from '../ops/wasm/convWasm.js';
import { wasmReady } from '../ops/wasm/gemmWasm.js';
import { deltaModel } from './delta.js';
import { forwardModel } from './forward.js';
import { lossHead, type Backward } from './lossHead.js';
import {
  Command,
  Control,
  CONTROL_LENGTH,
  createResultArea,
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
import type { BackpropOptions } from './train.js';
import type { Batch } from './types.js';

export type { WorkerFault } from './sharedBatch.js';

export interface ParallelBackpropOptions extends BackpropOptions {
  /** N: threads computing each batch (this one and N − 1 workers); 1 is the plain backprop. */
  readonly workers: number;
  /** Give up on a worker that has not started, or not finished a step, within this many ms; default 120 000. */
  readonly timeoutMs?: number;
  /** Testing only: a fault to inject in a worker, and a callback told when each worker thread has exited. */
  readonly testHooks?: {
    readonly fault?: WorkerFault;
    readonly onExit?: (worker: number, code: number) => void;
  };
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

/** backprop (train.ts) composed here, so train.ts can import this file without an import cycle. */
function localBackprop(model: Model, options: BackpropOptions): OperatorFunction<Batch, Backward> {
  const { internals } = options;
  return pipe(forwardModel(model, { internals }), lossHead(options.loss), deltaModel(model, { internals }));
}

/** The built worker entry: next to this file in dist/, or dist/src/streams/ when running from TypeScript sources (vitest). */
function workerUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../dist/src/streams/gradientWorker.js', here) : new URL('./gradientWorker.js', here);
  if (!existsSync(fileURLToPath(url))) throw new Error(`parallelBackprop: worker entry ${fileURLToPath(url)} not found (run \`npm run build\`)`);
  return url;
}

/** Main-thread side of one gradient worker. */
interface WorkerSlot {
  readonly index: number;
  readonly thread: Worker;
  readonly port: MessagePort;
  readonly control: Int32Array;
  readonly result: ResultArea;
  slice: SliceArea | null;
  generation: number;
  seq: number;
}

/**
 * backprop on `workers` threads: one Backward per batch carrying the whole batch's Σ-gradients.
 *
 * @example batches.pipe(parallelBackprop(model, { loss: softmaxCrossEntropy(), workers: 2 }), averageGradients())
 */
export function parallelBackprop(model: Model, options: ParallelBackpropOptions): OperatorFunction<Batch, Backward> {
  const { workers } = options;
  if (!(Number.isInteger(workers) && workers >= 1)) throw new RangeError(`parallelBackprop: workers must be a positive integer, got ${workers}`);
  const timeoutMs = options.timeoutMs ?? 120_000;
  if (!(timeoutMs > 0)) throw new RangeError(`parallelBackprop: timeoutMs must be positive, got ${timeoutMs}`);
  if (workers === 1) return localBackprop(model, options);
  const nIn = sizeOf(model.input);
  const nOut = sizeOf(model.outShape);
  const sizes = model.params.map((p) => p.value.length);
  const nParams = sizes.reduce((a, b) => a + b, 0);

  return (source) =>
    new Observable<Backward>((subscriber) => {
      // Per subscription: the threads, the shared buffers, this thread's backprop and the combined buffers.
      const paramsSab = new SharedArrayBuffer(4 * nParams);
      const params = new Float32Array(paramsSab);
      const kernels = { conv: convWasmReady(), gemm: wasmReady() };
      const url = workerUrl();
      const slots: WorkerSlot[] = [];
      let isReady = false;
      let isStopped = false;
      const ws = new Workspace();
      // float64 partial sums of one parameter tensor at a time.
      const sums = new Float64Array(Math.max(0, ...sizes));

      function startWorker(index: number): WorkerSlot {
        const controlSab = new SharedArrayBuffer(4 * CONTROL_LENGTH);
        const control = new Int32Array(controlSab);
        const result = createResultArea(nParams);
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
          port: port2,
          fault: options.testHooks?.fault ?? null,
        };
        const thread = new Worker(url, { workerData: data, transferList: [port2] });
        thread.unref();
        // Errors are reported through shared memory and the port; this listener only keeps an
        // 'error' event from becoming an uncaught exception after the stream has ended.
        thread.on('error', () => {});
        const onExit = options.testHooks?.onExit;
        if (onExit !== undefined) thread.on('exit', (code: number) => onExit(index, code));
        return { index, thread, port: port1, control, result, slice: null, generation: 0, seq: 0 };
      }

      function stop(): void {
        if (isStopped) return;
        isStopped = true;
        for (const slot of slots) {
          Atomics.store(slot.control, Control.command, Command.quit);
          Atomics.add(slot.control, Control.seq, 1);
          Atomics.notify(slot.control, Control.seq);
          slot.port.close();
          slot.thread.terminate().catch(() => {});
        }
      }

      function workerError(slot: WorkerSlot, what: string): GradientWorkerError {
        const received = receiveMessageOnPort(slot.port);
        const msg: WorkerErrorMessage = received?.message ?? { name: 'Error', message: 'no message', stack: '' };
        return new GradientWorkerError(slot.index, msg.name, `parallelBackprop: gradient worker ${slot.index} ${what}: ${msg.message}`, msg.stack);
      }

      /** Block until `isDone()` (woken through control[index]), or the worker dies, or timeoutMs passes. */
      function waitFor(slot: WorkerSlot, index: number, isDone: () => boolean, what: string): void {
        const deadline = performance.now() + timeoutMs;
        for (;;) {
          const seen = Atomics.load(slot.control, index);
          if (isDone()) return;
          if (Atomics.load(slot.control, Control.status) === Status.dead) {
            throw new Error(`parallelBackprop: gradient worker ${slot.index} exited while ${what}`);
          }
          const left = deadline - performance.now();
          if (left <= 0) throw new Error(`parallelBackprop: gradient worker ${slot.index} did not finish ${what} within ${timeoutMs} ms`);
          Atomics.wait(slot.control, index, seen, Math.min(left, 1000));
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
        waitFor(slot, Control.done, () => Atomics.load(slot.control, Control.done) === slot.seq, `its slice of step ${slot.seq}`);
        if (Atomics.load(slot.control, Control.status) === Status.error) throw workerError(slot, `failed on its slice of step ${slot.seq}`);
      }

      // This thread's slice: one backprop subscription kept alive and driven synchronously.
      const local = new Subject<Batch>();
      let localOut: Backward | null = null;
      let localFailure: { readonly error: unknown } | null = null;
      const localSubscription = local.pipe(localBackprop(model, options)).subscribe({
        next: (b) => (localOut = b),
        error: (error: unknown) => (localFailure = { error }),
      });
      function runLocal(batch: Batch): Backward {
        localOut = null;
        local.next(batch);
        if (localFailure !== null) throw localFailure.error;
        if (localOut === null) throw new Error('parallelBackprop: backprop emitted nothing for a slice');
        return localOut;
      }

      function checkBatch(batch: Batch): void {
        const { m } = batch;
        if (batch.x.data.length !== m * nIn || batch.x.shape[0] !== m) {
          throw new ShapeError('forwardModel', [m, ...model.input], batch.x.shape, `batch of ${m} samples`);
        }
        if (batch.target.data.length !== m * nOut) throw new ShapeError('parallelBackprop', [m, nOut], batch.target.shape, 'batch target vs. model output');
        if (batch.labels !== null && batch.labels.length !== m) throw new ShapeError('parallelBackprop', [m], [batch.labels.length], 'labels');
      }

      /** Slice 0's record with the workers' slices added in slice order. */
      function combine(batch: Batch, b0: Backward, used: readonly WorkerSlot[], rows: number): Backward {
        let offset = 0;
        const grads = b0.grads.map((layerGrads, i) => {
          if (layerGrads === undefined) throw new Error(`parallelBackprop: layer ${i} has no gradients`);
          return layerGrads.map((g0, k) => {
            const n = g0.length;
            const acc = sums.subarray(0, n);
            acc.set(g0);
            for (const slot of used) {
              const g = slot.result.grads;
              for (let e = 0; e < n; e++) acc[e] += g[offset + e];
            }
            const sum = ws.f32(`grad ${i}.${k}`, n);
            sum.set(acc); // the one rounding to float32
            offset += n;
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
        const { m } = batch;
        if (m < 2) return runLocal(batch);
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
        const b0 = runLocal(batchRows(batch, 0, rows, nIn, nOut));
        used.forEach(awaitDone);
        return combine(batch, b0, used, rows);
      }

      try {
        for (let i = 1; i < workers; i++) slots.push(startWorker(i));
      } catch (err) {
        stop();
        throw err;
      }
      const upstream = source.subscribe({
        next(batch) {
          let out: Backward;
          try {
            out = step(batch);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next(out);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
      return () => {
        upstream.unsubscribe();
        localSubscription.unsubscribe();
        stop();
      };
    });
}
