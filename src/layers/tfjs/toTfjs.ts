/**
 * TensorFlow.js export: a sequential model as a TF.js layers model — `model.json` (a Keras
 * `Sequential` topology plus the weights manifest) and one weights binary — loadable by
 * `tf.loadLayersModel`.
 *
 * Layouts. TF.js's convolutional layers are channels-last, so images go NHWC:
 *
 *   input          deltaflow `[c, h, w]` → TF.js `[batch, h, w, c]`; a vector `[n]` stays `[batch, n]`
 *   conv2d         Conv2D, kernel `[kH, kW, cIn, cOut]`: K[u, v, c, o] = W[o, c, u, v]; padding 'valid',
 *                  after a ZeroPadding2D `[[pH, pH], [pW, pW]]` when the conv pads
 *   maxPool2d, avgPool2d   MaxPooling2D, AveragePooling2D, padding 'valid'
 *   flatten        Flatten: TF.js flattens `[h, w, c]` in (h, w, c) order, deltaflow `[c, h, w]` in
 *                  (c, h, w) order, so the first dense after a flatten gets its input rows permuted:
 *                  K[(h·W + w)·C + c, o] = W[o, (c·H + h)·W + w]
 *   dense          Dense, kernel `[in, units]` = Wᵀ (permuted as above after a flatten), bias b
 *   relu, sigmoid, tanh   Activation; a final Activation 'softmax' for a classifier's logits
 *
 * The model expects the preprocessed features `x = (v · scale − a) / b` (the model file's meta;
 * `userDefinedMetadata.deltaflow` repeats it), NHWC for images. Its outputs are NHWC too when the
 * model ends in an image, and normalized targets for a regression model that learned them.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Layer } from '../layer.js';
import { dataTransforms } from '../interchangeMeta.js';
import { ModelFileError, type JsonObject, type JsonValue } from '../modelFile.js';
import type { Model } from '../sequential.js';
import { writeFileAtomic } from '../writeFileAtomic.js';

export interface TfjsExportOptions {
  /** End with a softmax Activation; default as for ONNX: on for a classifier trained with softmax cross-entropy. */
  readonly softmax?: boolean;
  /** The weights file's name in the manifest; default `weights.bin`. */
  readonly weightsFile?: string;
}

/** A TF.js weight as the manifest lists it. */
export interface TfjsWeightSpec {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: 'float32';
}

/** What `saveTfjs` writes: the `model.json` document and the weights binary (float32, little-endian, in manifest order). */
export interface TfjsArtifacts {
  readonly modelJson: JsonObject;
  /** The Keras topology and the metadata inside modelJson, as a TF.js IO handler hands them over. */
  readonly modelTopology: JsonObject;
  readonly userDefinedMetadata: { readonly deltaflow: JsonObject };
  readonly weightSpecs: readonly TfjsWeightSpec[];
  readonly weightData: Uint8Array;
}

interface Builder {
  readonly layers: JsonObject[];
  readonly specs: TfjsWeightSpec[];
  readonly data: Float32Array[];
  /** Flat TF.js index → flat deltaflow index of the current vector (null: the same order). */
  perm: Int32Array | null;
  /** The first layer carries the input shape. */
  inputShape: JsonValue[] | null;
}

function push(b: Builder, className: string, config: JsonObject): void {
  const withInput = b.inputShape === null ? config : { ...config, batch_input_shape: b.inputShape };
  b.inputShape = null;
  b.layers.push({ class_name: className, config: { ...withInput, trainable: true } });
}

function addWeight(b: Builder, name: string, shape: readonly number[], values: Float32Array): void {
  b.specs.push({ name, shape, dtype: 'float32' });
  b.data.push(values);
}

/** K[u, v, c, o] = W[o, c, u, v]. */
function convKernel(W: Float32Array, cOut: number, cIn: number, kH: number, kW: number): Float32Array {
  const K = new Float32Array(W.length);
  for (let o = 0; o < cOut; o++)
    for (let c = 0; c < cIn; c++)
      for (let u = 0; u < kH; u++) for (let v = 0; v < kW; v++) K[((u * kW + v) * cIn + c) * cOut + o] = W[((o * cIn + c) * kH + u) * kW + v];
  return K;
}

/** K[r, o] = W[o, perm[r]] (perm null: r itself). */
function denseKernel(W: Float32Array, units: number, nIn: number, perm: Int32Array | null): Float32Array {
  const K = new Float32Array(W.length);
  for (let r = 0; r < nIn; r++) {
    const col = perm === null ? r : perm[r];
    for (let o = 0; o < units; o++) K[r * units + o] = W[o * nIn + col];
  }
  return K;
}

/** For `[c, h, w]` flattened channels-last: perm[(h·W + w)·C + c] = (c·H + h)·W + w. */
function nhwcToNchw(shape: readonly number[]): Int32Array {
  const [C, H, W] = shape;
  const perm = new Int32Array(C * H * W);
  for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) perm[(h * W + w) * C + c] = (c * H + h) * W + w;
  return perm;
}

function addLayer(b: Builder, layer: Layer, i: number): void {
  const spec = layer.spec;
  const name = `${spec.kind.toLowerCase()}${i}`;
  const image = { data_format: 'channels_last' };
  switch (spec.kind) {
    case 'conv2d': {
      const [pH, pW] = spec.padding;
      if (pH > 0 || pW > 0) push(b, 'ZeroPadding2D', { name: `${name}_pad`, padding: [[pH, pH], [pW, pW]], ...image });
      push(b, 'Conv2D', { name, filters: spec.filters, kernel_size: [...spec.kernel], strides: [...spec.stride], padding: 'valid', dilation_rate: [1, 1], activation: 'linear', use_bias: true, ...image });
      const [W, bias] = layer.params;
      const [cOut, cIn, kH, kW] = W.shape;
      addWeight(b, `${name}/kernel`, [kH, kW, cIn, cOut], convKernel(W.value, cOut, cIn, kH, kW));
      addWeight(b, `${name}/bias`, bias.shape, bias.value);
      return;
    }
    case 'maxPool2d':
    case 'avgPool2d':
      push(b, spec.kind === 'maxPool2d' ? 'MaxPooling2D' : 'AveragePooling2D', { name, pool_size: [...spec.size], strides: [...spec.stride], padding: 'valid', ...image });
      return;
    case 'flatten':
      push(b, 'Flatten', { name, ...image });
      if (layer.inShape.length === 3) b.perm = nhwcToNchw(layer.inShape);
      return;
    case 'dense': {
      push(b, 'Dense', { name, units: spec.units, activation: 'linear', use_bias: true });
      const [W, bias] = layer.params;
      const [units, nIn] = W.shape;
      addWeight(b, `${name}/kernel`, [nIn, units], denseKernel(W.value, units, nIn, b.perm));
      addWeight(b, `${name}/bias`, bias.shape, bias.value);
      b.perm = null;
      return;
    }
    case 'relu':
    case 'sigmoid':
    case 'tanh':
      push(b, 'Activation', { name, activation: spec.kind });
      return;
  }
}

/** Float32 values concatenated as little-endian bytes. */
function concatLittleEndian(parts: readonly Float32Array[]): Uint8Array {
  const bytes = new Uint8Array(4 * parts.reduce((n, p) => n + p.length, 0));
  const view = new DataView(bytes.buffer);
  let at = 0;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++, at += 4) view.setFloat32(at, p[i], true);
  }
  return bytes;
}

/**
 * The model as TF.js layers-model artifacts. `meta` decides the default softmax and is repeated in
 * `userDefinedMetadata.deltaflow`; the preprocessing is not in the graph (see the file comment).
 *
 * @example const { modelJson, weightData } = toTfjs(model, meta);
 */
export function toTfjs(model: Model, meta?: JsonObject, options: TfjsExportOptions = {}): TfjsArtifacts {
  const t = dataTransforms(model, meta);
  const isVectorOut = model.outShape.length === 1;
  const hasSoftmax = options.softmax ?? (t.hasLogits && isVectorOut);
  if (hasSoftmax && !isVectorOut) throw new ModelFileError('', `a softmax needs one vector of outputs per sample, but the model outputs [${model.outShape.join(', ')}]`);
  if (hasSoftmax && meta?.task === 'regress') throw new ModelFileError('meta.task', 'a softmax on a regression model: its outputs are values, not class scores');
  const bad = model.params.findIndex((p) => p.value.some((v) => !Number.isFinite(v)));
  if (bad >= 0) throw new ModelFileError('', `cannot export a non-finite weight (parameter ${bad}, ${model.params[bad].name})`);

  const input = model.input.length === 3 ? [model.input[1], model.input[2], model.input[0]] : [...model.input];
  const b: Builder = { layers: [], specs: [], data: [], perm: null, inputShape: [null, ...input] };
  model.layers.forEach((layer, i) => addLayer(b, layer, i));
  if (hasSoftmax) push(b, 'Activation', { name: 'softmax', activation: 'softmax' });
  if (b.layers.length === 0) push(b, 'Activation', { name: 'identity', activation: 'linear' });

  const weightsFile = options.weightsFile ?? 'weights.bin';
  const out = model.outShape.length === 3 ? [model.outShape[1], model.outShape[2], model.outShape[0]] : [...model.outShape];
  const modelTopology: JsonObject = {
    class_name: 'Sequential',
    config: { name: 'deltaflow', layers: b.layers },
    keras_version: 'tfjs-layers 4.22.0',
    backend: 'tensor_flow.js',
  };
  const userDefinedMetadata = {
    deltaflow: {
      input: [null, ...input],
      inputLayout: model.input.length === 3 ? 'NHWC' : 'features',
      inputIsPreprocessed: true,
      output: [null, ...out],
      outputs: hasSoftmax ? 'probabilities' : t.targetNormalize !== null ? 'normalized targets' : 'model outputs',
      ...(meta === undefined ? {} : { meta }),
    },
  };
  const modelJson: JsonObject = {
    format: 'layers-model',
    generatedBy: 'deltaflow',
    convertedBy: null,
    modelTopology,
    weightsManifest: [{ paths: [weightsFile], weights: b.specs.map((s) => ({ name: s.name, shape: [...s.shape], dtype: s.dtype })) }],
    userDefinedMetadata,
  };
  return { modelJson, modelTopology, userDefinedMetadata, weightSpecs: b.specs, weightData: concatLittleEndian(b.data) };
}

/**
 * Write the TF.js model into folder `dir` (created if missing): `model.json` and the weights binary.
 *
 * @example await saveTfjs('web/model', model, meta); // tf.loadLayersModel('…/web/model/model.json')
 */
export async function saveTfjs(dir: string, model: Model, meta?: JsonObject, options: TfjsExportOptions = {}): Promise<void> {
  const { modelJson, weightData } = toTfjs(model, meta, options);
  await mkdir(dir, { recursive: true });
  await writeFileAtomic(join(dir, options.weightsFile ?? 'weights.bin'), weightData);
  await writeFileAtomic(join(dir, 'model.json'), `${JSON.stringify(modelJson)}\n`);
}
