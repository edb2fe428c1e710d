import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { relu, sigmoid } from '../../src/layers/activation.js';
import { conv2d } from '../../src/layers/conv2d.js';
import { dense } from '../../src/layers/dense.js';
import { flatten } from '../../src/layers/flatten.js';
import { maxPool2d } from '../../src/layers/maxPool2d.js';
import { avgPool2d } from '../../src/layers/avgPool2d.js';
import { ModelFileError, loadModel, modelFromJson, modelToJson, saveModel, type JsonObject } from '../../src/layers/modelFile.js';
import { forwardAll, sequential } from '../../src/layers/sequential.js';
import { createRng } from '../../src/ops/random.js';
import { randomF32 } from '../helpers/gradcheck.js';

const small = (seed = 1) => sequential({ input: [1, 5, 5], seed }, conv2d({ filters: 2, kernel: 3 }), relu(), flatten(), dense({ units: 3 }));
const every = (seed = 2) =>
  sequential(
    { input: [2, 8, 8], seed },
    conv2d({ filters: 3, kernel: [3, 2], stride: [1, 2], padding: [1, 0] }),
    relu(),
    maxPool2d({ size: 2, stride: 1 }),
    avgPool2d({ size: [2, 1] }),
    flatten(),
    dense({ units: 4 }),
    sigmoid(),
  );

/** The small model's file as a mutable JSON document. */
function doc(): Record<string, any> {
  return JSON.parse(modelToJson(small()));
}
const load = (d: unknown) => () => modelFromJson(JSON.stringify(d));

describe('model file round trip', () => {
  test('save → load → save is byte-identical, with meta', () => {
    const meta: JsonObject = { task: 'classification', classes: ['cat', 'dog', 'bird'], norm: { mean: [0.1307], std: [0.3081] }, loss: 'softmaxCrossEntropy' };
    const text = modelToJson(every(), meta);
    const loaded = modelFromJson(text);
    expect(modelToJson(loaded.model, loaded.meta)).toBe(text);
    expect(loaded.meta).toEqual(meta);
  });

  test('a file without meta loads with meta undefined and saves without it', () => {
    const text = modelToJson(small());
    const loaded = modelFromJson(text);
    expect(loaded.meta).toBeUndefined();
    expect(modelToJson(loaded.model)).toBe(text);
    expect(text).not.toContain('"meta"');
  });

  test('the loaded model computes bitwise-identical outputs', () => {
    const model = every();
    const loaded = modelFromJson(modelToJson(model)).model;
    const x = { data: randomF32(createRng(5), 3 * 2 * 64), shape: [3, 2, 8, 8] };
    expect(Buffer.from(forwardAll(loaded, x).data.buffer)).toEqual(Buffer.from(forwardAll(model, x).data.buffer));
  });

  test('float32 values round-trip exactly: 0.1f, ±0, subnormals, the largest and smallest normals', () => {
    const model = sequential({ input: [4] }, dense({ units: 3 }));
    const special = [0.1, -0, 0, 1e-45, -1e-45, 1.1754942e-38, 1.1754944e-38, 3.4028235e38, -3.4028235e38, 1 / 3, 16777217, 2.5e-40];
    model.params[0].value.set(special);
    const loaded = modelFromJson(modelToJson(model)).model;
    const back = Array.from(loaded.params[0].value);
    Array.from(model.params[0].value).forEach((v, i) => expect(Object.is(back[i], v), `element ${i}: ${v} came back as ${back[i]}`).toBe(true));
  });

  test('a layer\'s fields in the file are exactly its spec plus params', () => {
    const d = JSON.parse(modelToJson(every()));
    expect(Object.keys(d)).toEqual(['format', 'version', 'input', 'layers']);
    expect(d.layers[0]).toMatchObject({ kind: 'conv2d', filters: 3, kernel: [3, 2], stride: [1, 2], padding: [1, 0] });
    expect(Object.keys(d.layers[0])).toEqual(['kind', 'filters', 'kernel', 'stride', 'padding', 'params']);
    expect(d.layers[0].params.W.shape).toEqual([3, 2, 3, 2]);
    expect(d.layers[2]).toEqual({ kind: 'maxPool2d', size: [2, 2], stride: [1, 1] });
    expect(d.layers[4]).toEqual({ kind: 'flatten' });
  });

  test('an architecture-only file with { seed } initializes like sequential with that seed', () => {
    const d = doc();
    for (const layer of d.layers) delete layer.params;
    const { model } = modelFromJson(JSON.stringify(d), { seed: 9 });
    expect(model.params.map((p) => Array.from(p.value))).toEqual(small(9).params.map((p) => Array.from(p.value)));
    expect(model.seed).toBe(9);
  });
});

describe('model file rejections', () => {
  test('text that is not JSON', () => {
    expect(() => modelFromJson('{"format": ')).toThrow(/^model file: not valid JSON \(/);
  });

  test('a document that is not an object', () => {
    expect(load([1, 2])).toThrow('model file: expected an object, got an array');
  });

  test('another format', () => {
    expect(load({ ...doc(), format: 'keras' })).toThrow('format: expected "deltaflow-model", got "keras"');
  });

  test('another version', () => {
    expect(load({ ...doc(), version: 2 })).toThrow('version: unsupported version 2 (this deltaflow reads version 1)');
  });

  test('an unknown top-level field', () => {
    expect(load({ ...doc(), optimizer: 'sgd' })).toThrow('optimizer: unknown field (known: format, version, input, layers, meta)');
  });

  test('a missing top-level field', () => {
    const d = doc();
    delete d.layers;
    expect(load(d)).toThrow('layers: missing');
  });

  test('a bad input shape', () => {
    expect(load({ ...doc(), input: [1, -5, 5] })).toThrow('input: must be a non-empty list of positive integers, like [784] or [1, 28, 28], got [1, -5, 5]');
  });

  test('a layer that is not an object', () => {
    const d = doc();
    d.layers[1] = 5;
    expect(load(d)).toThrow('layers[1]: expected an object, got 5');
  });

  test('an unknown layer kind', () => {
    const d = doc();
    d.layers[1] = { kind: 'softmax' };
    expect(load(d)).toThrow('layers[1].kind: unknown layer kind "softmax" (known: dense, conv2d, maxPool2d, avgPool2d, flatten, relu, sigmoid, tanh)');
  });

  test('a layer without kind', () => {
    const d = doc();
    d.layers[1] = {};
    expect(load(d)).toThrow('layers[1].kind: missing');
  });

  test('an unknown layer field', () => {
    const d = doc();
    d.layers[3].activation = 'relu';
    expect(load(d)).toThrow('layers[3].activation: unknown field for dense (known: units)');
  });

  test('an unknown field on a layer without options', () => {
    const d = doc();
    d.layers[1].alpha = 0.1;
    expect(load(d)).toThrow('layers[1].alpha: unknown field for relu (known: none)');
  });

  test('a missing layer field (no defaults in files)', () => {
    const d = doc();
    delete d.layers[0].stride;
    expect(load(d)).toThrow('layers[0].stride: missing ([sH, sW] of positive integers)');
  });

  test('a pair written as one number', () => {
    const d = doc();
    d.layers[0].kernel = 3;
    expect(load(d)).toThrow('layers[0].kernel: must be [kH, kW] of positive integers, got 3');
  });

  test('a negative padding', () => {
    const d = doc();
    d.layers[0].padding = [-1, 0];
    expect(load(d)).toThrow('layers[0].padding: must be [pH, pW] of non-negative integers, got [-1, 0]');
  });

  test('a fractional units', () => {
    const d = doc();
    d.layers[3].units = 2.5;
    expect(load(d)).toThrow('layers[3].units: must be a positive integer, got 2.5');
  });

  test('an architecture that does not fit its input', () => {
    const d = doc();
    d.layers.splice(2, 1);
    expect(load(d)).toThrow('layers[2]: layer 2 (dense): expected shape [n], got [2, 3, 3] (add flatten() before it)');
  });

  test('a declared weight shape that disagrees with the inferred one', () => {
    const d = doc();
    d.layers[0].params.W.shape = [2, 1, 3, 2];
    expect(load(d)).toThrow('layers[0].params.W.shape: expected [2, 1, 3, 3] (inferred from the architecture), got [2, 1, 3, 2]');
  });

  test('a weight shape that is not a list of integers', () => {
    const d = doc();
    d.layers[3].params.b.shape = '3';
    expect(load(d)).toThrow('layers[3].params.b.shape: expected a list of non-negative integers, got "3"');
  });

  test('data length different from the product of the shape', () => {
    const d = doc();
    d.layers[3].params.b.data.push(0);
    expect(load(d)).toThrow('layers[3].params.b.data: expected 3 numbers (the product of shape [3]), got 4');
  });

  test('a string in the weight data', () => {
    const d = doc();
    d.layers[0].params.W.data[4] = 'x';
    expect(load(d)).toThrow('layers[0].params.W.data[4]: expected a finite number, got "x"');
  });

  test('null in the weight data', () => {
    const d = doc();
    d.layers[0].params.W.data[0] = null;
    expect(load(d)).toThrow('layers[0].params.W.data[0]: expected a finite number, got null');
  });

  test('1e400 in the weight data (parses to Infinity)', () => {
    const text = modelToJson(small()).replace(/"data": \[[^,\]]+/, '"data": [1e400');
    expect(() => modelFromJson(text)).toThrow('layers[0].params.W.data[0]: expected a finite number, got Infinity');
  });

  test('a finite double outside the float32 range', () => {
    const d = doc();
    d.layers[3].params.W.data[1] = 1e39;
    expect(load(d)).toThrow('layers[3].params.W.data[1]: 1e+39 is outside the float32 range');
  });

  test('a "__proto__" key anywhere', () => {
    const text = modelToJson(small()).replace('{"kind": "relu"}', '{"kind": "relu", "__proto__": {"polluted": 1}}');
    expect(() => modelFromJson(text)).toThrow('layers[1]: forbidden key "__proto__"');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test('a "constructor" key in meta', () => {
    expect(load({ ...doc(), meta: { constructor: { name: 'x' } } })).toThrow('meta: forbidden key "constructor"');
  });

  test('meta that is not an object', () => {
    expect(load({ ...doc(), meta: ['a'] })).toThrow('meta: expected a plain JSON object, got an array');
  });

  test('absurd sizes are refused from the inferred shapes before anything is allocated', () => {
    const d = { format: 'deltaflow-model', version: 1, input: [784], layers: [{ kind: 'dense', units: 1e9, params: { W: { shape: [1e9, 784], data: [] }, b: { shape: [1e9], data: [] } } }] };
    expect(load(d)).toThrow('layers[0]: the model\'s parameters would total 785000000000 numbers, more than the limit of 100000000');
  });

  test('params on a layer that has none', () => {
    const d = doc();
    d.layers[1].params = {};
    expect(load(d)).toThrow('layers[1].params: relu has no parameters');
  });

  test('weights for some layers but not others', () => {
    const d = doc();
    delete d.layers[3].params;
    expect(load(d)).toThrow('layers[3].params: missing, but layers[0] has weights (a model file has weights for every layer with parameters, or for none)');
  });

  test('an unknown parameter name', () => {
    const d = doc();
    d.layers[3].params.V = d.layers[3].params.W;
    expect(load(d)).toThrow('layers[3].params.V: unknown field (known: W, b)');
  });

  test('a missing parameter', () => {
    const d = doc();
    delete d.layers[3].params.b;
    expect(load(d)).toThrow('layers[3].params.b: missing');
  });

  test('an unknown field in a parameter', () => {
    const d = doc();
    d.layers[0].params.W.dtype = 'float32';
    expect(load(d)).toThrow('layers[0].params.W.dtype: unknown field (known: shape, data)');
  });

  test('an architecture-only file without a seed', () => {
    const d = doc();
    for (const layer of d.layers) delete layer.params;
    expect(load(d)).toThrow('layers: the file has no weights (architecture only): pass { seed } to initialize them');
  });

  test('errors are ModelFileErrors carrying the path and the detail', () => {
    const d = doc();
    d.layers[3].units = 0;
    expect(load(d)).toThrow(expect.objectContaining({ name: 'ModelFileError', path: 'layers[3].units', detail: 'must be a positive integer, got 0' }));
  });

  test('saving meta that is not plain JSON is refused', () => {
    expect(() => modelToJson(small(), { when: new Date(0) } as unknown as JsonObject)).toThrow('meta.when: expected JSON data (null, boolean, number, string, array or plain object), got a class instance');
    expect(() => modelToJson(small(), { ratio: NaN })).toThrow('meta.ratio: expected a finite number, got NaN');
  });
});

describe('saveModel / loadModel', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'deltaflow-model-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('saveModel writes the same text as modelToJson, leaves no temporary file, and loadModel reads it back', async () => {
    const path = join(dir, 'small.json');
    const model = small(3);
    await saveModel(path, model, { classes: ['a', 'b', 'c'] });
    expect(await readFile(path, 'utf8')).toBe(modelToJson(model, { classes: ['a', 'b', 'c'] }));
    expect(await readdir(dir)).toEqual(['small.json']);
    const { model: loaded, meta } = await loadModel(path);
    expect(meta).toEqual({ classes: ['a', 'b', 'c'] });
    expect(loaded.params.map((p) => Array.from(p.value))).toEqual(model.params.map((p) => Array.from(p.value)));
  });

  test('loadModel errors name the file and the place in the document', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, JSON.stringify({ ...doc(), version: 3 }));
    await expect(loadModel(path)).rejects.toThrow(`${path}: version: unsupported version 3 (this deltaflow reads version 1)`);
    await expect(loadModel(path)).rejects.toBeInstanceOf(ModelFileError);
  });
});
