/**
 * ONNX import: a chain of ONNX nodes (onnxGraph.ts) as a deltaflow sequential model, for the
 * operators deltaflow's layers compute, written the way exporters (PyTorch's `torch.onnx.export` of an
 * `nn.Sequential`, and deltaflow's own toOnnx) write them:
 *
 *   Gemm(x, B, C)           dense; transB = 1: W = B `[units, in]`; transB = 0: W = Bᵀ; alpha = beta = 1
 *   MatMul(x, B) [+ Add(C)] dense with W = Bᵀ (B is `[in, units]`), b = C (zero without the Add)
 *   Conv(x, W, B)           conv2d; pads [top, left, bottom, right] with top = bottom, left = right;
 *                           dilations 1, group 1, auto_pad NOTSET or VALID
 *   MaxPool, AveragePool    maxPool2d, avgPool2d; pads 0, ceil_mode 0, dilations 1 (ONNX strides default to 1)
 *   Flatten(axis = 1), Reshape(x, [−1 or 0 or batch, −1 or n])   flatten
 *   Relu, Sigmoid, Tanh     relu, sigmoid, tanh;  Identity: nothing
 *   Softmax as the last node  dropped: deltaflow models output logits, and `predict` applies softmax
 *
 * A file deltaflow wrote (its metadata holds `deltaflow.meta`) also has its preprocessing nodes and
 * its targets' inverse transform read back into the model file's meta (scale, normalize,
 * targetNormalize), from the constants in the graph, so the imported model file predicts from raw
 * features exactly as the graph did.
 *
 * Everything else is refused with one line listing every unsupported operator and attribute with its
 * node (name and op type), e.g. `cannot import: node "c1" (Conv): dilations [2, 2] (only 1 is
 * supported); node "bn" (BatchNormalization): operator not supported`.
 */
import { open, stat } from 'node:fs/promises';
import { ShapeError } from '../../ops/tensor.js';
import type { LayerSpec } from '../layer.js';
import { metaFromText } from '../interchangeMeta.js';
import { ModelFileError, type JsonObject, type LoadedModel } from '../modelFile.js';
import { inferLayer } from '../registry.js';
import { createModel } from '../sequential.js';
import { MAX_ONNX_BYTES, decodeModelProto } from './decodeOnnx.js';
import { OnnxError } from './onnxError.js';
import { readOnnxGraph, type OnnxAttribute, type OnnxGraph, type OnnxNode } from './onnxGraph.js';
import { DataType } from './onnxSchema.js';
import { floatValues, type OnnxTensor } from './onnxTensors.js';
import { META_KEY } from './toOnnx.js';

export interface OnnxImportOptions {
  /** The imported model's `seed` (used only if it is later re-initialized); default 0. */
  readonly seed?: number;
}

// ---------------------------------------------------------------------------------------------
// Attributes

const showList = (v: readonly number[]): string => `[${v.join(', ')}]`;

function attribute(node: OnnxNode, key: string): OnnxAttribute | undefined {
  return node.attributes.get(key);
}

/** An INT attribute's value, `fallback` when absent, or NaN when it has another type (reported by `check`). */
function intAttr(node: OnnxNode, key: string, fallback: number): number {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'int' ? a.value : NaN;
}

function intsAttr(node: OnnxNode, key: string, fallback: readonly number[]): readonly number[] {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'ints' ? a.value : [NaN];
}

function stringAttr(node: OnnxNode, key: string, fallback: string): string {
  const a = attribute(node, key);
  if (a === undefined) return fallback;
  return a.kind === 'string' ? a.value : '?';
}

/** Problems with a node's attributes: unknown names and wrong kinds. */
function attributeProblems(node: OnnxNode, known: { readonly [key: string]: OnnxAttribute['kind'] }): string[] {
  const problems: string[] = [];
  for (const [key, a] of node.attributes) {
    const kind = known[key];
    if (kind === undefined) problems.push(`attribute "${key}" is not supported`);
    else if (a.kind !== kind) problems.push(`attribute "${key}" must be ${kind === 'ints' ? 'a list of integers' : kind === 'int' ? 'an integer' : kind}`);
  }
  return problems;
}

const allOnes = (v: readonly number[]): boolean => v.every((d) => d === 1);
const allZeros = (v: readonly number[]): boolean => v.every((d) => d === 0);

// ---------------------------------------------------------------------------------------------
// Per-operator checks (attributes only, no shapes) — every problem of every node is listed at once.

const CONV_ATTRS = { kernel_shape: 'ints', strides: 'ints', pads: 'ints', dilations: 'ints', group: 'int', auto_pad: 'string' } as const;
const POOL_ATTRS = { kernel_shape: 'ints', strides: 'ints', pads: 'ints', ceil_mode: 'int', auto_pad: 'string', dilations: 'ints', storage_order: 'int', count_include_pad: 'int' } as const;

function checkAutoPad(node: OnnxNode, problems: string[]): void {
  const autoPad = stringAttr(node, 'auto_pad', 'NOTSET');
  if (autoPad !== 'NOTSET' && autoPad !== 'VALID') problems.push(`auto_pad ${autoPad} (only NOTSET with explicit pads, or VALID, is supported)`);
}

function checkWindow(node: OnnxNode, problems: string[]): void {
  const kernel = intsAttr(node, 'kernel_shape', [1, 1]);
  const strides = intsAttr(node, 'strides', [1, 1]);
  if (kernel.length !== 2) problems.push(`kernel_shape ${showList(kernel)} (2-D windows only)`);
  if (strides.length !== 2 || !strides.every((s) => Number.isSafeInteger(s) && s >= 1)) problems.push(`strides ${showList(strides)} (two positive integers)`);
  const dilations = intsAttr(node, 'dilations', [1, 1]);
  if (!allOnes(dilations)) problems.push(`dilations ${showList(dilations)} (only 1 is supported)`);
  checkAutoPad(node, problems);
}

const checks: { readonly [opType: string]: (node: OnnxNode) => string[] } = {
  Gemm(node) {
    const problems = attributeProblems(node, { alpha: 'float', beta: 'float', transA: 'int', transB: 'int' });
    const alpha = attribute(node, 'alpha');
    const beta = attribute(node, 'beta');
    if (alpha?.kind === 'float' && alpha.value !== 1) problems.push(`alpha = ${alpha.value} (only 1 is supported)`);
    if (beta?.kind === 'float' && beta.value !== 1) problems.push(`beta = ${beta.value} (only 1 is supported)`);
    if (intAttr(node, 'transA', 0) !== 0) problems.push('transA = 1 (only 0 is supported)');
    const transB = intAttr(node, 'transB', 0);
    if (transB !== 0 && transB !== 1) problems.push(`transB = ${transB}`);
    return problems;
  },
  MatMul: (node) => attributeProblems(node, {}),
  Conv(node) {
    const problems = attributeProblems(node, CONV_ATTRS);
    checkWindow(node, problems);
    const pads = intsAttr(node, 'pads', [0, 0, 0, 0]);
    if (pads.length !== 4 || !pads.every((p) => Number.isSafeInteger(p) && p >= 0)) problems.push(`pads ${showList(pads)} (four non-negative integers)`);
    else if (pads[0] !== pads[2] || pads[1] !== pads[3]) problems.push(`asymmetric pads ${showList(pads)} (top must equal bottom and left equal right)`);
    const group = intAttr(node, 'group', 1);
    if (group !== 1) problems.push(`group = ${group} (only 1 is supported)`);
    return problems;
  },
  MaxPool: checkPool,
  AveragePool: checkPool,
  Flatten(node) {
    const problems = attributeProblems(node, { axis: 'int' });
    const axis = intAttr(node, 'axis', 1);
    if (axis !== 1) problems.push(`axis = ${axis} (only 1 is supported)`);
    return problems;
  },
  Reshape(node) {
    const problems = attributeProblems(node, { allowzero: 'int' });
    if (intAttr(node, 'allowzero', 0) !== 0) problems.push('allowzero = 1 (only 0 is supported)');
    return problems;
  },
  Relu: (node) => attributeProblems(node, {}),
  Sigmoid: (node) => attributeProblems(node, {}),
  Tanh: (node) => attributeProblems(node, {}),
  Identity: (node) => attributeProblems(node, {}),
  Add: () => ['an Add is only supported as the bias right after a MatMul'],
  Softmax: () => ['a Softmax is only supported as the last node'],
};

function checkPool(node: OnnxNode): string[] {
  const problems = attributeProblems(node, POOL_ATTRS);
  checkWindow(node, problems);
  const pads = intsAttr(node, 'pads', [0, 0, 0, 0]);
  if (!allZeros(pads)) problems.push(`pads ${showList(pads)} (a padded pool is not supported)`);
  const ceilMode = intAttr(node, 'ceil_mode', 0);
  if (ceilMode !== 0) problems.push(`ceil_mode = ${ceilMode} (only 0 is supported)`);
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Building the layers

interface Build {
  readonly graph: OnnxGraph;
  readonly specs: LayerSpec[];
  readonly values: Float32Array[];
  /** The per-sample shape of the current value. */
  shape: readonly number[];
  /** A MatMul's dense layer waiting for its bias (the next node, when that is an Add). */
  pendingBias: { readonly index: number; readonly units: number } | null;
}

/** The constant input `i` of a node (an initializer or a Constant node's value). */
function constantInput(b: Build, node: OnnxNode, i: number, what: string): OnnxTensor {
  const name = node.inputs[i];
  const t = name === undefined ? undefined : b.graph.constants.get(name);
  if (t === undefined) throw new OnnxError(`${node.label}: ${what} (input ${i}) must be a constant (an initializer or a Constant node)`, { node: node.name, opType: node.opType });
  return t;
}

function optionalConstant(b: Build, node: OnnxNode, i: number, what: string): OnnxTensor | null {
  const name = node.inputs[i];
  return name === undefined || name === '' ? null : constantInput(b, node, i, what);
}

/** Float weights, every value finite. */
function weights(node: OnnxNode, t: OnnxTensor, what: string): Float32Array {
  const values = floatValues(t, `${node.label}: ${what} ${JSON.stringify(t.name)}`, 'a weight');
  const bad = values.findIndex((v) => !Number.isFinite(v));
  if (bad >= 0) throw new OnnxError(`${node.label}: ${what} ${JSON.stringify(t.name)} has a non-finite value at [${bad}] (${values[bad]})`, { node: node.name, opType: node.opType, tensor: t.name });
  return values;
}

function dimsError(node: OnnxNode, t: OnnxTensor, what: string, expected: string): OnnxError {
  return new OnnxError(`${node.label}: ${what} ${JSON.stringify(t.name)} has dims ${showList(t.dims)}, expected ${expected}`, { node: node.name, opType: node.opType, tensor: t.name });
}

/** Add layer `spec` at the current shape (a ShapeError becomes an OnnxError naming the node). */
function addLayer(b: Build, node: OnnxNode, spec: LayerSpec, params: readonly Float32Array[]): void {
  let outShape: readonly number[];
  try {
    outShape = inferLayer(spec, b.shape, b.specs.length).outShape;
  } catch (e) {
    if (e instanceof ShapeError) throw new OnnxError(`${node.label}: ${e.message}`, { node: node.name, opType: node.opType });
    throw e;
  }
  b.specs.push(spec);
  b.values.push(...params);
  b.shape = outShape;
}

/** `[rows, cols]` stored row-major, transposed. */
function transpose(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
  return out;
}

function needVector(b: Build, node: OnnxNode): number {
  if (b.shape.length !== 1) {
    throw new OnnxError(`${node.label}: needs a [batch, n] input, but it gets [batch, ${b.shape.join(', ')}] (put a Flatten before it)`, { node: node.name, opType: node.opType });
  }
  return b.shape[0];
}

function bias(node: OnnxNode, c: OnnxTensor | null, units: number): Float32Array {
  if (c === null) return new Float32Array(units);
  const isOk = (c.dims.length === 1 && c.dims[0] === units) || (c.dims.length === 2 && c.dims[0] === 1 && c.dims[1] === units);
  if (!isOk) throw dimsError(node, c, 'the bias', `[${units}]`);
  return weights(node, c, 'the bias');
}

const builders: { readonly [opType: string]: (b: Build, node: OnnxNode) => void } = {
  Gemm(b, node) {
    const nIn = needVector(b, node);
    const B = constantInput(b, node, 1, 'the weight B');
    const isTransposed = intAttr(node, 'transB', 0) === 1;
    if (B.dims.length !== 2 || B.dims[isTransposed ? 1 : 0] !== nIn) throw dimsError(node, B, 'the weight B', isTransposed ? `[units, ${nIn}]` : `[${nIn}, units]`);
    const units = B.dims[isTransposed ? 0 : 1];
    const raw = weights(node, B, 'the weight B');
    const W = isTransposed ? raw : transpose(raw, nIn, units);
    addLayer(b, node, { kind: 'dense', units }, [W, bias(node, optionalConstant(b, node, 2, 'the bias C'), units)]);
  },
  MatMul(b, node) {
    const nIn = needVector(b, node);
    const B = constantInput(b, node, 1, 'the weight B');
    if (B.dims.length !== 2 || B.dims[0] !== nIn) throw dimsError(node, B, 'the weight B', `[${nIn}, units]`);
    const units = B.dims[1];
    addLayer(b, node, { kind: 'dense', units }, [transpose(weights(node, B, 'the weight B'), nIn, units), new Float32Array(units)]);
    b.pendingBias = { index: b.values.length - 1, units };
  },
  Conv(b, node) {
    const W = constantInput(b, node, 1, 'the weight W');
    if (W.dims.length !== 4 || b.shape.length !== 3 || W.dims[1] !== b.shape[0]) {
      throw dimsError(node, W, 'the weight W', `[filters, ${b.shape.length === 3 ? b.shape[0] : 'channels'}, kH, kW] for an input [batch, ${b.shape.join(', ')}]`);
    }
    const [filters, , kH, kW] = W.dims;
    const kernel = intsAttr(node, 'kernel_shape', [kH, kW]);
    if (kernel[0] !== kH || kernel[1] !== kW) throw new OnnxError(`${node.label}: kernel_shape ${showList(kernel)} disagrees with the weight's [${kH}, ${kW}]`, { node: node.name, opType: node.opType });
    const [sH, sW] = intsAttr(node, 'strides', [1, 1]);
    const [pH, pW] = intsAttr(node, 'pads', [0, 0, 0, 0]);
    const spec: LayerSpec = { kind: 'conv2d', filters, kernel: [kH, kW], stride: [sH, sW], padding: [pH, pW] };
    addLayer(b, node, spec, [weights(node, W, 'the weight W'), bias(node, optionalConstant(b, node, 2, 'the bias B'), filters)]);
  },
  MaxPool: (b, node) => addPool(b, node, 'maxPool2d'),
  AveragePool: (b, node) => addPool(b, node, 'avgPool2d'),
  Flatten: (b, node) => addLayer(b, node, { kind: 'flatten' }, []),
  Reshape(b, node) {
    const shape = constantInput(b, node, 1, 'the shape');
    const n = b.shape.reduce((p, d) => p * d, 1);
    const target = shape.dataType === DataType.INT64 && shape.dims.length === 1 ? [...shape.values] : null;
    const batch = b.graph.inputBatch;
    const isBatch = (d: number): boolean => d === -1 || d === 0 || (batch !== null && d === batch);
    const isFlat = target !== null && target.length === 2 && isBatch(target[0]) && (target[1] === n || (target[1] === -1 && target[0] !== -1));
    if (!isFlat) {
      throw new OnnxError(`${node.label}: shape ${target === null ? `of type ${shape.dataType}` : showList(target)} is not a flatten of [batch, ${b.shape.join(', ')}] (expected [-1, ${n}] or [0, -1])`, { node: node.name, opType: node.opType, tensor: shape.name });
    }
    addLayer(b, node, { kind: 'flatten' }, []);
  },
  Relu: (b, node) => addLayer(b, node, { kind: 'relu' }, []),
  Sigmoid: (b, node) => addLayer(b, node, { kind: 'sigmoid' }, []),
  Tanh: (b, node) => addLayer(b, node, { kind: 'tanh' }, []),
  Identity: () => undefined,
};

function addPool(b: Build, node: OnnxNode, kind: 'maxPool2d' | 'avgPool2d'): void {
  const size = intsAttr(node, 'kernel_shape', []);
  if (size.length !== 2) throw new OnnxError(`${node.label}: kernel_shape is required`, { node: node.name, opType: node.opType });
  const [sH, sW] = intsAttr(node, 'strides', [1, 1]);
  addLayer(b, node, { kind, size: [size[0], size[1]], stride: [sH, sW] }, []);
}

/** The Add after a MatMul: its bias. */
function addBias(b: Build, node: OnnxNode): void {
  const pending = b.pendingBias;
  if (pending === null) throw new OnnxError(`${node.label}: an Add is only supported as the bias after a MatMul`, { node: node.name, opType: node.opType });
  const dataIndex = b.graph.constants.has(node.inputs[0]) ? 1 : 0;
  b.values[pending.index] = bias(node, constantInput(b, node, 1 - dataIndex, 'the bias'), pending.units);
}

// ---------------------------------------------------------------------------------------------
// deltaflow's own preprocessing and target nodes

interface Transforms {
  scale: number;
  normalize: { a: number[]; b: number[] } | null;
  targetNormalize: { a: number[]; b: number[] } | null;
}

const isCastTo = (node: OnnxNode | undefined, to: number): boolean => node?.opType === 'Cast' && intAttr(node, 'to', -1) === to;

/** The DOUBLE constant a Mul/Sub/Div/Add applies, checked to hold `n` values (or one, for a scale). */
function doubleConstant(graph: OnnxGraph, node: OnnxNode, n: number): number[] {
  const t = graph.constants.get(node.inputs[1]);
  if (t === undefined || t.dataType !== DataType.DOUBLE || t.values.length !== n || graph.constants.has(node.inputs[0])) {
    throw new OnnxError(`${node.label}: not the form deltaflow writes (x ${node.opType} a DOUBLE constant of ${n} value${n === 1 ? '' : 's'})`, { node: node.name, opType: node.opType });
  }
  return Array.from(t.values);
}

/**
 * Split deltaflow's preprocessing (Cast→double, Mul?, Sub+Div?, Cast→float) off the front of the chain
 * and the targets' inverse (Cast→double, Mul, Add, Cast→float) off the back, reading their constants.
 */
function splitTransforms(graph: OnnxGraph, nIn: number): { chain: readonly OnnxNode[]; transforms: Transforms } {
  let chain = graph.chain;
  const transforms: Transforms = { scale: 1, normalize: null, targetNormalize: null };
  if (isCastTo(chain[0], DataType.DOUBLE)) {
    const end = chain.findIndex((n, i) => i > 0 && isCastTo(n, DataType.FLOAT));
    const body = chain.slice(1, end);
    const ops = body.map((n) => n.opType).join(',');
    if (end < 0 || !['Mul', 'Sub,Div', 'Mul,Sub,Div'].includes(ops)) {
      throw new OnnxError(`${chain[0].label}: the preprocessing is not the form deltaflow writes (Cast, Mul, Sub, Div, Cast)`, { node: chain[0].name, opType: 'Cast' });
    }
    let k = 0;
    if (body[0].opType === 'Mul') transforms.scale = doubleConstant(graph, body[k++], 1)[0];
    if (k < body.length) transforms.normalize = { a: doubleConstant(graph, body[k], nIn), b: doubleConstant(graph, body[k + 1], nIn) };
    chain = chain.slice(end + 1);
  }
  const n = chain.length;
  if (n >= 4 && isCastTo(chain[n - 4], DataType.DOUBLE) && chain[n - 3].opType === 'Mul' && chain[n - 2].opType === 'Add' && isCastTo(chain[n - 1], DataType.FLOAT)) {
    const t = graph.constants.get(chain[n - 3].inputs[1]);
    const k = t === undefined ? 0 : t.values.length;
    transforms.targetNormalize = { b: doubleConstant(graph, chain[n - 3], k), a: doubleConstant(graph, chain[n - 2], k) };
    chain = chain.slice(0, n - 4);
  }
  return { chain, transforms };
}

/** The model file's meta: deltaflow's own (from the metadata) with the transforms the graph computes, or where it came from. */
function importedMeta(graph: OnnxGraph, transforms: Transforms | null): JsonObject {
  const text = graph.metadata.get(META_KEY);
  if (text === undefined || transforms === null) return { importedFrom: { format: 'onnx', producer: graph.producer, opset: graph.opset } };
  let meta: JsonObject;
  try {
    meta = metaFromText(text, `metadata ${META_KEY}`);
  } catch (e) {
    if (e instanceof ModelFileError) throw new OnnxError(e.message);
    throw e;
  }
  const kindOf = (v: unknown): 'zscore' | 'minmax' => (v !== null && typeof v === 'object' && Reflect.get(v, 'kind') === 'minmax' ? 'minmax' : 'zscore');
  const { targetNormalize: _old, ...rest } = meta;
  return {
    ...rest,
    scale: transforms.scale,
    normalize: transforms.normalize === null ? null : { kind: kindOf(meta.normalize), ...transforms.normalize },
    ...(transforms.targetNormalize === null ? {} : { targetNormalize: { kind: kindOf(meta.targetNormalize), ...transforms.targetNormalize } }),
  };
}

/**
 * A deltaflow model (and model-file meta) from ONNX bytes. Throws an OnnxError, one line naming the
 * nodes, for anything outside the supported subset or any broken or hostile file.
 *
 * @example const { model, meta } = fromOnnx(readFileSync('net.onnx')); await saveModel('net.json', model, meta);
 */
export function fromOnnx(bytes: Uint8Array, options: OnnxImportOptions = {}): LoadedModel {
  const graph = readOnnxGraph(decodeModelProto(bytes));
  const isDeltaflow = graph.metadata.has(META_KEY);
  const nIn = graph.inputShape.reduce((p, d) => p * d, 1);
  const split = isDeltaflow ? splitTransforms(graph, nIn) : { chain: graph.chain, transforms: null };
  let chain = split.chain;
  const last = chain[chain.length - 1];
  if (last?.opType === 'Softmax') {
    const axis = intAttr(last, 'axis', graph.opset >= 13 ? -1 : 1);
    const problems = [...attributeProblems(last, { axis: 'int' }), ...(axis === -1 || axis === 1 ? [] : [`axis = ${axis} (only the class axis, -1 or 1)`])];
    if (problems.length > 0) throw new OnnxError(`cannot import: ${last.label}: ${problems.join(', ')}`, { node: last.name, opType: last.opType });
    chain = chain.slice(0, -1);
  }

  // Every problem of every node, listed at once.
  const problems = chain.flatMap((node, i) => {
    if (node.opType === 'Add' && chain[i - 1]?.opType === 'MatMul') return attributeProblems(node, {}).map((p) => `${node.label}: ${p}`);
    const check = checks[node.opType];
    if (check === undefined) return [`${node.label}: operator not supported`];
    return check(node).map((p) => `${node.label}: ${p}`);
  });
  if (problems.length > 0) {
    const first = chain.find((n) => problems[0].startsWith(n.label));
    throw new OnnxError(`cannot import: ${problems.join('; ')}`, first === undefined ? {} : { node: first.name, opType: first.opType });
  }

  const b: Build = { graph, specs: [], values: [], shape: graph.inputShape, pendingBias: null };
  for (const node of chain) {
    if (node.opType === 'Add') {
      addBias(b, node);
      b.pendingBias = null;
      continue;
    }
    b.pendingBias = null;
    const build = builders[node.opType];
    build(b, node);
  }
  const declared = graph.outputShape;
  if (declared !== null && (declared.length !== b.shape.length || declared.some((d, i) => d !== null && d !== b.shape[i]))) {
    throw new OnnxError(`output ${JSON.stringify(graph.outputName)}: declared [batch, ${declared.map((d) => d ?? '?').join(', ')}], but the nodes compute [batch, ${b.shape.join(', ')}]`, { tensor: graph.outputName });
  }
  const model = createModel(graph.inputShape, b.specs, options.seed ?? 0, b.values);
  return { model, meta: importedMeta(graph, split.transforms) };
}

/**
 * Read an ONNX file (a regular file of at most MAX_ONNX_BYTES) and import it; errors name the file.
 *
 * @example const { model, meta } = await loadOnnx('net.onnx');
 */
export async function loadOnnx(path: string, options: OnnxImportOptions = {}): Promise<LoadedModel> {
  const bytes = await readBounded(path);
  try {
    return fromOnnx(bytes, options);
  } catch (e) {
    if (e instanceof OnnxError) throw new OnnxError(e.detail, e.place, path);
    throw e;
  }
}

async function readBounded(path: string): Promise<Uint8Array> {
  // Checked before opening: opening a FIFO blocks until a writer comes.
  if (!(await stat(path)).isFile()) throw new OnnxError('not a regular file', {}, path);
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    if (size > MAX_ONNX_BYTES) throw new OnnxError(`the file has ${size} bytes, more than the limit of ${MAX_ONNX_BYTES}`, {}, path);
    // One byte more than the size: filling it means the file grew while being read.
    const buf = new Uint8Array(size + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n === buf.length) throw new OnnxError(`the file grew while being read (past ${size} bytes)`, {}, path);
    }
    return buf.subarray(0, n);
  } finally {
    await fh.close();
  }
}
