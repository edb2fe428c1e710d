/**
 * deltaflow's side of the training bench, in this process: the W1 / W2 models built with
 * `sequential(...)`, the 156 in-memory mini-batches of 64 as deltaflow Batches, and a PassRunner that
 * trains k of them per pass with the library's `train` operator (softmax cross-entropy, plain SGD).
 */
import { readFileSync } from 'node:fs';
import { Subject } from 'rxjs';
import {
  sequential,
  sgd,
  softmaxCrossEntropy,
  train,
  type Batch,
  type Model,
  type RowOrigin,
  type StepMetrics,
} from '../../src/index.js';
import { presetSpecs } from '../presets.js';
import { PIXELS, type Digits } from './data.js';
import type { PassResult, PassRunner, RunnerInfo } from './runner.js';
import { BATCH, LEARNING_RATE, workloads, type WorkloadId } from './workloads.js';

const CLASSES = 10;

/** deltaflow's package.json version (two levels up from scripts/bench, three from dist/scripts/bench). */
export function deltaflowVersion(): string {
  for (const rel of ['../../package.json', '../../../package.json']) {
    try {
      const pkg: unknown = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8'));
      if (typeof pkg === 'object' && pkg !== null && 'name' in pkg && pkg.name === 'deltaflow' && 'version' in pkg) return String(pkg.version);
    } catch {
      // not at this level
    }
  }
  return 'unknown';
}

/**
 * The workload's network (seeded, so every run starts from the same weights): W1 is the `mlp` preset
 * with hidden widths [128, 64], W2 the `lenet` preset (scripts/presets.ts), 10 outputs, no sigmoid.
 */
export function benchModel(id: WorkloadId, seed = 1): Model {
  const input = workloads[id].input;
  const specs = id === 'W1' ? presetSpecs('mlp', { input, outputs: CLASSES, hidden: [128, 64] }) : presetSpecs('lenet', { input, outputs: CLASSES });
  return sequential({ input, seed }, ...specs);
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
 * The library's training step as a function: one long-lived subscription of
 * `train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr }) })` fed through a Subject, so
 * the operators' workspaces persist across batches as in a real streaming run. Every step runs
 * synchronously inside `next`, so the metrics are there when `next` returns.
 */
export function trainStep(model: Model, lr: number, workers?: number): { step: TrainStep; stop: () => void } {
  const batches = new Subject<Batch>();
  let last: StepMetrics | null = null;
  let failure: unknown = null;
  const sub = batches.pipe(train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr }), workers })).subscribe({
    next: (m) => {
      last = m;
    },
    error: (e: unknown) => {
      failure = e;
    },
  });
  const step: TrainStep = (b) => {
    batches.next(b);
    if (failure !== null) throw failure;
    if (last === null) throw new Error('train emitted no metrics for a batch');
    return last.loss;
  };
  return { step, stop: () => sub.unsubscribe() };
}

export interface DeltaflowRunnerOptions {
  readonly workload: WorkloadId;
  readonly digits: Digits;
  /** Threads computing each batch's gradients: 1 is the default single-thread path, N > 1 `train({ workers: N })`. */
  readonly workers?: number;
  /** Whether the WASM SIMD kernels were initialised (initKernels), for the report. */
  readonly hasWasm: boolean;
}

/** deltaflow in this process, trained batch by batch from memory. */
export class DeltaflowRunner implements PassRunner {
  readonly id: string;
  readonly label: string;
  readonly workload: WorkloadId;
  private step: TrainStep | null = null;
  private stop: (() => void) | null = null;
  private batches: Batch[] = [];
  private cursor = 0;

  constructor(private readonly options: DeltaflowRunnerOptions) {
    this.workload = options.workload;
    const w = options.workers ?? 1;
    this.id = `deltaflow-${w}w`;
    this.label = w === 1 ? 'deltaflow' : `deltaflow, ${w} workers`;
  }

  async start(): Promise<RunnerInfo> {
    const model = benchModel(this.workload);
    this.batches = benchBatches(this.options.digits, this.workload);
    const workers = this.options.workers ?? 1;
    const t = trainStep(model, LEARNING_RATE, workers > 1 ? workers : undefined);
    this.step = t.step;
    this.stop = t.stop;
    return { version: deltaflowVersion(), threads: this.options.workers ?? 1, note: `train() operator${workers > 1 ? ` with workers: ${workers}` : ''}, wasm kernels ${this.options.hasWasm ? 'on' : 'off'}` };
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
    this.stop?.();
    this.stop = null;
    this.step = null;
    this.batches = [];
  }
}
