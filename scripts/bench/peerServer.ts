/**
 * Child-process entry for the JavaScript peers, one system and workload per process, speaking the
 * ChildRunner protocol (childRunner.ts):
 *
 *   node dist/scripts/bench/peerServer.js --peer tfjs-cpu|tfjs-wasm|convnetjs --workload W1|W2 --data DIR
 *
 * Each peer is written the way its user would, exactly as the peers' scripts
 * (/work/shared/bench/peers/tfjs-bench.js, convnetjs-bench.js): TF.js layers API with
 * `trainOnBatch` on pre-sliced 64-sample tensors, softmax output + categoricalCrossentropy,
 * `tf.train.sgd(0.05)`; ConvNetJS `Trainer({method: 'sgd', batch_size: 64, momentum: 0, l2_decay: 0})`
 * fed one pre-built Vol at a time. Data: the in-memory digits the parent wrote (images-f32.bin).
 */
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { readBinaries, PIXELS } from './data.js';
import type { PassResult, RunnerInfo } from './runner.js';
import { BATCH, LEARNING_RATE, type WorkloadId } from './workloads.js';

const require = createRequire(import.meta.url);

/** A started peer: trains the next `k` batches (cycling over the data) and reports the last batch loss. */
interface Peer {
  readonly info: RunnerInfo;
  trainBatches(k: number): Promise<number>;
}

function reply(msg: object): void {
  process.stdout.write(`@@ ${JSON.stringify(msg)}\n`);
}

async function startTfjs(backend: 'cpu' | 'wasm', workload: WorkloadId, images: Float32Array, labels: Uint8Array): Promise<Peer> {
  const tf: typeof import('@tensorflow/tfjs') = require('@tensorflow/tfjs');
  let threads = 1;
  let note = `backend=${backend}`;
  if (backend === 'wasm') {
    const wasm: typeof import('@tensorflow/tfjs-backend-wasm') = require('@tensorflow/tfjs-backend-wasm');
    wasm.setWasmPaths(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')), sep));
    if (!(await tf.setBackend('wasm'))) throw new Error('TF.js wasm backend failed to initialise');
    await tf.ready();
    threads = wasm.getThreadsCount();
    note += ` simd=${String(await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'))}`;
  } else {
    await tf.setBackend('cpu');
    await tf.ready();
  }
  const nBatches = Math.floor(labels.length / BATCH);
  const n = nBatches * BATCH;
  const model = tf.sequential();
  let inShape: number[];
  if (workload === 'W1') {
    inShape = [784];
    model.add(tf.layers.dense({ inputShape: [784], units: 128, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 64, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  } else {
    inShape = [28, 28, 1];
    model.add(tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, strides: 1, padding: 'valid', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.conv2d({ filters: 16, kernelSize: 5, strides: 1, padding: 'valid', activation: 'relu' }));
    model.add(tf.layers.maxPooling2d({ poolSize: 2, strides: 2 }));
    model.add(tf.layers.flatten());
    model.add(tf.layers.dense({ units: 120, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 84, activation: 'relu' }));
    model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  }
  model.compile({ optimizer: tf.train.sgd(LEARNING_RATE), loss: 'categoricalCrossentropy' });
  const xAll = tf.tensor(images.subarray(0, n * PIXELS), [n, ...inShape]);
  const yAll = tf.oneHot(tf.tensor1d(Array.from(labels.subarray(0, n)), 'int32'), 10).toFloat();
  const xs = Array.from({ length: nBatches }, (_, b) => xAll.slice([b * BATCH], [BATCH]));
  const ys = Array.from({ length: nBatches }, (_, b) => yAll.slice([b * BATCH], [BATCH]));
  let cursor = 0;
  return {
    info: { version: tf.version.tfjs, threads, note },
    async trainBatches(k) {
      let loss = NaN;
      for (let i = 0; i < k; i++) {
        const r = await model.trainOnBatch(xs[cursor], ys[cursor]);
        loss = Array.isArray(r) ? r[0] : r;
        cursor = (cursor + 1) % nBatches;
      }
      return loss;
    },
  };
}

/** The parts of convnetjs 0.3.0 (untyped CommonJS) this bench uses. */
interface ConvnetVol {
  readonly w: Float64Array;
}
interface ConvnetJs {
  readonly Net: new () => { makeLayers(defs: object[]): void };
  readonly Vol: new (sx: number, sy: number, depth: number, fill: number) => ConvnetVol;
  readonly Trainer: new (net: object, opts: object) => { train(x: ConvnetVol, label: number): { loss: number } };
}

function startConvnet(workload: WorkloadId, images: Float32Array, labels: Uint8Array): Peer {
  const convnetjs: ConvnetJs = require('convnetjs');
  const version: string = require('convnetjs/package.json').version;
  const defs: object[] =
    workload === 'W1'
      ? [
          { type: 'input', out_sx: 1, out_sy: 1, out_depth: 784 },
          { type: 'fc', num_neurons: 128, activation: 'relu' },
          { type: 'fc', num_neurons: 64, activation: 'relu' },
          { type: 'softmax', num_classes: 10 },
        ]
      : [
          { type: 'input', out_sx: 28, out_sy: 28, out_depth: 1 },
          { type: 'conv', sx: 5, filters: 6, stride: 1, pad: 0, activation: 'relu' },
          { type: 'pool', sx: 2, stride: 2 },
          { type: 'conv', sx: 5, filters: 16, stride: 1, pad: 0, activation: 'relu' },
          { type: 'pool', sx: 2, stride: 2 },
          { type: 'fc', num_neurons: 120, activation: 'relu' },
          { type: 'fc', num_neurons: 84, activation: 'relu' },
          { type: 'softmax', num_classes: 10 },
        ];
  const net = new convnetjs.Net();
  net.makeLayers(defs);
  const trainer = new convnetjs.Trainer(net, { method: 'sgd', learning_rate: LEARNING_RATE, batch_size: BATCH, momentum: 0, l2_decay: 0 });
  const nBatches = Math.floor(labels.length / BATCH);
  const n = nBatches * BATCH;
  const vols: ConvnetVol[] = [];
  for (let i = 0; i < n; i++) {
    const v = workload === 'W1' ? new convnetjs.Vol(1, 1, 784, 0) : new convnetjs.Vol(28, 28, 1, 0);
    // A depth-1 Vol is indexed y·28 + x: the row-major image as it is.
    v.w.set(images.subarray(i * PIXELS, (i + 1) * PIXELS));
    vols.push(v);
  }
  let cursor = 0;
  return {
    info: { version, threads: 1, note: 'float64, per-sample train(), batch_size 64' },
    async trainBatches(k) {
      let loss = 0;
      for (let i = 0; i < k; i++) {
        loss = 0;
        const base = cursor * BATCH;
        for (let s = 0; s < BATCH; s++) loss += trainer.train(vols[base + s], labels[base + s]).loss;
        cursor = (cursor + 1) % nBatches;
      }
      return loss / BATCH;
    },
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { peer: { type: 'string' }, workload: { type: 'string' }, data: { type: 'string' } } });
  const { peer: peerId, workload, data } = values;
  if (workload !== 'W1' && workload !== 'W2') throw new Error(`--workload must be W1 or W2, got ${String(workload)}`);
  if (data === undefined) throw new Error('--data DIR is required');
  const { images, labels } = readBinaries(data);
  let peer: Peer;
  if (peerId === 'tfjs-cpu') peer = await startTfjs('cpu', workload, images, labels);
  else if (peerId === 'tfjs-wasm') peer = await startTfjs('wasm', workload, images, labels);
  else if (peerId === 'convnetjs') peer = startConvnet(workload, images, labels);
  else throw new Error(`--peer must be tfjs-cpu, tfjs-wasm or convnetjs, got ${String(peerId)}`);
  reply({ ready: peer.info });

  for await (const line of createInterface({ input: process.stdin })) {
    const cmd = JSON.parse(line) as { cmd: string; batches?: number };
    if (cmd.cmd === 'quit') break;
    try {
      const k = cmd.batches ?? 1;
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      const loss = await peer.trainBatches(k);
      const seconds = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(c0);
      const pass: PassResult = { samples: k * BATCH, seconds, loss, cpuSeconds: (c.user + c.system) / 1e6 };
      reply({ pass });
    } catch (e) {
      reply({ error: e instanceof Error ? e.message : String(e) });
    }
  }
  process.exit(0);
}

main().catch((e: unknown) => {
  reply({ error: e instanceof Error ? e.message : String(e) });
  process.exit(1);
});
