/**
 * The ONNX export against the real runtime: onnxruntime-node (CPU) runs the exported graphs and must
 * agree with deltaflow's forward pass to 1e-5 relative (max |Δ| / max |y|) — random networks of every
 * layer kind, stride and padding, at two batch sizes; the trained MNIST LeNet on raw pixels through
 * the embedded scale and softmax; z-score and min-max normalization; the targets' inverse transform.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/layers/modelFile.js';
import { toOnnx } from '../../../src/layers/onnx/toOnnx.js';
import { forwardAll, sequential } from '../../../src/layers/sequential.js';
import { dense } from '../../../src/layers/dense.js';
import { relu } from '../../../src/layers/activation.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { createRng } from '../../../src/ops/random.js';
import { maxRelError, randomInput, randomNetworks, runOrt, softmaxRows, trainedLenet, type TrainedLenet } from '../interchangeHelpers.js';

const TOLERANCE = 1e-5;
const worst: { [what: string]: number } = {};
const record = (what: string, err: number): number => {
  worst[what] = Math.max(worst[what] ?? 0, err);
  return err;
};

let lenet: TrainedLenet;
beforeAll(async () => {
  await initKernels();
  lenet = await trainedLenet();
});

describe('ONNX Runtime runs the exported graph as deltaflow computes it', () => {
  const nets = randomNetworks(12, 3);

  it('covers every layer kind, conv stride and padding 0–2, and pool strides 1–3', () => {
    const specs = nets.flatMap((n) => n.model.layers.map((l) => l.spec));
    expect(new Set(specs.map((s) => s.kind))).toEqual(new Set(['conv2d', 'maxPool2d', 'avgPool2d', 'flatten', 'dense', 'relu', 'sigmoid', 'tanh']));
    const convs = specs.flatMap((s) => (s.kind === 'conv2d' ? [s] : []));
    expect(new Set(convs.map((s) => s.stride[0]))).toEqual(new Set([1, 2, 3]));
    expect(new Set(convs.map((s) => s.padding[0]))).toEqual(new Set([0, 1, 2]));
    const pools = specs.flatMap((s) => (s.kind === 'maxPool2d' || s.kind === 'avgPool2d' ? [s] : []));
    expect(new Set(pools.map((s) => s.stride[1]))).toEqual(new Set([1, 2, 3]));
  });

  for (const { name, model } of nets) {
    it(`${name}: ${model.layers.map((l) => l.kind).join(' → ')} agrees at batch sizes 1 and 5`, async () => {
      const bytes = toOnnx(model);
      for (const m of [1, 5]) {
        const x = randomInput(model, m, m * 31 + 1);
        const expected = forwardAll(model, { data: x, shape: [m, ...model.input] });
        const got = await runOrt(bytes, x, [m, ...model.input]);
        expect(got.dims).toEqual([m, ...model.outShape]);
        expect(record('random networks', maxRelError(got.data, expected.data))).toBeLessThan(TOLERANCE);
      }
    });
  }

  it('the trained MNIST LeNet: raw pixels in, embedded 1/255 and softmax, the probabilities of forward + softmax', async () => {
    const { model, pixels, n } = lenet;
    const meta: JsonObject = { task: 'classify', loss: 'ce', classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], scale: 1 / 255 };
    const got = await runOrt(toOnnx(model, meta), pixels, [n, 1, 28, 28]);
    const logits = forwardAll(model, { data: pixels.map((v) => v / 255), shape: [n, 1, 28, 28] });
    expect(record('trained LeNet (probabilities)', maxRelError(got.data, softmaxRows(logits.data, 10)))).toBeLessThan(TOLERANCE);
    // It was trained: most test digits are recognized, by both.
    const argmax = (p: ArrayLike<number>, r: number): number => Array.from({ length: 10 }, (_, j) => p[r * 10 + j]).reduce((b, v, j, a) => (v > a[b] ? j : b), 0);
    const right = Array.from({ length: n }, (_, r) => (argmax(got.data, r) === lenet.labels[r] ? 1 : 0)).reduce((a: number, b) => a + b, 0);
    expect(right / n).toBeGreaterThan(0.8);
  });

  it('the trained MNIST LeNet without meta: logits, to 1e-5', async () => {
    const { model, pixels, n } = lenet;
    const x = pixels.map((v) => v / 255);
    const got = await runOrt(toOnnx(model), x, [n, 1, 28, 28]);
    expect(record('trained LeNet (logits)', maxRelError(got.data, forwardAll(model, { data: x, shape: [n, 1, 28, 28] }).data))).toBeLessThan(TOLERANCE);
  });

  it('names its input and output, and keeps the batch dimension symbolic', async () => {
    const ort = (await import('onnxruntime-node')).default;
    const session = await ort.InferenceSession.create(toOnnx(lenet.model));
    expect(session.inputNames).toEqual(['input']);
    expect(session.outputNames).toEqual(['output']);
    const input = session.inputMetadata[0];
    expect(input.isTensor && input.shape).toEqual(['batch', 1, 28, 28]);
    await session.release();
  });
});

describe('embedded preprocessing: raw features in, what the model file describes out', () => {
  const model = sequential({ input: [6], seed: 4 }, dense({ units: 10 }), relu(), dense({ units: 2 }));
  const rng = createRng(9);
  const m = 40;
  // Raw values on a large scale around a far-off mean: what float32 preprocessing would round away.
  const a = Array.from({ length: 6 }, (_, j) => 1000 * (j + 1) + 0.25);
  const b = Array.from({ length: 6 }, (_, j) => 0.5 + j);
  const raw = Float32Array.from({ length: m * 6 }, (_, i) => Math.round(a[i % 6] + 4 * b[i % 6] * (rng.next() - 0.5)));
  /** The model's input as fromCsv computes it: (v·scale − a) / b in double, then float32. */
  const transformed = (scale: number, shift: readonly number[], div: readonly number[]): Float32Array => raw.map((v, i) => (v * scale - shift[i % 6]) / div[i % 6]);

  it('zscore with a scale: Cast, Mul, Sub, Div, Cast', async () => {
    const meta: JsonObject = { task: 'classify', loss: 'ce', classes: ['no', 'yes'], scale: 0.5, normalize: { kind: 'zscore', a: a.map((v) => v / 2), b } };
    const got = await runOrt(toOnnx(model, meta, { softmax: false }), raw, [m, 6]);
    const expected = forwardAll(model, { data: transformed(0.5, a.map((v) => v / 2), b), shape: [m, 6] });
    expect(record('preprocessing (zscore)', maxRelError(got.data, expected.data))).toBeLessThan(TOLERANCE);
  });

  it('minmax, no scale', async () => {
    const min = a.map((v, j) => v - 2 * b[j]);
    const range = b.map((v) => 4 * v);
    const meta: JsonObject = { task: 'classify', loss: 'ce', classes: ['no', 'yes'], scale: 1, normalize: { kind: 'minmax', a: min, b: range } };
    const got = await runOrt(toOnnx(model, meta), raw, [m, 6]);
    const expected = softmaxRows(forwardAll(model, { data: transformed(1, min, range), shape: [m, 6] }).data, 2);
    expect(record('preprocessing (minmax)', maxRelError(got.data, expected))).toBeLessThan(TOLERANCE);
  });

  it('regression targets learned normalized come out in target units: a + b·y′, and no softmax', async () => {
    const meta: JsonObject = { task: 'regress', loss: 'mse', label: ['p', 'q'], scale: 1, normalize: null, targetNormalize: { kind: 'zscore', a: [250000, -3], b: [80000, 0.5] } };
    const x = randomInput(model, m, 5);
    const got = await runOrt(toOnnx(model, meta), x, [m, 6]);
    const y = forwardAll(model, { data: x, shape: [m, 6] }).data;
    const expected = Array.from(y, (v, i) => (i % 2 === 0 ? 250000 + 80000 * v : -3 + 0.5 * v));
    expect(record('targets inverse', maxRelError(got.data, expected))).toBeLessThan(TOLERANCE);
  });
});

describe('measured', () => {
  it('reports the largest relative errors met', () => {
    expect(Object.keys(worst).length).toBeGreaterThan(0);
    console.info(`ONNX Runtime vs deltaflow, max relative error: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(2)}`).join(', ')}`);
  });
});
