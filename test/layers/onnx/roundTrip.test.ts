/**
 * Export → import gives the model back: the same architecture, the same weights bit for bit, the
 * same outputs, and (for deltaflow's own files) the same meta, preprocessing included. An imported
 * model is an ordinary model: it saves as a model file, and it trains.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { from, lastValueFrom, toArray } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadModel, saveModel, type JsonObject } from '../../../src/layers/modelFile.js';
import { fromOnnx, loadOnnx } from '../../../src/layers/onnx/fromOnnx.js';
import { saveOnnx, toOnnx } from '../../../src/layers/onnx/toOnnx.js';
import { forwardAll, type Model } from '../../../src/layers/sequential.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { sgd } from '../../../src/ops/optimizers.js';
import { createRng } from '../../../src/ops/random.js';
import { batch } from '../../../src/streams/training/batch.js';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { train } from '../../../src/streams/training/train.js';
import type { Sample } from '../../../src/streams/types.js';
import { randomInput, randomNetworks } from '../interchangeHelpers.js';
import { attr, buildOnnx, floats, node, weightsOf } from './onnxBuilder.js';

beforeAll(async () => {
  await initKernels();
});

const bits = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function expectSameModel(a: Model, b: Model): void {
  expect(b.input).toEqual(a.input);
  expect(b.layers.map((l) => l.spec)).toEqual(a.layers.map((l) => l.spec));
  expect(b.params.map((p) => p.shape)).toEqual(a.params.map((p) => p.shape));
  a.params.forEach((p, i) => expect(bits(b.params[i].value)).toEqual(bits(p.value)));
}

describe('export, import: the same model', () => {
  for (const { name, model } of randomNetworks(6, 11)) {
    it(`${name}: same specs, weights bit for bit, same outputs`, () => {
      const back = fromOnnx(toOnnx(model)).model;
      expectSameModel(model, back);
      const x = randomInput(model, 3, 2);
      const shape = [3, ...model.input];
      expect(bits(forwardAll(back, { data: x, shape }).data)).toEqual(bits(forwardAll(model, { data: x, shape }).data));
    });
  }

  it('keeps -0, subnormal and extreme float32 weights exactly', () => {
    const model = randomNetworks(1, 5)[1].model; // an MLP
    const special = [-0, 1.401298464324817e-45, 3.4028234663852886e38, -1.1754943508222875e-38];
    special.forEach((v, i) => (model.params[0].value[i] = v));
    expectSameModel(model, fromOnnx(toOnnx(model)).model);
  });

  it('a classifier: the Softmax is dropped again and the meta comes back as it was', () => {
    const { model } = randomNetworks(1, 6)[0];
    const k = model.outShape[0];
    const meta: JsonObject = { task: 'classify', loss: 'ce', label: ['label'], features: ['a'], classes: Array.from({ length: k }, (_, i) => `c${i}`), scale: 1 / 255, normalize: null, training: { epochs: 3 } };
    const back = fromOnnx(toOnnx(model, meta));
    expectSameModel(model, back.model);
    expect(back.meta).toEqual(meta);
  });

  it('regression with zscore features and targets: normalize and targetNormalize are read back from the graph\'s constants', () => {
    const model = randomNetworks(3, 7)[2].model;
    const n = model.input.reduce((p, d) => p * d, 1);
    const k = model.outShape[0];
    const rng = createRng(1);
    const stats = (m: number) => ({ a: Array.from({ length: m }, () => rng.next() * 100 - 50), b: Array.from({ length: m }, () => 0.1 + rng.next()) });
    const meta: JsonObject = { task: 'regress', loss: 'mse', label: Array.from({ length: k }, (_, i) => `y${i}`), scale: 0.1, normalize: { kind: 'minmax', ...stats(n) }, targetNormalize: { kind: 'zscore', ...stats(k) } };
    const back = fromOnnx(toOnnx(model, meta));
    expectSameModel(model, back.model);
    expect(back.meta).toEqual(meta);
  });

  it('saveOnnx → loadOnnx → saveModel → loadModel: the same weights', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltaflow-onnx-'));
    const { model } = randomNetworks(1, 8)[0];
    await saveOnnx(join(dir, 'm.onnx'), model);
    const imported = await loadOnnx(join(dir, 'm.onnx'));
    await saveModel(join(dir, 'm.json'), imported.model, imported.meta);
    expectSameModel(model, (await loadModel(join(dir, 'm.json'))).model);
  });
});

describe('an imported model trains like any other', () => {
  it('a PyTorch-style MLP (Gemm, Relu, Gemm) learns y = sign(x0·x1) with SGD: its loss falls and its weights move', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: ['batch', 2] },
      output: { name: 'y' },
      nodes: [
        node('Gemm', ['x', '0.weight', '0.bias'], ['h'], '/0/Gemm', [attr.int('transB', 1)]),
        node('Relu', ['h'], ['r'], '/1/Relu'),
        node('Gemm', ['r', '2.weight', '2.bias'], ['y'], '/2/Gemm', [attr.int('transB', 1)]),
      ],
      initializers: [floats('0.weight', [16, 2], weightsOf(32, 1).map((v) => 2 * v)), floats('0.bias', [16], new Float32Array(16)), floats('2.weight', [2, 16], weightsOf(32, 2)), floats('2.bias', [2], new Float32Array(2))],
    });
    const { model } = fromOnnx(bytes);
    const before = Float32Array.from(model.params[0].value);
    const rng = createRng(3);
    const samples: Sample[] = Array.from({ length: 2000 }, (_, i) => {
      const x = Float32Array.from([2 * rng.next() - 1, 2 * rng.next() - 1]);
      const label = x[0] * x[1] > 0 ? 1 : 0;
      return { x, target: Float32Array.from([1 - label, label]), label, origin: { source: 'xor', line: i + 2, record: i, endOffset: 0 } };
    });
    const metrics = await lastValueFrom(from([...samples, ...samples, ...samples]).pipe(batch(20), train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.3 }) }), toArray()));
    const mean = (xs: { loss: number }[]) => xs.reduce((s, m) => s + m.loss, 0) / xs.length;
    expect(mean(metrics.slice(-50))).toBeLessThan(0.5 * mean(metrics.slice(0, 50)));
    expect(model.params[0].value).not.toEqual(before);
  });

  it('an imported regression conv net trains with mean squared error', async () => {
    const { model } = fromOnnx(toOnnx(randomNetworks(1, 9)[0].model));
    const k = model.outShape[0];
    const rng = createRng(4);
    const samples: Sample[] = Array.from({ length: 300 }, (_, i) => {
      const x = randomInput(model, 1, i);
      return { x, target: Float32Array.from({ length: k }, (_, j) => Math.sin(x[j] + j) + rng.next() * 0.01), label: -1, origin: { source: 'sin', line: i + 2, record: i, endOffset: 0 } };
    });
    const metrics = await lastValueFrom(from([...samples, ...samples, ...samples, ...samples]).pipe(batch(10, { shape: model.input }), train(model, { loss: meanSquaredError(), optimizer: sgd({ lr: 0.05 }) }), toArray()));
    expect(metrics.at(-1)?.step).toBe(120);
    const mean = (xs: { loss: number }[]) => xs.reduce((s, m) => s + m.loss, 0) / xs.length;
    expect(mean(metrics.slice(-30))).toBeLessThan(mean(metrics.slice(0, 30)));
  });
});
