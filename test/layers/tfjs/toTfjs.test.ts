/**
 * The TF.js export against TensorFlow.js itself: `tf.loadLayersModel` loads the exported model.json
 * and weights (from memory, and from the files saveTfjs writes, through an IO handler — no network),
 * and its `predict` on the NHWC input agrees with deltaflow's forward pass to 1e-5 relative, for random
 * networks of every layer kind, stride and padding and for the trained MNIST LeNet. The layouts are
 * checked by hand too: conv kernels `[kH, kW, in, out]`, and the first dense after a flatten permuted
 * from NCHW to NHWC order.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2d } from '../../../src/layers/conv2d.js';
import { dense } from '../../../src/layers/dense.js';
import { flatten } from '../../../src/layers/flatten.js';
import type { JsonObject } from '../../../src/layers/modelFile.js';
import { forwardAll, sequential, type Model } from '../../../src/layers/sequential.js';
import { saveTfjs, toTfjs, type TfjsArtifacts } from '../../../src/layers/tfjs/toTfjs.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { maxRelError, randomInput, randomNetworks, softmaxRows, trainedLenet, type TrainedLenet } from '../interchangeHelpers.js';

const TOLERANCE = 1e-5;
let worst = 0;
let lenet: TrainedLenet;

beforeAll(async () => {
  await initKernels();
  await tf.setBackend('cpu');
  lenet = await trainedLenet();
});

const arrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new ArrayBuffer(bytes.byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
};

async function load(artifacts: TfjsArtifacts): Promise<tf.LayersModel> {
  const weightSpecs = artifacts.weightSpecs.map((s) => ({ ...s, shape: [...s.shape] }));
  return tf.loadLayersModel({
    load: async () => ({ modelTopology: artifacts.modelTopology, weightSpecs, weightData: arrayBuffer(artifacts.weightData), userDefinedMetadata: artifacts.userDefinedMetadata }),
  });
}

/** TF.js's prediction for deltaflow's NCHW batch x, returned in deltaflow's layout. */
function predictNchw(model: Model, tm: tf.LayersModel, x: Float32Array, m: number): Float32Array {
  return tf.tidy(() => {
    let input = tf.tensor(x, [m, ...model.input]);
    if (model.input.length === 3) input = input.transpose([0, 2, 3, 1]);
    let y = tm.predict(input);
    if (Array.isArray(y)) throw new Error('one output expected');
    if (model.outShape.length === 3) y = y.transpose([0, 3, 1, 2]);
    return Float32Array.from(y.dataSync());
  });
}

describe('tf.loadLayersModel runs the export as deltaflow computes it', () => {
  for (const { name, model } of randomNetworks(12, 5)) {
    it(`${name}: ${model.layers.map((l) => l.kind).join(' → ')}`, async () => {
      const tm = await load(toTfjs(model));
      const m = 4;
      const x = randomInput(model, m, 3);
      const err = maxRelError(predictNchw(model, tm, x, m), forwardAll(model, { data: x, shape: [m, ...model.input] }).data);
      worst = Math.max(worst, err);
      expect(err).toBeLessThan(TOLERANCE);
      tm.dispose();
    });
  }

  it('a conv net ending in an image: outputs NHWC, the same values', async () => {
    const model = sequential({ input: [2, 7, 6], seed: 3 }, conv2d({ filters: 3, kernel: [3, 2], stride: [2, 1], padding: [1, 2] }));
    const tm = await load(toTfjs(model));
    const x = randomInput(model, 2, 4);
    expect(tm.outputs[0].shape).toEqual([null, 4, 9, 3]);
    expect(maxRelError(predictNchw(model, tm, x, 2), forwardAll(model, { data: x, shape: [2, 2, 7, 6] }).data)).toBeLessThan(TOLERANCE);
  });

  it('the trained MNIST LeNet, with the softmax a classifier gets by default: the probabilities of forward + softmax', async () => {
    const { model, pixels, n } = lenet;
    const meta: JsonObject = { task: 'classify', loss: 'ce', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], scale: 1 / 255 };
    const tm = await load(toTfjs(model, meta));
    const x = pixels.map((v) => v / 255);
    const err = maxRelError(predictNchw(model, tm, x, n), softmaxRows(forwardAll(model, { data: x, shape: [n, 1, 28, 28] }).data, 10));
    worst = Math.max(worst, err);
    expect(err).toBeLessThan(TOLERANCE);
    expect(tm.getUserDefinedMetadata()).toEqual({
      deltaflow: { input: [null, 28, 28, 1], inputLayout: 'NHWC', inputIsPreprocessed: true, output: [null, 10], outputs: 'probabilities', meta },
    });
  });

  it('saveTfjs writes model.json and weights.bin that load through a file IO handler', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltaflow-tfjs-'));
    const { model } = randomNetworks(1, 8)[0];
    await saveTfjs(dir, model);
    const doc = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[]; format: string };
    expect(doc.format).toBe('layers-model');
    expect(doc.weightsManifest[0].paths).toEqual(['weights.bin']);
    const weightData = arrayBuffer(readFileSync(join(dir, 'weights.bin')));
    const tm = await tf.loadLayersModel({ load: async () => ({ modelTopology: doc.modelTopology, weightSpecs: doc.weightsManifest[0].weights, weightData }) });
    const x = randomInput(model, 3, 9);
    expect(maxRelError(predictNchw(model, tm, x, 3), forwardAll(model, { data: x, shape: [3, ...model.input] }).data)).toBeLessThan(TOLERANCE);
  });
});

describe('layouts', () => {
  it('a conv kernel becomes [kH, kW, in, out]: K[u, v, c, o] = W[o, c, u, v]', () => {
    const model = sequential({ input: [2, 4, 4], seed: 1 }, conv2d({ filters: 3, kernel: [2, 3] }));
    const W = model.params[0].value;
    W.forEach((_, i) => (W[i] = i));
    const { weightSpecs, weightData } = toTfjs(model);
    expect(weightSpecs[0]).toEqual({ name: 'conv2d0/kernel', shape: [2, 3, 2, 3], dtype: 'float32' });
    const K = new Float32Array(arrayBuffer(weightData), 0, 36);
    // K[u=1, v=2, c=1, o=2] at ((1·3 + 2)·2 + 1)·3 + 2 = 35; W[o=2, c=1, u=1, v=2] at ((2·2 + 1)·2 + 1)·3 + 2 = 35 — and one off the diagonal:
    expect(K[35]).toBe(W[35]);
    // K[u=0, v=1, c=1, o=0] at ((0·3 + 1)·2 + 1)·3 + 0 = 9; W[o=0, c=1, u=0, v=1] at ((0·2 + 1)·2 + 0)·3 + 1 = 7.
    expect(K[9]).toBe(7);
  });

  it('the first dense after a flatten reads NHWC order: kernel row (h·W + w)·C + c is W\'s column (c·H + h)·W + w', () => {
    // input [C=2, H=1, W=2]: deltaflow's flat order c0w0, c0w1, c1w0, c1w1; TF.js's c0w0, c1w0, c0w1, c1w1.
    const model = sequential({ input: [2, 1, 2], seed: 1 }, flatten(), dense({ units: 1 }), dense({ units: 1 }));
    model.params[0].value.set([10, 11, 12, 13]);
    const { weightSpecs, weightData } = toTfjs(model);
    expect(weightSpecs.map((s) => s.shape)).toEqual([[4, 1], [1], [1, 1], [1]]);
    expect(Array.from(new Float32Array(arrayBuffer(weightData), 0, 4))).toEqual([10, 12, 11, 13]);
  });

  it('a dense layer on a vector input is Wᵀ, unpermuted', () => {
    const model = sequential({ input: [3], seed: 1 }, dense({ units: 2 }));
    model.params[0].value.set([1, 2, 3, 4, 5, 6]);
    const { weightData } = toTfjs(model);
    expect(Array.from(new Float32Array(arrayBuffer(weightData), 0, 6))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it('reports the largest relative error met', () => {
    expect(worst).toBeGreaterThan(0);
    console.info(`TF.js vs deltaflow, max relative error: ${worst.toExponential(2)}`);
  });
});
