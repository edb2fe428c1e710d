/**
 * A gradient worker (worker_threads entry, started by a gradient pool, parallelBackprop.ts): it rebuilds the model from
 * its specs, keeps ONE `backprop` subscription alive (its workspaces persist from step to step), and
 * then loops synchronously: wait on the control block's `seq` (polling first, spinThenWait.ts), copy the current parameters into its
 * model, push its slice of the batch through backprop, write the slice's Σ-gradients, lossSum, correct
 * and output to shared memory, store `done = seq`, notify. Layout and handshake: sharedBatch.ts.
 * It lives as long as its pool — across all the subscriptions (fit: epochs) the pool serves — and
 * keeps nothing between steps but its buffers, so a kept worker computes what a new one would.
 *
 * The loop never returns to the event loop (Atomics.wait blocks), so everything it says goes through
 * shared memory; an error's text goes on the MessagePort, which the main thread reads synchronously
 * with receiveMessageOnPort once `status` says error. If the thread exits for any reason, the 'exit'
 * handler marks it dead and wakes the main thread.
 *
 * NOTE: the kernels must be the main thread's (kernels.ts: WASM and TypeScript sum in different
 * orders, FMA rounds differently), so this enables exactly the WASM kernels the main thread had on,
 * with its FMA choice.
 */
import { isMainThread, receiveMessageOnPort, workerData } from 'node:worker_threads';
import type { Model } from '../../layers/sequential.js';
import { sizeOf } from '../../ops/tensor.js';
import type { Backward, Loss } from '../training/lossHead.js';
import {
  Command,
  Control,
  Ready,
  Status,
  sliceBatch,
  viewResultArea,
  viewSliceArea,
  type GradientWorkerData,
  type SliceArea,
  type SliceMessage,
  type WorkerErrorMessage,
} from './sharedBatch.js';
import { SpinBudget, spinThenWait, Waited } from './spinThenWait.js';
import type { Batch } from '../types.js';

/**
 * The model, kernel and stream modules, imported only after the 'exit' handler is in place, so even a
 * module that fails to load is reported (as a startup failure) instead of leaving the main thread
 * waiting. (The static imports above, sharedBatch and tensor, import nothing themselves.)
 */
async function loadModules() {
  const [rxjs, sequential, kernelSet, convWasm, gemmWasm, lossHead, backpropModule] = await Promise.all([
    import('rxjs'),
    import('../../layers/sequential.js'),
    import('../../ops/wasm/kernelSet.js'),
    import('../../ops/wasm/convWasm.js'),
    import('../../ops/wasm/gemmWasm.js'),
    import('../training/lossHead.js'),
    import('../training/backprop.js'),
  ]);
  const losses: Record<Loss['name'], () => Loss> = { softmaxCrossEntropy: lossHead.softmaxCrossEntropy, meanSquaredError: lossHead.meanSquaredError };
  return {
    Subject: rxjs.Subject,
    createModel: sequential.createModel,
    chooseKernelSet: kernelSet.chooseKernelSet,
    initConvWasm: convWasm.initConvWasm,
    initWasm: gemmWasm.initWasm,
    losses,
    backprop: backpropModule.backprop,
  };
}
type Modules = Awaited<ReturnType<typeof loadModules>>;

function errorMessage(err: unknown): WorkerErrorMessage {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack ?? '' };
  return { name: 'Error', message: String(err), stack: '' };
}

async function enableKernels(mods: Modules, kernels: GradientWorkerData['kernels']): Promise<void> {
  // the main thread's set, whatever this thread's environment says (FMA rounds differently)
  await mods.chooseKernelSet(kernels.conv || kernels.gemm ? { wasm: true, fma: kernels.fma } : { wasm: false });
  const [conv, gemm] = await Promise.all([kernels.conv ? mods.initConvWasm() : false, kernels.gemm ? mods.initWasm() : false]);
  if (conv !== kernels.conv || gemm !== kernels.gemm) {
    throw new Error('gradientWorker: could not enable the WASM kernels the main thread uses, so its numbers would differ');
  }
}

/** One kept-alive backprop subscription, driven synchronously. */
function keepBackprop(mods: Modules, model: Model, loss: Loss): (batch: Batch) => Backward {
  const input = new mods.Subject<Batch>();
  let last: Backward | null = null;
  let failure: { readonly error: unknown } | null = null;
  input.pipe(mods.backprop(model, { loss })).subscribe({
    next: (b) => (last = b),
    error: (error: unknown) => (failure = { error }),
  });
  return (batch) => {
    last = null;
    input.next(batch);
    if (failure !== null) throw failure.error;
    if (last === null) throw new Error('gradientWorker: backprop emitted nothing for a slice');
    return last;
  };
}

async function run(data: GradientWorkerData): Promise<void> {
  const control = new Int32Array(data.control);
  const { port } = data;
  let mods: Modules;
  let model: Model;
  let loss: Loss;
  try {
    mods = await loadModules();
    await enableKernels(mods, data.kernels);
    loss = mods.losses[data.loss]();
    // Placeholder values: the real ones are copied in at every step.
    model = mods.createModel(data.input, data.specs, data.seed);
  } catch (err) {
    port.postMessage(errorMessage(err));
    Atomics.store(control, Control.ready, Ready.failed);
    Atomics.notify(control, Control.ready);
    return;
  }
  const nIn = sizeOf(model.input);
  const nOut = sizeOf(model.outShape);
  const nParams = model.params.reduce((n, p) => n + p.value.length, 0);
  const params = new Float32Array(data.params, 0, nParams);
  const result = viewResultArea(data.result, data.resultOffset, nParams);
  const step = keepBackprop(mods, model, loss);
  let slice: SliceArea | null = null;
  let generation = 0;
  let steps = 0;

  function receiveSlice(want: number): void {
    while (generation !== want) {
      const received = receiveMessageOnPort(port);
      if (received === undefined) throw new Error(`gradientWorker ${data.index}: slice buffer generation ${want} was announced but never posted`);
      const msg: SliceMessage = received.message;
      slice = viewSliceArea(msg.sab, msg.capacity, nIn, nOut);
      generation = msg.generation;
    }
  }

  function compute(): void {
    receiveSlice(Atomics.load(control, Control.generation));
    if (slice === null) throw new Error(`gradientWorker ${data.index}: no slice buffer`);
    const rows = Atomics.load(control, Control.rows);
    const hasLabels = Atomics.load(control, Control.hasLabels) === 1;
    let offset = 0;
    for (const p of model.params) {
      p.value.set(params.subarray(offset, offset + p.value.length));
      offset += p.value.length;
    }
    steps++;
    const { fault } = data;
    if (fault !== null && fault.worker === data.index && fault.step === steps) {
      if (fault.kind === 'exit') process.exit(1);
      if (fault.kind === 'stall') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, fault.stallMs ?? 0);
      else throw new Error(fault.message);
    }
    const b = step(sliceBatch(slice, rows, model.input, nOut, hasLabels));
    offset = 0;
    b.grads.forEach((layerGrads, i) => {
      if (layerGrads === undefined) throw new Error(`gradientWorker ${data.index}: layer ${i} has no gradients`);
      for (const g of layerGrads) {
        result.grads.set(g, offset);
        offset += g.length;
      }
    });
    result.stats[0] = b.lossSum;
    result.stats[1] = b.correct ?? NaN;
    slice.output.set(b.output.data.subarray(0, rows * nOut));
  }

  Atomics.store(control, Control.ready, Ready.ready);
  Atomics.notify(control, Control.ready);
  let seen = 0;
  const spin = new SpinBudget(data.spinMs);
  for (;;) {
    const t0 = performance.now();
    while (spinThenWait(control, Control.seq, seen, spin.ms, Infinity) === Waited.timedOut);
    spin.record(performance.now() - t0);
    seen = Atomics.load(control, Control.seq);
    if (Atomics.load(control, Control.command) === Command.quit) break;
    let status: number = Status.ok;
    try {
      compute();
    } catch (err) {
      port.postMessage(errorMessage(err));
      status = Status.error;
    }
    Atomics.store(control, Control.status, status);
    Atomics.store(control, Control.done, seen);
    Atomics.notify(control, Control.done);
  }
  port.close();
}

if (isMainThread) throw new Error('gradientWorker.ts is a worker_threads entry; use parallelBackprop() instead');
const data: GradientWorkerData = workerData;
const control = new Int32Array(data.control);
process.on('exit', () => {
  Atomics.store(control, Control.status, Status.dead);
  Atomics.notify(control, Control.done);
  Atomics.notify(control, Control.ready);
});
await run(data);
