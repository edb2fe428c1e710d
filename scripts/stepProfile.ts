/**
 * LeNet-5 training-step profile: samples/s and per-layer milliseconds of one SGD step (forward,
 * softmax cross-entropy, delta of every layer, plain SGD update) on a batch already in memory,
 * single thread. The model and data are the W2 workload of /work/shared/bench/peers/README.md (the
 * `lenet` preset, scripts/presets.ts).
 *
 * Usage: node dist/scripts/stepProfile.js [--steps 50] [--rounds 7] [--batch 64] [--layers] [--wasm]
 *   --rounds R  timed passes of `steps` steps each; prints every pass and the median
 *   --layers    also print the per-layer milliseconds per step (median pass)
 *   --wasm      call initWasm() first when the WASM kernels are available (src/ops/kernels.ts)
 * The last line is an FNV-1a hash of the final weights: equal hashes across runs of the same
 * build show the step is bit-for-bit deterministic.
 */
import { sequential } from '../src/layers/sequential.js';
import { softmaxCrossEntropy } from '../src/ops/loss.js';
import { Workspace, type Tensor } from '../src/ops/tensor.js';
import { presetSpecs } from './presets.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const steps = arg('steps', 50);
const rounds = arg('rounds', 7);
const m = arg('batch', 64);
const showLayers = process.argv.includes('--layers');

if (process.argv.includes('--wasm')) {
  const kernels = (await import('../src/ops/kernels.js')) as { initKernels?: () => Promise<boolean> };
  if (kernels.initKernels !== undefined) console.log('wasm', await kernels.initKernels());
}

const model = sequential({ input: [1, 28, 28], seed: 1 }, ...presetSpecs('lenet', { input: [1, 28, 28], outputs: 10 }));

// Deterministic pseudo-images (xorshift32) and one-hot targets.
let seed = 12345;
const rand = (): number => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const x: Tensor = { data: Float32Array.from({ length: m * 784 }, rand), shape: [m, 1, 28, 28] };
const target = new Float32Array(m * 10);
for (let i = 0; i < m; i++) target[i * 10 + (i % 10)] = 1;

const wss = model.layers.map(() => new Workspace());
const names = model.layers.map((l, i) => `${i}:${l.kind}`);
const fwdMs = new Float64Array(model.layers.length);
const delMs = new Float64Array(model.layers.length);
const lr = 0.05 / m;

function step(): void {
  let a = x;
  const caches: unknown[] = [];
  for (let i = 0; i < model.layers.length; i++) {
    const t0 = performance.now();
    const r = model.layers[i].forward(a, wss[i]);
    fwdMs[i] += performance.now() - t0;
    caches.push(r.cache);
    a = r.y;
  }
  const { delta } = softmaxCrossEntropy(a.data, target, m, 10);
  let d: Tensor = { data: delta, shape: a.shape };
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const layer = model.layers[i];
    const t0 = performance.now();
    const r = layer.delta(d, caches[i], wss[i], i > 0);
    delMs[i] += performance.now() - t0;
    layer.params.forEach((p, k) => {
      const g = r.grads[k];
      const w = p.value;
      for (let j = 0; j < w.length; j++) w[j] -= lr * g[j];
    });
    if (r.deltaX !== null) d = r.deltaX;
  }
}

for (let i = 0; i < 20; i++) step();
const passes: { rate: number; fwd: Float64Array; del: Float64Array }[] = [];
for (let r = 0; r < rounds; r++) {
  fwdMs.fill(0);
  delMs.fill(0);
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) step();
  const rate = (steps * m) / ((performance.now() - t0) / 1000);
  passes.push({ rate, fwd: fwdMs.map((v) => v / steps), del: delMs.map((v) => v / steps) });
  console.log(`pass ${r} ${rate.toFixed(0)} samples/s`);
}
const sorted = [...passes].sort((p, q) => p.rate - q.rate);
const med = sorted[Math.floor(sorted.length / 2)];
console.log(`median ${med.rate.toFixed(0)} samples/s (min ${sorted[0].rate.toFixed(0)}, max ${sorted[sorted.length - 1].rate.toFixed(0)})`);
if (showLayers) {
  for (let i = 0; i < names.length; i++) console.log(`${names[i].padEnd(14)} fwd ${med.fwd[i].toFixed(3)} ms  delta ${med.del[i].toFixed(3)} ms`);
}
let h = 0x811c9dc5;
for (const l of model.layers) {
  for (const p of l.params) {
    const bytes = new Uint8Array(p.value.buffer, p.value.byteOffset, p.value.byteLength);
    for (const byte of bytes) h = Math.imul(h ^ byte, 0x01000193);
  }
}
console.log(`weights hash ${(h >>> 0).toString(16)}`);
