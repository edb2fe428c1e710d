/**
 * `deltaflow export` and `deltaflow import` as a user runs them: models trained by `deltaflow train`
 * exported to ONNX (run by onnxruntime-node on the raw CSV features, which must give what `deltaflow
 * predict` prints) and to TF.js (loaded by tf.loadLayersModel); ONNX files imported back, and a
 * PyTorch-style file imported, then evaluated, predicted and trained on by the CLI; and the one-line
 * errors.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { maxRelError, runOrt } from '../layers/interchangeHelpers.js';
import { attr, buildOnnx, floats, node, weightsOf } from '../layers/onnx/onnxBuilder.js';
import { parseCsv, runCli, tempDir, writeBars, writeLinear } from './cliHelpers.js';

let dir = '';
/** A small conv net for the 8×8 bars, architecture only (train initializes it from --seed). */
const CONV_NET = {
  format: 'deltaflow-model',
  version: 1,
  input: [1, 8, 8],
  layers: [
    { kind: 'conv2d', filters: 4, kernel: [3, 3], stride: [1, 1], padding: [1, 1] },
    { kind: 'relu' },
    { kind: 'maxPool2d', size: [2, 2], stride: [2, 2] },
    { kind: 'flatten' },
    { kind: 'dense', units: 8 },
  ],
};

/** The feature columns of a CSV (every column but `label`/`y`) as float32 rows. */
function features(path: string, drop: string): { x: Float32Array; m: number; n: number } {
  const { header, rows } = parseCsv(readFileSync(path, 'utf8'));
  const keep = header.flatMap((h, c) => (h === drop ? [] : [c]));
  return { x: Float32Array.from(rows.flatMap((r) => keep.map((c) => Number(r[c])))), m: rows.length, n: keep.length };
}

/** predict's numbers (every column but `class`) as one flat array, and its classes. */
function predicted(stdout: string): { values: number[]; classes: string[] } {
  const { header, rows } = parseCsv(stdout);
  const numeric = header.flatMap((h, c) => (h === 'class' ? [] : [c]));
  return { values: rows.flatMap((r) => numeric.map((c) => Number(r[c]))), classes: header[0] === 'class' ? rows.map((r) => r[0]) : [] };
}

async function cli(args: string[]): Promise<string> {
  const r = await runCli(args, { cwd: dir });
  if (r.code !== 0) throw new Error(`deltaflow ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  dir = tempDir();
  writeBars(join(dir, 'bars.csv'), 240, 21);
  writeBars(join(dir, 'bars-test.csv'), 40, 22);
  writeLinear(join(dir, 'lin.csv'), 400, 23);
  writeLinear(join(dir, 'lin-test.csv'), 50, 24);
  writeFileSync(join(dir, 'conv.json'), JSON.stringify(CONV_NET));
  await cli(['train', '--data', 'bars.csv', '--classes', '8', '--shape', '1,8,8', '--scale', '1/255', '--model', 'conv.json', '--epochs', '3', '--out', 'm-bars', '--quiet']);
  await cli(['train', '--data', 'lin.csv', '--task', 'regress', '--label', 'y', '--normalize', 'zscore', '--epochs', '4', '--out', 'm-lin', '--quiet']);
  await tf.setBackend('cpu');
});

describe('deltaflow export --format onnx: ONNX Runtime on raw features prints what deltaflow predict prints', () => {
  it('a conv classifier with --scale 1/255: the embedded scale and softmax give predict\'s probabilities', async () => {
    const out = await cli(['export', '--model', 'm-bars/model.json', '--format', 'onnx', '--out', 'bars.onnx']);
    expect(out).toBe('wrote bars.onnx: ONNX opset 13, 560 parameters; input "input" [batch, 1, 8, 8] (raw features; scale 0.00392157 embedded); output "output" [batch, 8] (softmax probabilities)\n');
    const { x, m } = features(join(dir, 'bars-test.csv'), 'label');
    const got = await runOrt(readFileSync(join(dir, 'bars.onnx')), x, [m, 1, 8, 8]);
    const p = predicted(await cli(['predict', '--model', 'm-bars/model.json', '--data', 'bars-test.csv']));
    const err = maxRelError(got.data, p.values);
    console.info(`ONNX Runtime on raw features vs deltaflow predict (classifier): max relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
    const argmax = (r: number) => Array.from(got.data.subarray(r * 8, r * 8 + 8)).reduce((b, v, j, a) => (v > a[b] ? j : b), 0);
    expect(p.classes).toEqual(Array.from({ length: m }, (_, r) => String(argmax(r))));
  });

  it('a regression model with zscore features and targets: values in target units, as predict prints them', async () => {
    await cli(['export', '--model', 'm-lin/model.json', '--format', 'onnx', '--out', 'lin.onnx']);
    const { x, m, n } = features(join(dir, 'lin-test.csv'), 'y');
    const got = await runOrt(readFileSync(join(dir, 'lin.onnx')), x, [m, n]);
    const p = predicted(await cli(['predict', '--model', 'm-lin/model.json', '--data', 'lin-test.csv']));
    const err = maxRelError(got.data, p.values);
    console.info(`ONNX Runtime on raw features vs deltaflow predict (regression): max relative error ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-5);
  });

  it('--no-softmax leaves the logits', async () => {
    await cli(['export', '--model', 'm-bars/model.json', '--format', 'onnx', '--out', 'logits.onnx', '--no-softmax']);
    const { x, m } = features(join(dir, 'bars-test.csv'), 'label');
    const logits = await runOrt(readFileSync(join(dir, 'logits.onnx')), x, [m, 1, 8, 8]);
    const sum = Array.from(logits.data.subarray(0, 8)).reduce((a, b) => a + b, 0);
    expect(Math.abs(sum - 1)).toBeGreaterThan(1e-3);
  });
});

describe('deltaflow export --format tfjs', () => {
  it('writes model.json and weights.bin; TF.js on the preprocessed NHWC input gives predict\'s probabilities', async () => {
    const out = await cli(['export', '--model', 'm-bars/model.json', '--format', 'tfjs', '--out', 'bars-tfjs']);
    expect(out).toBe('wrote bars-tfjs/model.json and bars-tfjs/weights.bin: TF.js layers model, 560 parameters; input [batch, 8, 8, 1] NHWC, preprocessed as the model file\'s meta says; softmax probabilities\n');
    const doc = JSON.parse(readFileSync(join(dir, 'bars-tfjs', 'model.json'), 'utf8')) as { modelTopology: object; weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[] };
    const bytes = readFileSync(join(dir, 'bars-tfjs', 'weights.bin'));
    const weightData = new Uint8Array(bytes).buffer;
    const tm = await tf.loadLayersModel({ load: async () => ({ modelTopology: doc.modelTopology, weightSpecs: doc.weightsManifest[0].weights, weightData }) });
    const { x, m } = features(join(dir, 'bars-test.csv'), 'label');
    const y = tf.tidy(() => {
      const out = tm.predict(tf.tensor4d(x.map((v) => v / 255), [m, 1, 8, 8]).transpose([0, 2, 3, 1]));
      return Array.isArray(out) ? [] : Array.from(out.dataSync());
    });
    const p = predicted(await cli(['predict', '--model', 'm-bars/model.json', '--data', 'bars-test.csv']));
    expect(maxRelError(y, p.values)).toBeLessThan(1e-5);
  });
});

describe('deltaflow import', () => {
  it('an exported classifier comes back: predict and evaluate on the imported model.json print exactly what the original prints', async () => {
    const out = await cli(['import', 'bars.onnx', '--out', 'bars-back.json']);
    expect(out).toBe('wrote bars-back.json: input [1, 8, 8], 5 layers (conv2d 4@3×3 (pad 1), relu, maxPool2d 2×2, flatten, dense 8), 560 parameters (trained for classify)\n');
    expect(await cli(['predict', '--model', 'bars-back.json', '--data', 'bars-test.csv'])).toBe(await cli(['predict', '--model', 'm-bars/model.json', '--data', 'bars-test.csv']));
    expect(await cli(['evaluate', '--model', 'bars-back.json', '--data', 'bars-test.csv', '--json'])).toBe(await cli(['evaluate', '--model', 'm-bars/model.json', '--data', 'bars-test.csv', '--json']));
  });

  it('an exported regression model comes back with its normalization: the same values in target units', async () => {
    await cli(['import', 'lin.onnx', '--out', 'lin-back.json']);
    expect(await cli(['predict', '--model', 'lin-back.json', '--data', 'lin-test.csv'])).toBe(await cli(['predict', '--model', 'm-lin/model.json', '--data', 'lin-test.csv']));
  });

  it('a PyTorch-style MLP: evaluate, predict, and train on from the imported model', async () => {
    const bytes = buildOnnx({
      input: { name: 'onnx::Gemm_0', dims: ['batch_size', 64] },
      output: { name: '5' },
      nodes: [
        node('Gemm', ['onnx::Gemm_0', '0.weight', '0.bias'], ['/0/Gemm_output_0'], '/0/Gemm', [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)]),
        node('Relu', ['/0/Gemm_output_0'], ['/1/Relu_output_0'], '/1/Relu'),
        node('Gemm', ['/1/Relu_output_0', '2.weight', '2.bias'], ['5'], '/2/Gemm', [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)]),
      ],
      initializers: [floats('0.weight', [16, 64], weightsOf(1024, 1).map((v) => v / 4)), floats('0.bias', [16], new Float32Array(16)), floats('2.weight', [8, 16], weightsOf(128, 2)), floats('2.bias', [8], new Float32Array(8))],
    });
    writeFileSync(join(dir, 'torch.onnx'), bytes);
    expect(await cli(['import', 'torch.onnx', '--out', 'torch.json'])).toBe('wrote torch.json: input [64], 3 layers (dense 16, relu, dense 8), 1,176 parameters\n');
    const evaluated = JSON.parse(await cli(['evaluate', '--model', 'torch.json', '--data', 'bars-test.csv', '--classes', '8', '--scale', '1/255', '--json'])) as { count: number; accuracy: number };
    expect(evaluated.count).toBe(40);
    const lines = (await cli(['predict', '--model', 'torch.json', '--data', 'bars-test.csv', '--classes', '8', '--scale', '1/255'])).trimEnd().split('\n');
    expect(lines[0]).toBe('class,p_0,p_1,p_2,p_3,p_4,p_5,p_6,p_7');
    expect(lines).toHaveLength(41);
    await cli(['train', '--model', 'torch.json', '--data', 'bars.csv', '--classes', '8', '--scale', '1/255', '--epochs', '6', '--out', 'm-torch', '--quiet']);
    const trained = JSON.parse(await cli(['evaluate', '--model', 'm-torch/model.json', '--data', 'bars-test.csv', '--json'])) as { accuracy: number };
    expect(trained.accuracy).toBeGreaterThan(Math.max(evaluated.accuracy, 0.5));
  });
});

describe('one-line errors', () => {
  it('an ONNX file outside the subset names its nodes', async () => {
    const bytes = buildOnnx({
      input: { name: 'x', dims: ['b', 1, 8, 8] },
      output: { name: 'y' },
      nodes: [node('Conv', ['x', 'w'], ['c'], 'conv1', [attr.ints('dilations', [2, 2])]), node('MaxPool', ['c'], ['y'], 'pool1', [attr.ints('kernel_shape', [2, 2]), attr.int('ceil_mode', 1)])],
      initializers: [floats('w', [2, 1, 3, 3], weightsOf(18, 1))],
    });
    writeFileSync(join(dir, 'dilated.onnx'), bytes);
    const r = await runCli(['import', 'dilated.onnx', '--out', 'x.json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('deltaflow: dilated.onnx: cannot import: node "conv1" (Conv): dilations [2, 2] (only 1 is supported); node "pool1" (MaxPool): ceil_mode = 1 (only 0 is supported)\n');
  });

  it('a truncated file, a missing file, a softmax on a regression model, an unknown format', async () => {
    writeFileSync(join(dir, 'cut.onnx'), readFileSync(join(dir, 'bars.onnx')).subarray(0, 500));
    const cut = await runCli(['import', 'cut.onnx', '--out', 'x.json'], { cwd: dir });
    expect(cut.stderr).toMatch(/^deltaflow: cut\.onnx: not a valid ONNX file: truncated or malformed protobuf \(.* at byte \d+ of 500\)\n$/);
    const missing = await runCli(['import', 'nope.onnx', '--out', 'x.json'], { cwd: dir });
    expect(missing.stderr).toBe('deltaflow: cannot open nope.onnx: no such file or directory\n');
    const softmax = await runCli(['export', '--model', 'm-lin/model.json', '--format', 'onnx', '--out', 'x.onnx', '--softmax'], { cwd: dir });
    expect(softmax.stderr).toBe('deltaflow: a Softmax on a regression model: its outputs are values, not class scores\n');
    const format = await runCli(['export', '--model', 'm-lin/model.json', '--format', 'keras', '--out', 'x'], { cwd: dir });
    expect(format.code).toBe(1);
    expect(format.stderr).toBe("deltaflow: option '--format <onnx|tfjs>' argument 'keras' is invalid. expected one of: onnx, tfjs.\n");
  });
});
