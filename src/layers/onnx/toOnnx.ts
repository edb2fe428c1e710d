/**
 * ONNX export: a sequential model as an ONNX graph (opset 13, IR 7), written with protobufjs from the
 * schema in onnxSchema.ts. docs/interchange.md has the whole mapping; in short, for input
 * `input [batch, ...model.input]` (float32, NCHW) and output `output [batch, ...model.outShape]`:
 *
 *   preprocessing  Cast→double, Mul(scale), Sub(a), Div(b), Cast→float     (x = (v·scale − a) / b)
 *   dense          Gemm(x, W [units, in], b [units]), transB = 1           (1.1) z = x Wᵀ + b
 *   conv2d         Conv(x, W [cOut, cIn, kH, kW], b), strides, pads [pH, pW, pH, pW]   (3.5)
 *   maxPool2d      MaxPool, kernel_shape, strides, pads 0, ceil_mode 0     (2.1)
 *   avgPool2d      AveragePool, kernel_shape, strides, pads 0, ceil_mode 0, count_include_pad 0   (2.3)
 *   flatten        Flatten(axis = 1): NCHW row-major, as deltaflow's flatten
 *   relu, sigmoid, tanh   Relu, Sigmoid, Tanh
 *   outputs        Softmax(axis = −1) for a classifier's logits; or Cast→double, Mul(b), Add(a),
 *                  Cast→float for regression targets learned normalized (y = a + b·y')
 *
 * The preprocessing and the targets' inverse run in double precision, as deltaflow computes them,
 * so for an input whose values are float32 numbers (integer pixels, say) the network sees bit for bit
 * what `deltaflow predict` feeds it. Weights are stored as raw_data. The batch dimension is the
 * symbolic `batch`. metadata_props hold `classes` (a JSON list) and `deltaflow.meta` (the model file's
 * meta as JSON), which `fromOnnx` reads back.
 */
import { sizeOf } from '../../ops/tensor.js';
import type { Layer } from '../layer.js';
import { writeFileAtomic } from '../writeFileAtomic.js';
import { dataTransforms } from '../interchangeMeta.js';
import type { JsonObject } from '../modelFile.js';
import type { Model } from '../sequential.js';
import { OnnxError } from './onnxError.js';
import { AttributeType, DataType, IR_VERSION, OPSET_VERSION, onnxTypes } from './onnxSchema.js';
import { tensorObject } from './onnxTensors.js';

export interface OnnxExportOptions {
  /**
   * End with a Softmax, so the outputs are the probabilities `predict` shows. Default: on for a
   * classifier trained with softmax cross-entropy (meta task "classify", loss "ce"), off otherwise.
   */
  readonly softmax?: boolean;
}

/** The graph's input and output names. */
export const ONNX_INPUT = 'input';
export const ONNX_OUTPUT = 'output';
/** The metadata_props key holding the model file's meta as JSON. */
export const META_KEY = 'deltaflow.meta';

type Attribute = { name: string; type: number; i?: number; ints?: number[]; f?: number };

const ints = (name: string, values: readonly number[]): Attribute => ({ name, type: AttributeType.INTS, ints: [...values] });
const int = (name: string, value: number): Attribute => ({ name, type: AttributeType.INT, i: value });

interface NodeEntry {
  readonly name: string;
  readonly op_type: string;
  readonly input: readonly string[];
  output: readonly string[];
  readonly attribute: readonly Attribute[];
}

interface GraphBuilder {
  readonly nodes: NodeEntry[];
  readonly initializers: object[];
  /** The name of the value the next node reads. */
  current: string;
}

/** Append a node reading the current value (plus constant inputs) and make its output current. */
function addNode(g: GraphBuilder, name: string, opType: string, constants: readonly string[], attribute: readonly Attribute[], output = name): void {
  g.nodes.push({ name, op_type: opType, input: [g.current, ...constants], output: [output], attribute });
  g.current = output;
}

function addFloat(g: GraphBuilder, name: string, dims: readonly number[], values: Float32Array): string {
  g.initializers.push(tensorObject(name, dims, DataType.FLOAT, values));
  return name;
}

function addDouble(g: GraphBuilder, name: string, dims: readonly number[], values: readonly number[]): string {
  g.initializers.push(tensorObject(name, dims, DataType.DOUBLE, values));
  return name;
}

/** The nodes of one layer (index i), named `layer<i>.<kind>`, weights `layer<i>.W` and `layer<i>.b`. */
function addLayer(g: GraphBuilder, layer: Layer, i: number): void {
  const name = `layer${i}.${layer.kind}`;
  const spec = layer.spec;
  const params = (): string[] => layer.params.map((p) => addFloat(g, `layer${i}.${p.name}`, p.shape, p.value));
  switch (spec.kind) {
    case 'dense':
      addNode(g, name, 'Gemm', params(), [int('transB', 1)]);
      return;
    case 'conv2d': {
      const [pH, pW] = spec.padding;
      const attrs = [ints('kernel_shape', spec.kernel), ints('strides', spec.stride), ints('pads', [pH, pW, pH, pW]), ints('dilations', [1, 1]), int('group', 1)];
      addNode(g, name, 'Conv', params(), attrs);
      return;
    }
    case 'maxPool2d':
      addNode(g, name, 'MaxPool', [], [ints('kernel_shape', spec.size), ints('strides', spec.stride), ints('pads', [0, 0, 0, 0]), int('ceil_mode', 0)]);
      return;
    case 'avgPool2d': {
      const attrs = [ints('kernel_shape', spec.size), ints('strides', spec.stride), ints('pads', [0, 0, 0, 0]), int('ceil_mode', 0), int('count_include_pad', 0)];
      addNode(g, name, 'AveragePool', [], attrs);
      return;
    }
    case 'flatten':
      addNode(g, name, 'Flatten', [], [int('axis', 1)]);
      return;
    case 'relu':
      addNode(g, name, 'Relu', [], []);
      return;
    case 'sigmoid':
      addNode(g, name, 'Sigmoid', [], []);
      return;
    case 'tanh':
      addNode(g, name, 'Tanh', [], []);
      return;
  }
}

const shapeOf = (dims: readonly (number | string)[]): object => ({
  dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })),
});

function valueInfo(name: string, perSample: readonly number[]): object {
  return { name, type: { tensor_type: { elem_type: DataType.FLOAT, shape: shapeOf(['batch', ...perSample]) } } };
}

/**
 * The model as ONNX bytes. `meta` (a model file's meta) adds its preprocessing, the targets' inverse
 * transform and a Softmax as the file comment says; without it the graph is the network alone.
 *
 * @example const bytes = toOnnx(model, meta); // then new ort.InferenceSession… or writeFile
 */
export function toOnnx(model: Model, meta?: JsonObject, options: OnnxExportOptions = {}): Uint8Array {
  const t = dataTransforms(model, meta);
  const isVectorOut = model.outShape.length === 1;
  const hasSoftmax = options.softmax ?? (t.hasLogits && isVectorOut);
  if (hasSoftmax && !isVectorOut) {
    throw new OnnxError(`a Softmax needs one vector of outputs per sample, but the model outputs [${model.outShape.join(', ')}]`);
  }
  if (hasSoftmax && meta?.task === 'regress') throw new OnnxError('a Softmax on a regression model: its outputs are values, not class scores');
  model.params.forEach((p, index) => {
    const bad = p.value.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new OnnxError(`cannot export a non-finite weight (parameter ${index}, ${p.name}[${bad}] = ${p.value[bad]})`);
  });

  const g: GraphBuilder = { nodes: [], initializers: [], current: ONNX_INPUT };
  if (t.scale !== 1 || t.normalize !== null) {
    addNode(g, 'preprocess.cast', 'Cast', [], [int('to', DataType.DOUBLE)]);
    if (t.scale !== 1) addNode(g, 'preprocess.scale', 'Mul', [addDouble(g, 'preprocess.scale.value', [], [t.scale])], []);
    if (t.normalize !== null) {
      addNode(g, 'preprocess.sub', 'Sub', [addDouble(g, 'preprocess.a', model.input, t.normalize.a)], []);
      addNode(g, 'preprocess.div', 'Div', [addDouble(g, 'preprocess.b', model.input, t.normalize.b)], []);
    }
    addNode(g, 'preprocess', 'Cast', [], [int('to', DataType.FLOAT)]);
  }
  model.layers.forEach((layer, i) => addLayer(g, layer, i));
  if (hasSoftmax) addNode(g, 'softmax', 'Softmax', [], [int('axis', -1)]);
  if (t.targetNormalize !== null) {
    const k = sizeOf(model.outShape);
    addNode(g, 'targets.cast', 'Cast', [], [int('to', DataType.DOUBLE)]);
    addNode(g, 'targets.scale', 'Mul', [addDouble(g, 'targets.b', [k], t.targetNormalize.b)], []);
    addNode(g, 'targets.shift', 'Add', [addDouble(g, 'targets.a', [k], t.targetNormalize.a)], []);
    addNode(g, 'targets', 'Cast', [], [int('to', DataType.FLOAT)]);
  }
  if (g.current === ONNX_INPUT) addNode(g, 'identity', 'Identity', [], []);
  // The last node writes the graph output.
  g.nodes[g.nodes.length - 1].output = [ONNX_OUTPUT];

  const metadata = [
    ...(t.classes === null ? [] : [{ key: 'classes', value: JSON.stringify(t.classes) }]),
    ...(meta === undefined ? [] : [{ key: META_KEY, value: JSON.stringify(meta) }]),
  ];
  const message = onnxTypes.ModelProto.fromObject({
    ir_version: IR_VERSION,
    opset_import: [{ domain: '', version: OPSET_VERSION }],
    producer_name: 'deltaflow',
    graph: {
      name: 'deltaflow',
      node: g.nodes,
      initializer: g.initializers,
      input: [valueInfo(ONNX_INPUT, model.input)],
      output: [valueInfo(ONNX_OUTPUT, model.outShape)],
    },
    metadata_props: metadata,
  });
  return onnxTypes.ModelProto.encode(message).finish();
}

/**
 * Write the model as an ONNX file, atomically (a temporary file, then a rename).
 *
 * @example await saveOnnx('lenet.onnx', model, meta);
 */
export async function saveOnnx(path: string, model: Model, meta?: JsonObject, options: OnnxExportOptions = {}): Promise<void> {
  await writeFileAtomic(path, toOnnx(model, meta, options));
}
