/**
 * deltaflow's side of the training bench, in this process: the W1 / W2 models built with
 * `sequential(...)`, the 156 in-memory mini-batches of 64 as deltaflow Batches, and a PassRunner that
 * trains k of them per pass with the library's training step.
 */
import { relu } from '../../src/layers/activation.js';
import { conv2d } from '../../src/layers/conv2d.js';
import { dense } from '../../src/layers/dense.js';
import { flatten } from '../../src/layers/flatten.js';
import { maxPool2d } from '../../src/layers/maxPool2d.js';
import { sequential, type Model } from '../../src/layers/sequential.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';
import { Workspace } from '../../src/ops/tensor.js';
import type { Batch, RowOrigin } from '../../src/streams/types.js';
import { PIXELS, type Digits } from './data.js';
import { UnsupportedError, type PassResult, type PassRunner, type RunnerInfo } from './runner.js';
import { BATCH, LEARNING_RATE, workloads, type WorkloadId } from './workloads.js';

const CLASSES = 10;

/** The workload's network (seeded, so every run starts from the same weights). */
export function benchModel(id: WorkloadId, seed = 1): Model {
  if (id === 'W1') {
    return sequential({ input: [784], seed }, dense({ units: 128 }), relu(), dense({ units: 64 }), relu(), dense({ units: 10 }));
  }
  return sequential(
    { input: [1, 28, 28], seed },
    conv2d({ filters: 6, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    conv2d({ filters: 16, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    flatten(),
    dense({ units: 120 }),
    relu(),
    dense({ units: 84 }),
    relu(),
    dense({ units: 10 }),
  );
}

/** floor(n / 64) full batches of the digits, x `[64, ...input]`, one-hot targets `[64, 10]`. */
export function benchBatches(digits: Digits, id: WorkloadId): Batch[] {
  const input = workloads[id].input;
  const nBatches = Math.floor(digits.n / BATCH);
  const batches: Batch[] = [];
  for (let b = 0; b < nBatches; b++) {
    const x = digits.images.slice(b * BATCH * PIXELS, (b + 1) * BATCH * PIXELS);
    const target = new Float32Array(BATCH * CLASSES);
    const labels = new Int32Array(BATCH);
    const origins: RowOrigin[] = [];
    for (let i = 0; i < BATCH; i++) {
      const row = b * BATCH + i;
      labels[i] = digits.labels[row];
      target[i * CLASSES + labels[i]] = 1;
      origins.push({ source: 'mnist-digits', line: row + 2, record: row, endOffset: 0 });
    }
    batches.push({ x: { data: x, shape: [BATCH, ...input] }, target: { data: target, shape: [BATCH, CLASSES] }, labels, m: BATCH, origins });
  }
  return batches;
}

/** One synchronous training step on a batch; returns the batch's mean loss. */
export type TrainStep = (batch: Batch) => number;

/**
 * Forward through every layer, softmax cross-entropy, deltas in reverse order, SGD θ ← θ − (η/m)·Σ∇.
 * NOTE: interim — used until src/streams exports its own step; it calls only layers and ops.
 */
export function layerStep(model: Model, eta: number): TrainStep {
  const wss = model.layers.map(() => new Workspace());
  const lossWs = new Workspace();
  const caches: unknown[] = new Array<unknown>(model.layers.length);
  return (batch) => {
    let a = batch.x;
    for (let i = 0; i < model.layers.length; i++) {
      const r = model.layers[i].forward(a, wss[i]);
      caches[i] = r.cache;
      a = r.y;
    }
    const nOut = batch.target.shape[1];
    const { loss, delta } = softmaxCrossEntropy(a.data, batch.target.data, batch.m, nOut, lossWs.f32('delta', batch.m * nOut));
    let deltaY = { data: delta, shape: a.shape };
    const scale = eta / batch.m;
    for (let i = model.layers.length - 1; i >= 0; i--) {
      const layer = model.layers[i];
      const r = layer.delta(deltaY, caches[i], wss[i], i > 0);
      layer.params.forEach((p, j) => {
        const g = r.grads[j];
        const v = p.value;
        for (let q = 0; q < v.length; q++) v[q] -= scale * g[q];
      });
      if (r.deltaX !== null) deltaY = { data: r.deltaX.data, shape: r.deltaX.shape };
    }
    return loss / batch.m;
  };
}

export interface DeltaflowRunnerOptions {
  readonly workload: WorkloadId;
  readonly digits: Digits;
  /** Label suffix and id suffix, e.g. workers. */
  readonly workers?: number;
}

/** deltaflow in this process, trained batch by batch from memory. */
export class DeltaflowRunner implements PassRunner {
  readonly id: string;
  readonly label: string;
  readonly workload: WorkloadId;
  private step: TrainStep | null = null;
  private batches: Batch[] = [];
  private cursor = 0;

  constructor(private readonly options: DeltaflowRunnerOptions) {
    this.workload = options.workload;
    const w = options.workers ?? 1;
    this.id = `deltaflow-${w}w`;
    this.label = w === 1 ? 'deltaflow' : `deltaflow, ${w} workers`;
  }

  async start(): Promise<RunnerInfo> {
    if ((this.options.workers ?? 1) > 1) throw new UnsupportedError(this.label, this.workload, 'no workers option in deltaflow yet');
    const model = benchModel(this.workload);
    this.batches = benchBatches(this.options.digits, this.workload);
    this.step = layerStep(model, LEARNING_RATE);
    return { version: '0.1.0', threads: this.options.workers ?? 1, note: 'layer step (interim)' };
  }

  async run(k: number): Promise<PassResult> {
    const step = this.step;
    if (step === null) throw new Error('DeltaflowRunner.run before start');
    let loss = NaN;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < k; i++) {
      loss = step(this.batches[this.cursor]);
      this.cursor = (this.cursor + 1) % this.batches.length;
    }
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    return { samples: k * BATCH, seconds, loss, cpuSeconds: (c.user + c.system) / 1e6 };
  }

  async close(): Promise<void> {
    this.step = null;
    this.batches = [];
  }
}
