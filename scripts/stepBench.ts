/**
 * Training-step time of the bench workloads through the library's own operators, on batches already
 * in memory, one thread: `train(model, { optimizer })` per batch (forward, loss, delta, averaging,
 * clipping when asked, the optimizer update), and `backprop(model)` alone (forward, loss, delta),
 * interleaved step by step so both see the same machine phases. The difference is the per-step work after
 * the gradients — averaging and the update — reported as its share of the step.
 *
 * Usage: node dist/scripts/stepBench.js [--model lenet|mlp] [--optimizer sgd|adam] [--batch 64]
 *                                       [--steps 40] [--rounds 7] [--clip X] [--no-wasm]
 * The model is W1 (mlp: 784-128-64-10) or W2 (lenet) of scripts/bench/workloads.ts; the data are
 * seeded pseudo-images. Prints one line per round, the medians, and an FNV-1a hash of the trained
 * weights (the same build and kernel set give the same hash). The kernel set follows
 * DELTAFLOW_KERNELS (src/ops/kernels.ts).
 */
import { Subject } from 'rxjs';
import { sequential, type Model } from '../src/layers/sequential.js';
import { initKernels } from '../src/ops/kernels.js';
import { adam, sgd } from '../src/ops/optimizers.js';
import { train } from '../src/streams/training/train.js';
import { backprop } from '../src/streams/training/backprop.js';
import { softmaxCrossEntropy } from '../src/streams/training/lossHead.js';
import type { Batch } from '../src/streams/types.js';
import { presetSpecs } from './presets.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const modelName = arg('model', 'lenet');
const optimizerName = arg('optimizer', 'adam');
const m = Number(arg('batch', '64'));
const steps = Number(arg('steps', '40'));
const rounds = Number(arg('rounds', '7'));
const clip = process.argv.includes('--clip') ? Number(arg('clip', '1')) : undefined;
if (modelName !== 'lenet' && modelName !== 'mlp') throw new Error(`--model must be lenet or mlp, got ${modelName}`);
if (optimizerName !== 'sgd' && optimizerName !== 'adam') throw new Error(`--optimizer must be sgd or adam, got ${optimizerName}`);

const hasWasm = process.argv.includes('--no-wasm') ? false : await initKernels();
const input = modelName === 'lenet' ? [1, 28, 28] : [784];

function build(): Model {
  const specs = modelName === 'lenet' ? presetSpecs('lenet', { input, outputs: 10 }) : presetSpecs('mlp', { input, outputs: 10, hidden: [128, 64] });
  return sequential({ input, seed: 1 }, ...specs);
}

// Seeded pseudo-images (xorshift32) and one-hot targets, 8 batches reused in turn.
let seed = 12345;
const rand = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const batches: Batch[] = Array.from({ length: 8 }, (_, b) => {
  const target = new Float32Array(m * 10);
  const labels = new Int32Array(m);
  for (let i = 0; i < m; i++) {
    labels[i] = (b + i) % 10;
    target[i * 10 + labels[i]] = 1;
  }
  const origins = Array.from({ length: m }, (_, i) => ({ source: 'memory', line: b * m + i + 2, record: b * m + i, endOffset: 0 }));
  return { x: { data: Float32Array.from({ length: m * input.reduce((a, c) => a * c, 1) }, rand), shape: [m, ...input] }, target: { data: target, shape: [m, 10] }, labels, m, origins };
});

/** One long-lived subscription of `operator` driven batch by batch; returns the step function. */
function driver<T>(operator: (s: Subject<Batch>) => { subscribe(o: { next(v: T): void; error(e: unknown): void }): unknown }): () => void {
  const source = new Subject<Batch>();
  let failure: unknown = null;
  operator(source).subscribe({ next: () => undefined, error: (e: unknown) => (failure = e) });
  let k = 0;
  return () => {
    source.next(batches[k++ % batches.length]);
    if (failure !== null) throw failure;
  };
}

const trained = build();
const optimizer = optimizerName === 'adam' ? adam({ lr: 1e-3 }) : sgd({ lr: 0.05 });
const trainStep = driver((s) => s.pipe(train(trained, { loss: softmaxCrossEntropy(), optimizer, clipNorm: clip })));
const backpropStep = driver((s) => s.pipe(backprop(build(), { loss: softmaxCrossEntropy() })));

/** One round: `steps` train steps and as many backprop steps, interleaved one by one; mean ms of each. */
function round(): [number, number] {
  let train = 0;
  let back = 0;
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    trainStep();
    const t1 = performance.now();
    backpropStep();
    train += t1 - t0;
    back += performance.now() - t1;
  }
  return [train / steps, back / steps];
}

for (let i = 0; i < 10; i++) {
  trainStep();
  backpropStep();
}
const trainMs: number[] = [];
const backpropMs: number[] = [];
for (let r = 0; r < rounds; r++) {
  const [t, b] = round();
  trainMs.push(t);
  backpropMs.push(b);
  console.log(`round ${r}: train ${t.toFixed(3)} ms/step, backprop ${b.toFixed(3)} ms/step`);
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const share = trainMs.map((t, r) => (t - backpropMs[r]) / t);
const tMed = median(trainMs);
console.log(
  `${modelName} ${optimizerName}${clip === undefined ? '' : ` clip ${clip}`} batch ${m}, wasm ${hasWasm}: train ${tMed.toFixed(3)} ms/step (${((m / tMed) * 1000).toFixed(0)} samples/s), ` +
    `backprop ${median(backpropMs).toFixed(3)} ms/step, averaging + update ${(100 * median(share)).toFixed(1)} % of the step`,
);
let h = 0x811c9dc5;
for (const p of trained.params) {
  const bytes = new Uint8Array(p.value.buffer, p.value.byteOffset, p.value.byteLength);
  for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
}
console.log(`weights hash ${(h >>> 0).toString(16)}`);
