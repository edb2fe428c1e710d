/**
 * Model files: a model's architecture and weights as one JSON document (docs/model-format.md).
 *
 *   {"format": "deltaflow-model", "version": 1, "input": [1, 28, 28],
 *    "layers": [{"kind": "conv2d", "filters": 6, "kernel": [5, 5], "stride": [1, 1], "padding": [0, 0],
 *                "params": {"W": {"shape": [6, 1, 5, 5], "data": [...]}, "b": {"shape": [6], "data": [...]}}},
 *               {"kind": "relu"}, ...],
 *    "meta": {...}}
 *
 * A layer's fields are its spec (written from the spec object, read back by the same `readSpec` that
 * checks the factory's options), so no field list is written twice. Weights are plain JSON numbers:
 * a float32 widened to double prints as a decimal that parses back to the same float32 (and -0 is
 * written as `-0`), so save → load is exact and save → load → save is byte-identical.
 *
 * Loading trusts nothing: JSON.parse only, every field checked with its path in the document
 * (`layers[3].params.W.shape`), sizes capped before anything is allocated, nothing ignored.
 */
import { open, stat } from 'node:fs/promises';
import { ShapeError, formatShape, sizeOf } from '../ops/tensor.js';
import type { LayerShapes, LayerSpec } from './layer.js';
import { OptionError, optionReader, showValue } from './options.js';
import { inferLayer, isLayerKind, layerKinds } from './registry.js';
import { checkInputShape, createModel, type Model } from './sequential.js';
import { writeFileAtomic } from './writeFileAtomic.js';

export const MODEL_FORMAT = 'deltaflow-model';
export const MODEL_VERSION = 1;
/** Default cap on the total number of parameters a loaded model may declare. */
export const MAX_MODEL_ELEMENTS = 1e8;
/** Default cap on a model file's size in bytes (V8 cannot hold a much longer string). */
export const MAX_MODEL_BYTES = 512 * 1024 * 1024;

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

/** A model file that cannot be read: `path` is the place in the document (`layers[3].params.W.shape`), `file` the file when known. */
export class ModelFileError extends Error {
  constructor(
    readonly path: string,
    readonly detail: string,
    readonly file?: string,
  ) {
    super(`${file === undefined ? '' : `${file}: `}${path === '' ? 'model file' : path}: ${detail}`);
    this.name = 'ModelFileError';
  }
}

export interface LoadOptions {
  /** Seed for initializing the parameters of an architecture-only file (required then); also the model's `seed`. Default 0. */
  readonly seed?: number;
  /** Cap on the total number of parameters; default MAX_MODEL_ELEMENTS. */
  readonly maxElements?: number;
}

/** A loaded model and the file's free-form `meta` object (undefined when the file has none). */
export interface LoadedModel {
  readonly model: Model;
  readonly meta: JsonObject | undefined;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_JSON_DEPTH = 64;

// ---------------------------------------------------------------------------------------------
// JSON values: checking (meta, on save and load) and writing.

const at = (path: string, key: string | number): string =>
  typeof key === 'number' ? `${path}[${key}]` : path === '' ? key : `${path}.${key}`;

function isPlainObject(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `value` as a JSON value, or a ModelFileError naming the first part that is not plain JSON data. */
function checkJson(value: unknown, path: string, depth = 0): JsonValue {
  if (depth > MAX_JSON_DEPTH) throw new ModelFileError(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ModelFileError(path, `expected a finite number, got ${value}`);
    return value;
  }
  if (Array.isArray(value)) return value.map((v: unknown, i) => checkJson(v, at(path, i), depth + 1));
  if (typeof value === 'object' && isPlainObject(value)) return checkJsonObject(value, path, depth);
  throw new ModelFileError(path, `expected JSON data (null, boolean, number, string, array or plain object), got ${typeof value === 'object' ? 'a class instance' : typeof value}`);
}

function checkJsonObject(value: unknown, path: string, depth = 0): JsonObject {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || !isPlainObject(value)) {
    throw new ModelFileError(path, `expected a plain JSON object, got ${Array.isArray(value) ? 'an array' : showValue(value)}`);
  }
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => {
      if (FORBIDDEN_KEYS.has(k)) throw new ModelFileError(path, `forbidden key "${k}"`);
      return [k, checkJson(v, at(path, k), depth + 1)];
    }),
  );
}

/** A float32 (or any finite double) as JSON: the shortest decimal that reads back to the same double; -0 stays -0. */
function numberToJson(v: number): string {
  return Object.is(v, -0) ? '-0' : String(v);
}

/** Compact, deterministic JSON: `{"a": 1, "b": [1, 2]}` with keys in insertion order. */
function writeJson(v: JsonValue): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'number') return numberToJson(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(writeJson).join(', ')}]`;
  return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${writeJson(x)}`).join(', ')}}`;
}

// ---------------------------------------------------------------------------------------------
// Save

/**
 * The model as a model-file document (a string ending in a newline). `meta` must be a plain JSON object.
 *
 * @example const text = modelToJson(model, { classes: ['0', '1'] });
 */
export function modelToJson(model: Model, meta?: JsonObject): string {
  const checkedMeta = meta === undefined ? undefined : checkJsonObject(meta, 'meta');
  // A NaN or ±Infinity weight is never written (it is not JSON, and it would poison every later run).
  model.layers.forEach((layer, i) =>
    layer.params.forEach((p) => {
      const bad = p.value.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) throw new ModelFileError(`layers[${i}].params.${p.name}.data[${bad}]`, `cannot save a non-finite weight (${p.value[bad]}); the model was not written`);
    }),
  );
  const layerLines = model.layers.map((layer) => {
    // The spec object is the one description of a layer's fields; its key order is fixed by readSpec.
    const fields = Object.entries(layer.spec).map(([k, v]) => `${JSON.stringify(k)}: ${writeJson(checkJson(v, k))}`);
    if (layer.params.length > 0) {
      const params = layer.params.map(
        (p) => `${JSON.stringify(p.name)}: {"shape": ${writeJson(p.shape)}, "data": [${Array.from(p.value, numberToJson).join(',')}]}`,
      );
      fields.push(`"params": {${params.join(', ')}}`);
    }
    return `    {${fields.join(', ')}}`;
  });
  const lines = [
    '{',
    `  "format": ${JSON.stringify(MODEL_FORMAT)},`,
    `  "version": ${MODEL_VERSION},`,
    `  "input": ${writeJson(model.input)},`,
    layerLines.length === 0 ? `  "layers": []${checkedMeta === undefined ? '' : ','}` : `  "layers": [\n${layerLines.join(',\n')}\n  ]${checkedMeta === undefined ? '' : ','}`,
    ...(checkedMeta === undefined ? [] : [`  "meta": ${writeJson(checkedMeta)}`]),
    '}',
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Write the model file atomically: a temporary file beside `path`, fsync, rename, fsync of the directory,
 * so a crash leaves either the old file or the new one, never half of one.
 *
 * @example await saveModel('lenet.json', model, { classes });
 */
export async function saveModel(path: string, model: Model, meta?: JsonObject): Promise<void> {
  await writeFileAtomic(path, modelToJson(model, meta));
}

// ---------------------------------------------------------------------------------------------
// Load

/** Every key of every object in the parsed document, checked against the forbidden names. */
function rejectForbiddenKeys(value: unknown, path: string, depth: number): void {
  if (value === null || typeof value !== 'object') return;
  if (depth > MAX_JSON_DEPTH) throw new ModelFileError(path, `nested deeper than ${MAX_JSON_DEPTH} levels`);
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => rejectForbiddenKeys(v, at(path, i), depth + 1));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (FORBIDDEN_KEYS.has(k)) throw new ModelFileError(path, `forbidden key "${k}"`);
    rejectForbiddenKeys(v, at(path, k), depth + 1);
  }
}

/** `value` as an object's entries, or an error naming `path`. */
function objectAt(value: unknown, path: string): Map<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ModelFileError(path, `expected an object, got ${Array.isArray(value) ? 'an array' : showValue(value)}`);
  }
  return new Map(Object.entries(value));
}

/** Exactly the `known` keys (all of `required` present); an unknown one is an error, never ignored. */
function checkKeys(obj: Map<string, unknown>, path: string, known: readonly string[], required: readonly string[]): void {
  for (const key of obj.keys()) {
    if (!known.includes(key)) throw new ModelFileError(at(path, key), `unknown field (known: ${known.join(', ')})`);
  }
  for (const key of required) {
    if (!obj.has(key)) throw new ModelFileError(at(path, key), 'missing');
  }
}

/** Read a layer's spec from its fields (minus `kind` and `params`) with the kind's own readSpec, in file mode. */
function readLayerSpec(raw: Map<string, unknown>, path: string): LayerSpec {
  const kind = raw.get('kind');
  if (kind === undefined) throw new ModelFileError(at(path, 'kind'), 'missing');
  if (typeof kind !== 'string' || !isLayerKind(kind)) {
    throw new ModelFileError(at(path, 'kind'), `unknown layer kind ${showValue(kind)} (known: ${Object.keys(layerKinds).join(', ')})`);
  }
  const fields = Object.fromEntries([...raw].filter(([k]) => k !== 'kind' && k !== 'params'));
  try {
    return layerKinds[kind].readSpec(optionReader(kind, fields, path));
  } catch (e) {
    if (e instanceof OptionError) throw new ModelFileError(e.option === '' ? path : at(path, e.option), e.detail);
    throw e;
  }
}

function shapeAt(value: unknown, path: string): number[] {
  if (!Array.isArray(value) || !value.every((d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFileError(path, `expected a list of non-negative integers, got ${showValue(value)}`);
  }
  return value;
}

/** One parameter's data, checked element by element, as float32 (allocated only after every check passed). */
function paramData(value: unknown, path: string, shape: readonly number[]): Float32Array {
  if (!Array.isArray(value)) throw new ModelFileError(path, `expected an array of numbers, got ${showValue(value)}`);
  const n = sizeOf(shape);
  if (value.length !== n) throw new ModelFileError(path, `expected ${n} numbers (the product of shape ${formatShape(shape)}), got ${value.length}`);
  value.forEach((v: unknown, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new ModelFileError(at(path, i), `expected a finite number, got ${showValue(v)}`);
    if (!Number.isFinite(Math.fround(v))) throw new ModelFileError(at(path, i), `${v} is outside the float32 range`);
  });
  return Float32Array.from(value);
}

/** The weights of one layer with parameters, from its `params` object, against the inferred shapes. */
function readParams(value: unknown, path: string, shapes: LayerShapes): Float32Array[] {
  const obj = objectAt(value, path);
  const names = shapes.params.map((p) => p.name);
  checkKeys(obj, path, names, names);
  const declared = shapes.params.map((p) => {
    const entry = objectAt(obj.get(p.name), at(path, p.name));
    checkKeys(entry, at(path, p.name), ['shape', 'data'], ['shape', 'data']);
    const shape = shapeAt(entry.get('shape'), at(at(path, p.name), 'shape'));
    if (!(shape.length === p.shape.length && shape.every((d, i) => d === p.shape[i]))) {
      throw new ModelFileError(at(at(path, p.name), 'shape'), `expected ${formatShape(p.shape)} (inferred from the architecture), got ${formatShape(shape)}`);
    }
    return { shape, data: entry.get('data'), path: at(at(path, p.name), 'data') };
  });
  return declared.map((d) => paramData(d.data, d.path, d.shape));
}

/**
 * Read a model file's text. Without weights in the file (architecture only), parameters are
 * initialized from `options.seed`, which is then required.
 *
 * @example const { model, meta } = modelFromJson(text);
 */
export function modelFromJson(text: string, options: LoadOptions = {}): LoadedModel {
  const maxElements = options.maxElements ?? MAX_MODEL_ELEMENTS;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError('', `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  rejectForbiddenKeys(doc, '', 0);
  const root = objectAt(doc, '');
  checkKeys(root, '', ['format', 'version', 'input', 'layers', 'meta'], ['format', 'version', 'input', 'layers']);
  if (root.get('format') !== MODEL_FORMAT) {
    throw new ModelFileError('format', `expected ${JSON.stringify(MODEL_FORMAT)}, got ${showValue(root.get('format'))}`);
  }
  if (root.get('version') !== MODEL_VERSION) {
    throw new ModelFileError('version', `unsupported version ${showValue(root.get('version'))} (this deltaflow reads version ${MODEL_VERSION})`);
  }
  let input: readonly number[];
  try {
    input = checkInputShape('input', root.get('input'));
  } catch (e) {
    if (e instanceof OptionError) throw new ModelFileError('input', e.detail);
    throw e;
  }
  const rawLayers = root.get('layers');
  if (!Array.isArray(rawLayers)) throw new ModelFileError('layers', `expected an array of layers, got ${showValue(rawLayers)}`);

  // Pass 1: specs and shapes, no allocation. Sizes are capped before any weight is read.
  const specs: LayerSpec[] = [];
  const placed: { raw: Map<string, unknown>; path: string; shapes: LayerShapes }[] = [];
  let inShape = input;
  let nElements = 0;
  rawLayers.forEach((value: unknown, index) => {
    const path = `layers[${index}]`;
    const raw = objectAt(value, path);
    const spec = readLayerSpec(raw, path);
    let shapes: LayerShapes;
    try {
      shapes = inferLayer(spec, inShape, index);
    } catch (e) {
      if (e instanceof ShapeError) throw new ModelFileError(path, e.message);
      throw e;
    }
    nElements += shapes.params.reduce((n, p) => n + sizeOf(p.shape), 0);
    if (nElements > maxElements) {
      throw new ModelFileError(path, `the model's parameters would total ${nElements} numbers, more than the limit of ${maxElements}`);
    }
    if (shapes.params.length === 0 && raw.has('params')) throw new ModelFileError(at(path, 'params'), `${spec.kind} has no parameters`);
    specs.push(spec);
    placed.push({ raw, path, shapes });
    inShape = shapes.outShape;
  });

  // Weights for every layer that has parameters, or for none.
  const withParams = placed.filter((p) => p.shapes.params.length > 0);
  const first = withParams[0];
  const hasWeights = first !== undefined && first.raw.has('params');
  for (const p of withParams) {
    if (p.raw.has('params') !== hasWeights) {
      const rule = 'a model file has weights for every layer with parameters, or for none';
      throw new ModelFileError(at(p.path, 'params'), hasWeights ? `missing, but ${first.path} has weights (${rule})` : `present, but ${first.path} has none (${rule})`);
    }
  }
  if (first !== undefined && !hasWeights && options.seed === undefined) {
    throw new ModelFileError('layers', 'the file has no weights (architecture only): pass { seed } to initialize them');
  }

  const meta = root.has('meta') ? checkJsonObject(root.get('meta'), 'meta') : undefined;
  // Pass 2: weights (each checked, then converted to float32).
  const values = hasWeights ? withParams.flatMap((p) => readParams(p.raw.get('params'), at(p.path, 'params'), p.shapes)) : undefined;
  const model = createModel(input, specs, options.seed ?? 0, values);
  return { model, meta };
}

/**
 * A model file's text, read into one buffer of the size checked first: only a regular file (a FIFO or
 * `/dev/zero` would never end), at most MAX_MODEL_BYTES, not growing while read, valid UTF-8 (a fatal
 * decoder: no U+FFFD slips into names).
 */
async function readModelText(path: string): Promise<string> {
  // Checked before opening too: opening a FIFO for reading blocks until a writer comes.
  if (!(await stat(path)).isFile()) throw new ModelFileError('', 'not a regular file', path);
  const fh = await open(path, 'r');
  try {
    const info = await fh.stat();
    if (!info.isFile()) throw new ModelFileError('', 'not a regular file', path);
    if (info.size > MAX_MODEL_BYTES) throw new ModelFileError('', `the file has ${info.size} bytes, more than the limit of ${MAX_MODEL_BYTES}`, path);
    // One byte more than the file's size: filling it means the file grew while being read.
    const buf = Buffer.allocUnsafe(info.size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) throw new ModelFileError('', `the file grew while being read (past ${info.size} bytes)`, path);
    }
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw new ModelFileError('', 'not valid UTF-8 text', path);
    }
  } finally {
    await fh.close();
  }
}

/**
 * Read a model file. Errors name the file and the place in the document.
 *
 * @example const { model, meta } = await loadModel('lenet.json');
 */
export async function loadModel(path: string, options: LoadOptions = {}): Promise<LoadedModel> {
  const text = await readModelText(path);
  try {
    return modelFromJson(text, options);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(e.path, e.detail, path);
    throw e;
  }
}
