/**
 * The ONNX operators deltaflow imports, as two tables keyed by op type (fromOnnx.ts has the mapping
 * in its header): `checks` lists a node's attribute problems without looking at shapes, so one error
 * can name them all; `builders` turn a checked node into a layer spec and its weights at the current
 * per-sample shape, converting layouts (Gemm transB = 0 and MatMul weights `[in, units]` are
 * transposed to deltaflow's `[units, in]`).
 */
import { ShapeError } from '../../ops/tensor.js';
import type { LayerSpec } from '../layer.js';
import { inferLayer } from '../registry.js';
import { allOnes, allZeros, attribute, attributeProblems, intAttr, intsAttr, showList, stringAttr } from './onnxAttributes.js';
import { OnnxError } from './onnxError.js';
import { DataType } from './onnxSchema.js';
import { floatValues, type OnnxTensor } from './onnxTensors.js';
import type { OnnxGraph, OnnxNode } from './readOnnxGraph.js';

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

export const checks: { readonly [opType: string]: (node: OnnxNode) => string[] } = {
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

export interface Build {
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

export const builders: { readonly [opType: string]: (b: Build, node: OnnxNode) => void } = {
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
export function addBias(b: Build, node: OnnxNode): void {
  const pending = b.pendingBias;
  if (pending === null) throw new OnnxError(`${node.label}: an Add is only supported as the bias after a MatMul`, { node: node.name, opType: node.opType });
  const dataIndex = b.graph.constants.has(node.inputs[0]) ? 1 : 0;
  b.values[pending.index] = bias(node, constantInput(b, node, 1 - dataIndex, 'the bias'), pending.units);
}
