/**
 * An ONNX graph as deltaflow can import it: one float input `[batch, n]` or `[batch, c, h, w]`, one
 * output, and nodes that form a single chain from the input to the output — each node reads exactly
 * one value computed before it (its other inputs are constants: initializers or Constant nodes), and
 * each value is read by exactly one node. This file checks that structure and returns the nodes in
 * chain order; what each operator means is fromOnnx.ts's business.
 *
 * Refused here, each with one line naming the node (name and op type) or the value:
 *   - a cycle (found by Kahn's topological sort over every node's inputs);
 *   - a node combining two computed values (a residual Add, a Concat), a value read twice (a branch),
 *     a node off the chain, a value nobody computes, two nodes writing one value;
 *   - operators of another domain, an opset deltaflow does not know, sparse initializers;
 *   - inputs that are not float, of another rank, with huge or non-positive dimensions.
 */
import { OnnxError, nodeLabel } from './onnxError.js';
import { AttributeType, DATA_TYPE_NAMES, DataType } from './onnxSchema.js';
import {
  bytesField,
  field,
  hasField,
  int64Value,
  intField,
  listField,
  messageField,
  messageList,
  readTensor,
  stringField,
  type OnnxTensor,
} from './onnxTensors.js';

/** Opsets of the default domain whose semantics for the imported operators deltaflow knows. */
export const MIN_OPSET = 7;
export const MAX_OPSET = 23;
/** Largest per-sample input dimension, and largest number of values per sample. */
export const MAX_INPUT_DIM = 1 << 24;
export const MAX_INPUT_VALUES = 1 << 26;

export type OnnxAttribute =
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'tensor'; readonly value: OnnxTensor }
  | { readonly kind: 'other'; readonly type: number };

export interface OnnxNode {
  /** The node's name, or `#<index>` when the file gives it none. */
  readonly name: string;
  readonly opType: string;
  /** `node "conv1" (Conv)`, for messages. */
  readonly label: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attributes: ReadonlyMap<string, OnnxAttribute>;
}

export interface OnnxGraph {
  readonly inputName: string;
  /** Per-sample input shape (the batch dimension dropped). */
  readonly inputShape: readonly number[];
  /** The input's batch dimension when it is a fixed number (null when symbolic). */
  readonly inputBatch: number | null;
  readonly outputName: string;
  /** The output's declared per-sample dims (null where symbolic or absent), or null without a shape. */
  readonly outputShape: readonly (number | null)[] | null;
  /** The computing nodes in order from input to output (Constant nodes are in `constants`). */
  readonly chain: readonly OnnxNode[];
  /** Initializers and Constant nodes' values, by value name. */
  readonly constants: ReadonlyMap<string, OnnxTensor>;
  readonly metadata: ReadonlyMap<string, string>;
  readonly opset: number;
  readonly producer: string;
}

function readAttribute(message: object, where: string): OnnxAttribute {
  const type = intField(message, 'type') ?? 0;
  if (type === AttributeType.INT) {
    const v = intField(message, 'i');
    if (v === null || !Number.isSafeInteger(v)) throw new OnnxError(`${where}: the integer is out of range`);
    return { kind: 'int', value: v };
  }
  if (type === AttributeType.INTS) {
    return {
      kind: 'ints',
      value: listField(message, 'ints').map((x) => {
        const v = int64Value(x);
        if (v === null || !Number.isSafeInteger(v)) throw new OnnxError(`${where}: an integer is out of range`);
        return v;
      }),
    };
  }
  if (type === AttributeType.FLOAT) {
    const v = field(message, 'f');
    return { kind: 'float', value: typeof v === 'number' ? v : 0 };
  }
  if (type === AttributeType.STRING) return { kind: 'string', value: new TextDecoder().decode(bytesField(message, 's') ?? new Uint8Array()) };
  if (type === AttributeType.TENSOR) {
    const t = messageField(message, 't');
    if (t === null) throw new OnnxError(`${where}: a TENSOR attribute without a tensor`);
    return { kind: 'tensor', value: readTensor(t, where) };
  }
  return { kind: 'other', type };
}

function readNode(message: object, index: number): OnnxNode {
  const opType = stringField(message, 'op_type');
  const given = stringField(message, 'name');
  const name = given === '' ? `#${index}` : given;
  const label = nodeLabel(name, opType === '' ? '?' : opType);
  if (opType === '') throw new OnnxError(`${label}: has no op_type`, { node: name });
  const domain = stringField(message, 'domain');
  if (domain !== '' && domain !== 'ai.onnx') {
    throw new OnnxError(`${label}: operator domain ${JSON.stringify(domain)} is not supported (only the default ONNX domain)`, { node: name, opType });
  }
  const attributes = new Map<string, OnnxAttribute>();
  for (const a of messageList(message, 'attribute')) {
    const key = stringField(a, 'name');
    if (attributes.has(key)) throw new OnnxError(`${label}: attribute "${key}" is given twice`, { node: name, opType });
    attributes.set(key, readAttribute(a, `${label}, attribute "${key}"`));
  }
  const strings = (key: string): string[] => listField(message, key).map((v) => (typeof v === 'string' ? v : ''));
  return { name, opType, label, inputs: strings('input'), outputs: strings('output'), attributes };
}

/** The default-domain opset the model imports. */
function readOpset(model: object): number {
  const entry = messageList(model, 'opset_import').find((o) => {
    const d = stringField(o, 'domain');
    return d === '' || d === 'ai.onnx';
  });
  const version = entry === undefined ? null : intField(entry, 'version');
  if (version === null) throw new OnnxError('not a valid ONNX model: no opset_import for the default domain');
  if (version < MIN_OPSET || version > MAX_OPSET) throw new OnnxError(`opset ${version} is not supported (deltaflow imports opsets ${MIN_OPSET} to ${MAX_OPSET})`);
  return version;
}

interface ValueShape {
  readonly elemType: number;
  readonly dims: readonly (number | null)[] | null;
}

/** A ValueInfoProto's tensor type: element type and dims (null for symbolic ones), or null dims without a shape. */
function readValueShape(info: object, where: string): ValueShape {
  const type = messageField(info, 'type');
  const tensorType = type === null ? null : messageField(type, 'tensor_type');
  if (tensorType === null) throw new OnnxError(`${where}: not a tensor`);
  const elemType = intField(tensorType, 'elem_type') ?? 0;
  const shape = messageField(tensorType, 'shape');
  if (shape === null) return { elemType, dims: null };
  const dims = messageList(shape, 'dim').map((d, i) => {
    if (!hasField(d, 'dim_value')) return null;
    const v = intField(d, 'dim_value');
    if (v === null || !Number.isSafeInteger(v)) throw new OnnxError(`${where}: dimension ${i} is out of range`);
    return v;
  });
  return { elemType, dims };
}

function readInputShape(name: string, shape: ValueShape): number[] {
  const where = `input ${JSON.stringify(name)}`;
  if (shape.elemType !== DataType.FLOAT) {
    throw new OnnxError(`${where}: element type ${DATA_TYPE_NAMES[shape.elemType] ?? 'unknown'} (${shape.elemType}) is not supported (only FLOAT)`, { tensor: name });
  }
  if (shape.dims === null) throw new OnnxError(`${where}: has no shape (deltaflow needs [batch, n] or [batch, c, h, w])`, { tensor: name });
  const dims = shape.dims;
  if (dims.length !== 2 && dims.length !== 4) {
    throw new OnnxError(`${where}: rank ${dims.length} is not supported (deltaflow needs [batch, n] or [batch, c, h, w])`, { tensor: name });
  }
  const perSample = dims.slice(1).map((d, i) => {
    if (d === null || d < 1 || d > MAX_INPUT_DIM) {
      throw new OnnxError(`${where}: dimension ${i + 1} must be a number from 1 to ${MAX_INPUT_DIM}, got ${d === null ? 'a symbolic one' : d}`, { tensor: name });
    }
    return d;
  });
  const n = perSample.reduce((p, d) => p * d, 1);
  if (n > MAX_INPUT_VALUES) throw new OnnxError(`${where}: [${perSample.join(', ')}] holds ${n} values per sample, more than the limit of ${MAX_INPUT_VALUES}`, { tensor: name });
  return perSample;
}

/** Kahn's algorithm over every node: nodes left over sit on a cycle. */
function checkAcyclic(nodes: readonly OnnxNode[], producer: ReadonlyMap<string, number>): void {
  const waiting = nodes.map((n) => new Set(n.inputs.filter((v) => producer.has(v))).size);
  const consumers = new Map<number, number[]>();
  nodes.forEach((n, j) => {
    for (const v of new Set(n.inputs)) {
      const p = producer.get(v);
      if (p !== undefined) consumers.set(p, [...(consumers.get(p) ?? []), j]);
    }
  });
  const ready = nodes.flatMap((_, j) => (waiting[j] === 0 ? [j] : []));
  let done = 0;
  while (ready.length > 0) {
    const j = ready.pop() ?? 0;
    done++;
    for (const c of consumers.get(j) ?? []) if (--waiting[c] === 0) ready.push(c);
  }
  if (done < nodes.length) {
    const onCycle = nodes.filter((_, j) => waiting[j] > 0);
    throw new OnnxError(`the graph has a cycle through ${onCycle.map((n) => n.label).join(', ')}`, { node: onCycle[0].name, opType: onCycle[0].opType });
  }
}

/**
 * The checked graph of a decoded ModelProto message.
 *
 * @example const graph = readOnnxGraph(decodeModelProto(bytes));
 */
export function readOnnxGraph(model: object): OnnxGraph {
  const opset = readOpset(model);
  const graph = messageField(model, 'graph');
  if (graph === null) throw new OnnxError('not a valid ONNX model: it has no graph');
  if (messageList(graph, 'sparse_initializer').length > 0) throw new OnnxError('sparse initializers are not supported');

  const constants = new Map<string, OnnxTensor>();
  for (const t of messageList(graph, 'initializer')) {
    const name = stringField(t, 'name');
    const tensor = readTensor(t, `initializer ${JSON.stringify(name)}`);
    if (constants.has(name)) throw new OnnxError(`initializer ${JSON.stringify(name)} is defined twice`, { tensor: name });
    constants.set(name, tensor);
  }

  const all = messageList(graph, 'node').map(readNode);
  const nodes: OnnxNode[] = [];
  for (const node of all) {
    if (node.opType !== 'Constant') {
      nodes.push(node);
      continue;
    }
    const value = node.attributes.get('value');
    const out = node.outputs[0];
    if (value?.kind !== 'tensor' || node.attributes.size !== 1 || node.outputs.length !== 1 || node.inputs.length !== 0) {
      throw new OnnxError(`${node.label}: only a Constant with one "value" tensor attribute is supported`, { node: node.name, opType: node.opType });
    }
    if (constants.has(out)) throw new OnnxError(`${node.label}: writes ${JSON.stringify(out)}, which is already a constant`, { node: node.name, opType: node.opType });
    constants.set(out, value.value);
  }

  // Graph inputs that are initializers (files before IR 4 list them) are constants, not data.
  const inputs = messageList(graph, 'input').filter((v) => !constants.has(stringField(v, 'name')));
  if (inputs.length !== 1) throw new OnnxError(`the graph has ${inputs.length} data inputs (deltaflow imports graphs with exactly one)`);
  const inputName = stringField(inputs[0], 'name');
  const inputValue = readValueShape(inputs[0], `input ${JSON.stringify(inputName)}`);
  const inputShape = readInputShape(inputName, inputValue);
  const outputs = messageList(graph, 'output');
  if (outputs.length !== 1) throw new OnnxError(`the graph has ${outputs.length} outputs (deltaflow imports graphs with exactly one)`);
  const outputName = stringField(outputs[0], 'name');
  const outputValue = readValueShape(outputs[0], `output ${JSON.stringify(outputName)}`);

  // Who writes each value.
  const producer = new Map<string, number>();
  nodes.forEach((node, j) => {
    for (const out of node.outputs) {
      if (out === '') continue;
      if (out === inputName || constants.has(out)) throw new OnnxError(`${node.label}: writes ${JSON.stringify(out)}, which is an input or a constant`, { node: node.name, opType: node.opType });
      const other = producer.get(out);
      if (other !== undefined) throw new OnnxError(`${node.label} and ${nodes[other].label} both write ${JSON.stringify(out)}`, { node: node.name, opType: node.opType });
      producer.set(out, j);
    }
  });
  for (const node of nodes) {
    for (const v of node.inputs) {
      if (v !== '' && v !== inputName && !constants.has(v) && !producer.has(v)) {
        throw new OnnxError(`${node.label}: reads ${JSON.stringify(v)}, which no node, input or initializer provides`, { node: node.name, opType: node.opType });
      }
    }
  }
  checkAcyclic(nodes, producer);

  // Walk the chain from the input.
  const dataInputs = (node: OnnxNode): string[] => node.inputs.filter((v) => v !== '' && !constants.has(v));
  const readers = new Map<string, number[]>();
  nodes.forEach((node, j) => {
    for (const v of new Set(dataInputs(node))) readers.set(v, [...(readers.get(v) ?? []), j]);
  });
  const chain: OnnxNode[] = [];
  let current = inputName;
  while (current !== outputName) {
    const next = readers.get(current) ?? [];
    if (next.length === 0) {
      throw new OnnxError(`the output ${JSON.stringify(outputName)} is not reached: nothing reads ${JSON.stringify(current)}`, { tensor: current });
    }
    if (next.length > 1) {
      const names = next.map((j) => nodes[j].label).join(' and ');
      throw new OnnxError(`not a chain: ${JSON.stringify(current)} is read by ${names} (deltaflow imports sequential graphs only)`, { node: nodes[next[0]].name, opType: nodes[next[0]].opType });
    }
    const node = nodes[next[0]];
    const data = dataInputs(node);
    if (data.length !== 1) {
      throw new OnnxError(`not a chain: ${node.label} combines ${data.length} computed values (${data.map((v) => JSON.stringify(v)).join(', ')}); residual or branching graphs are not supported`, { node: node.name, opType: node.opType });
    }
    const written = node.outputs.filter((v) => v !== '');
    if (written.length !== 1) {
      throw new OnnxError(`${node.label}: has ${written.length} outputs (deltaflow imports nodes with one)`, { node: node.name, opType: node.opType });
    }
    chain.push(node);
    current = written[0];
  }
  const off = nodes.filter((n) => !chain.includes(n));
  if (off.length > 0) {
    throw new OnnxError(`not a chain: ${off.map((n) => n.label).join(', ')} ${off.length === 1 ? 'is' : 'are'} not on the path from the input to the output`, { node: off[0].name, opType: off[0].opType });
  }

  const metadata = new Map<string, string>();
  for (const entry of messageList(model, 'metadata_props')) metadata.set(stringField(entry, 'key'), stringField(entry, 'value'));
  return {
    inputName,
    inputShape,
    inputBatch: inputValue.dims?.[0] ?? null,
    outputName,
    outputShape: outputValue.dims === null ? null : outputValue.dims.slice(1),
    chain,
    constants,
    metadata,
    opset,
    producer: [stringField(model, 'producer_name'), stringField(model, 'producer_version')].filter((s) => s !== '').join(' '),
  };
}
