/**
 * Shared by the ONNX and TF.js tests: seeded random networks covering every layer kind, stride and
 * padding; a LeNet trained briefly on the MNIST digits the `mnist` package ships; ONNX Runtime as
 * the oracle; and the error measure every comparison uses,
 *
 *   relative error = max_i |actual_i − expected_i| / max_i |expected_i|
 *
 * (the largest difference over the largest value of the reference tensor).
 */
import ort from 'onnxruntime-node';
import { from, lastValueFrom, toArray } from 'rxjs';
import { relu, sigmoid, tanh } from '../../src/layers/activation.js';
import { avgPool2d } from '../../src/layers/avgPool2d.js';
import { conv2d } from '../../src/layers/conv2d.js';
import { dense } from '../../src/layers/dense.js';
import { flatten } from '../../src/layers/flatten.js';
import type { LayerSpec } from '../../src/layers/layer.js';
import { maxPool2d } from '../../src/layers/maxPool2d.js';
import { inferShapes, sequential, type Model } from '../../src/layers/sequential.js';
import { adam } from '../../src/ops/optimizers.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { batch } from '../../src/streams/training/batch.js';
import { softmaxCrossEntropy } from '../../src/streams/training/lossHead.js';
import { train } from '../../src/streams/training/train.js';
import type { Sample } from '../../src/streams/types.js';
import { loadMnistDigits, mnistSplit } from '../../scripts/prepareData.js';

export function maxRelError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  if (actual.length !== expected.length) throw new Error(`lengths differ: ${actual.length} vs ${expected.length}`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Run ONNX bytes in ONNX Runtime (CPU) on one float input; returns the output's values and dims. */
export async function runOrt(bytes: Uint8Array, x: Float32Array, dims: readonly number[], inputName = 'input'): Promise<{ data: Float32Array; dims: readonly number[] }> {
  const session = await ort.InferenceSession.create(bytes);
  try {
    const result = await session.run({ [inputName]: new ort.Tensor('float32', x, [...dims]) });
    const out = result[session.outputNames[0]];
    if (!(out.data instanceof Float32Array)) throw new Error(`ONNX Runtime returned ${out.type}`);
    return { data: out.data, dims: out.dims };
  } finally {
    await session.release();
  }
}

/** Row-wise softmax of `[m, k]` logits, in double. */
export function softmaxRows(z: ArrayLike<number>, k: number): Float64Array {
  const p = new Float64Array(z.length);
  for (let r = 0; r < z.length / k; r++) {
    let max = -Infinity;
    for (let j = 0; j < k; j++) max = Math.max(max, z[r * k + j]);
    let sum = 0;
    for (let j = 0; j < k; j++) sum += p[r * k + j] = Math.exp(z[r * k + j] - max);
    for (let j = 0; j < k; j++) p[r * k + j] /= sum;
  }
  return p;
}

const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng.next() * (hi - lo + 1));
const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.next() * items.length)];
const ACTIVATIONS: readonly LayerSpec[] = [relu(), sigmoid(), tanh()];

export interface RandomNetwork {
  readonly name: string;
  readonly model: Model;
}

/**
 * `count` seeded conv nets — conv (kernel 1–4 per axis, stride 1–3, padding 0–2 per axis), an
 * activation, a max or average pool (size 1–3, stride 1–3), sometimes a second conv, flatten, dense,
 * activation, dense — plus MLPs on vector inputs. Every kind, stride and padding value appears.
 */
export function randomNetworks(count: number, seed: number): RandomNetwork[] {
  const rng = createRng(seed);
  const nets: RandomNetwork[] = [];
  for (let i = 0; i < count; i++) {
    const input = [int(rng, 1, 3), int(rng, 7, 13), int(rng, 7, 13)];
    const specs: LayerSpec[] = [
      conv2d({ filters: int(rng, 1, 5), kernel: [int(rng, 1, 4), int(rng, 1, 4)], stride: [1 + (i % 3), int(rng, 1, 3)], padding: [i % 3, int(rng, 0, 2)] }),
      pick(rng, ACTIVATIONS),
    ];
    let shape = inferShapes(input, specs)[specs.length - 1].shapes.outShape;
    const size = [int(rng, 1, Math.min(3, shape[1])), int(rng, 1, Math.min(3, shape[2]))];
    const stride = [int(rng, 1, 3), 1 + ((i >> 1) % 3)];
    specs.push(i % 2 === 0 ? maxPool2d({ size: [size[0], size[1]], stride: [stride[0], stride[1]] }) : avgPool2d({ size: [size[0], size[1]], stride: [stride[0], stride[1]] }));
    shape = inferShapes(input, specs)[specs.length - 1].shapes.outShape;
    if (i % 3 === 0 && shape[1] >= 2 && shape[2] >= 2) specs.push(conv2d({ filters: int(rng, 1, 4), kernel: 2, padding: 1 }), pick(rng, ACTIVATIONS));
    specs.push(flatten(), dense({ units: int(rng, 2, 9) }), pick(rng, ACTIVATIONS), dense({ units: int(rng, 1, 6) }));
    nets.push({ name: `conv net ${i}`, model: sequential({ input, seed: seed * 100 + i }, ...specs) });
  }
  for (let i = 0; i < 3; i++) {
    const specs = [dense({ units: int(rng, 3, 12) }), ACTIVATIONS[i], dense({ units: int(rng, 2, 5) })];
    nets.push({ name: `mlp ${i}`, model: sequential({ input: [int(rng, 2, 20)], seed: seed * 100 + 50 + i }, ...specs) });
  }
  return nets;
}

/** Uniform inputs in [−1, 1) for a batch of m. */
export function randomInput(model: Model, m: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: m * model.input.reduce((p, d) => p * d, 1) }, () => 2 * rng.next() - 1);
}

export const LENET_SPECS: readonly LayerSpec[] = [
  conv2d({ filters: 6, kernel: 5, padding: 2 }), relu(), maxPool2d({ size: 2 }),
  conv2d({ filters: 16, kernel: 5 }), relu(), avgPool2d({ size: 2 }),
  flatten(), dense({ units: 120 }), tanh(), dense({ units: 84 }), sigmoid(), dense({ units: 10 }),
];

export interface TrainedLenet {
  readonly model: Model;
  /** Raw test pixels 0..255, `[n, 1, 28, 28]`, and their labels. */
  readonly pixels: Float32Array;
  readonly labels: Uint8Array;
  readonly n: number;
}

/**
 * LeNet-5 trained for one pass over 3,000 MNIST digits (pixels × 1/255, Adam), and 200 other digits
 * to test it on: a model whose weights came from training, not from initialization.
 */
export async function trainedLenet(): Promise<TrainedLenet> {
  const digits = await loadMnistDigits();
  const split = mnistSplit(digits.labels.length);
  const nTrain = 3000;
  const n = 200;
  const samples: Sample[] = Array.from(split.train.subarray(0, nTrain), (d, i) => {
    const x = Float32Array.from(digits.pixels.subarray(d * 784, (d + 1) * 784), (v) => v / 255);
    const target = new Float32Array(10);
    target[digits.labels[d]] = 1;
    return { x, target, label: digits.labels[d], origin: { source: 'mnist', line: i + 2, record: i, endOffset: 0 } };
  });
  const model = sequential({ input: [1, 28, 28], seed: 7 }, ...LENET_SPECS);
  await lastValueFrom(from(samples).pipe(batch(32, { shape: [1, 28, 28] }), train(model, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 2e-3 }) }), toArray()));
  const test = split.test.subarray(0, n);
  const pixels = new Float32Array(n * 784);
  test.forEach((d, i) => pixels.set(digits.pixels.subarray(d * 784, (d + 1) * 784), i * 784));
  return { model, pixels, labels: Uint8Array.from(test, (d) => digits.labels[d]), n };
}
