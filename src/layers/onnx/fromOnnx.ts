/**
 * ONNX import: a chain of ONNX nodes (readOnnxGraph.ts) as a deltaflow sequential model, for the
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
import { metaFromText } from '../interchangeMeta.js';
import { ModelFileError, type JsonObject, type LoadedModel } from '../modelFile.js';
import { createModel } from '../sequential.js';
import { MAX_ONNX_BYTES, decodeModelProto } from './decodeModelProto.js';
import { attributeProblems, intAttr } from './onnxAttributes.js';
import { OnnxError } from './onnxError.js';
import { addBias, builders, checks, type Build } from './onnxOperators.js';
import { DataType } from './onnxSchema.js';
import { readOnnxGraph, type OnnxGraph, type OnnxNode } from './readOnnxGraph.js';
import { META_KEY } from './toOnnx.js';

export interface OnnxImportOptions {
  /** The imported model's `seed` (used only if it is later re-initialized); default 0. */
  readonly seed?: number;
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
