/**
 * What ONNX import refuses, each with its one-line message: operators and attributes outside
 * deltaflow's layers (listed all at once, with node names and op types), graphs that are not a chain,
 * and hostile or broken files — truncated protobuf, huge declared dimensions, byte lengths that do not
 * match the shape, wrong data types, external data, cycles, deep nesting, too many numbers.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dense } from '../../../src/layers/dense.js';
import { relu } from '../../../src/layers/activation.js';
import { MAX_MESSAGES, MAX_SCALARS } from '../../../src/layers/onnx/decodeModelProto.js';
import { fromOnnx, loadOnnx } from '../../../src/layers/onnx/fromOnnx.js';
import { OnnxError } from '../../../src/layers/onnx/onnxError.js';
import { onnxTypes } from '../../../src/layers/onnx/onnxSchema.js';
import { toOnnx } from '../../../src/layers/onnx/toOnnx.js';
import { sequential } from '../../../src/layers/sequential.js';
import { attr, buildOnnx, encodeModel, floats, int64s, modelObject, node, weightsOf, type GraphDef, type NodeDef } from './onnxBuilder.js';

/** x [b, 1, 6, 6] → nodes → y, with a conv weight `cw` [2, 1, 3, 3], `cb` [2] and a dense `fw` [3, 8], `fb` [3] at hand. */
function imageGraph(nodes: readonly NodeDef[], extra: Partial<GraphDef> = {}): Uint8Array {
  return buildOnnx({
    input: { name: 'x', dims: ['b', 1, 6, 6] },
    output: { name: 'y' },
    nodes,
    initializers: [floats('cw', [2, 1, 3, 3], weightsOf(18, 1)), floats('cb', [2], weightsOf(2, 2)), floats('fw', [3, 8], weightsOf(24, 3)), floats('fb', [3], weightsOf(3, 4))],
    ...extra,
  });
}

const conv = (name: string, x: string, y: string, attrs = [attr.ints('kernel_shape', [3, 3])]) => node('Conv', [x, 'cw', 'cb'], [y], name, attrs);
const refused = (bytes: Uint8Array) => () => fromOnnx(bytes);

describe('operators and attributes outside deltaflow\'s layers', () => {
  it('lists every unsupported operator with its node', () => {
    const bytes = imageGraph([node('BatchNormalization', ['x', 's', 'b', 'm', 'v'], ['n'], 'bn'), node('Dropout', ['n'], ['d'], 'drop'), node('Flatten', ['d'], ['y'], 'flat')], {
      initializers: ['s', 'b', 'm', 'v'].map((k) => floats(k, [1], Float32Array.of(1))),
    });
    expect(refused(bytes)).toThrow('cannot import: node "bn" (BatchNormalization): operator not supported; node "drop" (Dropout): operator not supported');
  });

  it('a dilated conv', () => {
    expect(refused(imageGraph([conv('/0/Conv', 'x', 'y', [attr.ints('dilations', [2, 2])])]))).toThrow('cannot import: node "/0/Conv" (Conv): dilations [2, 2] (only 1 is supported)');
  });

  it('a padded pool', () => {
    const pool = node('MaxPool', ['x'], ['y'], 'pool', [attr.ints('kernel_shape', [2, 2]), attr.ints('pads', [1, 1, 1, 1])]);
    expect(refused(imageGraph([pool]))).toThrow('cannot import: node "pool" (MaxPool): pads [1, 1, 1, 1] (a padded pool is not supported)');
  });

  it('ceil_mode = 1', () => {
    const pool = node('AveragePool', ['x'], ['y'], 'pool', [attr.ints('kernel_shape', [2, 2]), attr.int('ceil_mode', 1)]);
    expect(refused(imageGraph([pool]))).toThrow('cannot import: node "pool" (AveragePool): ceil_mode = 1 (only 0 is supported)');
  });

  it('every problem of every node in one line: asymmetric pads, groups, auto_pad, an unknown attribute, Gemm transA', () => {
    const bytes = imageGraph([
      conv('c1', 'x', 'a', [attr.ints('pads', [1, 1, 0, 0]), attr.int('group', 2)]),
      conv('c2', 'a', 'b', [attr.string('auto_pad', 'SAME_UPPER'), attr.int('weird', 1)]),
      node('Flatten', ['b'], ['f'], 'flat'),
      node('Gemm', ['f', 'fw', 'fb'], ['y'], 'fc', [attr.int('transA', 1)]),
    ]);
    expect(refused(bytes)).toThrow(
      'cannot import: node "c1" (Conv): asymmetric pads [1, 1, 0, 0] (top must equal bottom and left equal right); node "c1" (Conv): group = 2 (only 1 is supported); ' +
        'node "c2" (Conv): attribute "weird" is not supported; node "c2" (Conv): auto_pad SAME_UPPER (only NOTSET with explicit pads, or VALID, is supported); node "fc" (Gemm): transA = 1 (only 0 is supported)',
    );
  });

  it('a Softmax before the last node, an Add that is not a MatMul\'s bias', () => {
    const bytes = imageGraph([node('Softmax', ['x'], ['s'], 'sm'), node('Add', ['s', 'cb'], ['a'], 'add'), node('Relu', ['a'], ['y'], 'r')]);
    expect(refused(bytes)).toThrow('cannot import: node "sm" (Softmax): a Softmax is only supported as the last node; node "add" (Add): an Add is only supported as the bias right after a MatMul');
  });

  it('a MaxPool with its Indices output', () => {
    const bytes = imageGraph([node('MaxPool', ['x'], ['y', 'idx'], 'pool', [attr.ints('kernel_shape', [2, 2])])]);
    expect(refused(bytes)).toThrow('node "pool" (MaxPool): has 2 outputs (deltaflow imports nodes with one)');
  });

  it('a Reshape that is not a flatten', () => {
    const bytes = imageGraph([node('Reshape', ['x', 'shape'], ['y'], '/Reshape')], { initializers: [int64s('shape', [-1, 6, 6])] });
    expect(refused(bytes)).toThrow('node "/Reshape" (Reshape): shape [-1, 6, 6] is not a flatten of [batch, 1, 6, 6] (expected [-1, 36] or [0, -1])');
  });

  it('another operator domain', () => {
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 3] }, nodes: [{ op: 'FusedGemm', inputs: ['x'], outputs: ['output'], name: 'f', domain: 'com.microsoft' }] });
    expect(refused(bytes)).toThrow('node "f" (FusedGemm): operator domain "com.microsoft" is not supported (only the default ONNX domain)');
  });

  it('an opset deltaflow does not know, and a file without one', () => {
    const bytes = (opset: number) => buildOnnx({ input: { name: 'x', dims: ['b', 3] }, nodes: [node('Relu', ['x'], ['output'], 'r')], opset });
    expect(refused(bytes(99))).toThrow('opset 99 is not supported (deltaflow imports opsets 7 to 23)');
    const object = modelObject({ input: { name: 'x', dims: ['b', 3] }, nodes: [node('Relu', ['x'], ['output'], 'r')] });
    object.opset_import = [];
    expect(refused(encodeModel(object))).toThrow('not a valid ONNX model: no opset_import for the default domain');
  });
});

describe('graphs that are not a chain', () => {
  it('a residual block: a value read by two nodes', () => {
    const bytes = imageGraph([conv('c1', 'x', 'a', [attr.ints('pads', [1, 1, 1, 1])]), node('Relu', ['a'], ['r'], 'relu'), node('Add', ['r', 'a'], ['y'], 'residual')]);
    expect(refused(bytes)).toThrow('not a chain: "a" is read by node "relu" (Relu) and node "residual" (Add) (deltaflow imports sequential graphs only)');
  });

  it('a node combining two computed values', () => {
    const bytes = imageGraph([node('Relu', ['x'], ['r'], 'relu'), node('Mul', ['r', 'r'], ['y'], 'square')]);
    expect(refused(bytes)).toThrow('not a chain: node "square" (Mul) combines 2 computed values ("r", "r"); residual or branching graphs are not supported');
  });

  it('a cycle', () => {
    const bytes = imageGraph([node('Relu', ['x'], ['v1'], 'n1'), node('Relu', ['v3'], ['v2'], 'n2'), node('Relu', ['v2'], ['v3'], 'n3'), node('Relu', ['v1'], ['y'], 'n4')]);
    expect(refused(bytes)).toThrow('the graph has a cycle through node "n2" (Relu), node "n3" (Relu)');
  });

  it('a node off the path, a value nobody computes, two writers, an unreached output, two inputs', () => {
    expect(refused(imageGraph([node('Relu', ['x'], ['y'], 'r'), node('Tanh', ['x2'], ['z'], 't')], { extraInputs: [{ name: 'x2', dims: [1] }] }))).toThrow('the graph has 2 data inputs (deltaflow imports graphs with exactly one)');
    expect(refused(imageGraph([node('Relu', ['x'], ['y'], 'r'), node('Tanh', ['q'], ['z'], 't')]))).toThrow('node "t" (Tanh): reads "q", which no node, input or initializer provides');
    expect(refused(imageGraph([node('Relu', ['x'], ['y'], 'r'), node('Tanh', ['x'], ['y'], 't')]))).toThrow('node "t" (Tanh) and node "r" (Relu) both write "y"');
    expect(refused(imageGraph([node('Relu', ['x'], ['a'], 'r')]))).toThrow('the output "y" is not reached: nothing reads "a"');
    expect(refused(imageGraph([node('Relu', ['x'], ['y'], 'r'), node('Relu', ['cb'], ['z'], 'dead')]))).toThrow('not a chain: node "dead" (Relu) is not on the path from the input to the output');
  });
});

describe('hostile and broken files: a clear error, bounded memory', () => {
  const model = sequential({ input: [8], seed: 1 }, dense({ units: 16 }), relu(), dense({ units: 4 }));
  // Without metadata the graph is the last field, so no cut can leave a complete model.
  const good = toOnnx(model);

  it('a truncated file fails at every cut, never with anything but an OnnxError', () => {
    for (let cut = 1; cut < good.length; cut += 7) {
      let error: unknown;
      try {
        fromOnnx(good.subarray(0, cut));
      } catch (e) {
        error = e;
      }
      expect(error, `cut at ${cut}`).toBeInstanceOf(OnnxError);
    }
    expect(refused(good.subarray(0, 100))).toThrow(/^not a valid ONNX file: truncated or malformed protobuf \(a field of \d+ bytes runs past the end of its message \(field 7\) at byte \d+ of 100\)$/);
  });

  it('not protobuf at all, and an empty file', () => {
    expect(refused(new TextEncoder().encode('garbage\n'))).toThrow('not a valid ONNX file: truncated or malformed protobuf (wire type 7 at byte 0 of 8)');
    expect(refused(new Uint8Array())).toThrow('not a valid ONNX file: it is empty');
  });

  it('huge declared dimensions of an initializer, checked before anything is allocated', () => {
    const huge = { name: 'fw', dims: [100000, 100000, 100000], data_type: 1, raw_data: new Uint8Array(4) };
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 8] }, nodes: [node('Gemm', ['x', 'fw'], ['output'], 'fc')], initializers: [huge] });
    expect(refused(bytes)).toThrow('initializer "fw": declared dims [100000, 100000, 100000] hold 1000000000000000 elements, more than the limit of 100000000');
  });

  it('huge declared dimensions of the input', () => {
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 4294967296] }, nodes: [node('Relu', ['x'], ['output'], 'r')] });
    expect(refused(bytes)).toThrow('input "x": dimension 1 must be a number from 1 to 16777216, got 4294967296');
    const wide = buildOnnx({ input: { name: 'x', dims: ['b', 3, 16384, 16384] }, nodes: [node('Relu', ['x'], ['output'], 'r')] });
    expect(refused(wide)).toThrow('input "x": [3, 16384, 16384] holds 805306368 values per sample, more than the limit of 67108864');
  });

  it('an initializer whose byte length does not match its shape', () => {
    const short = { name: '0.weight', dims: [16, 8], data_type: 1, raw_data: new Uint8Array(12) };
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 8] }, nodes: [node('Gemm', ['x', '0.weight'], ['output'], 'fc', [attr.int('transB', 1)])], initializers: [short] });
    expect(refused(bytes)).toThrow('initializer "0.weight": raw_data has 12 bytes, but dims [16, 8] of FLOAT need 512');
    const typed = { name: '0.weight', dims: [2, 8], data_type: 1, float_data: [1, 2, 3] };
    expect(refused(buildOnnx({ input: { name: 'x', dims: ['b', 8] }, nodes: [node('Gemm', ['x', '0.weight'], ['output'], 'fc', [attr.int('transB', 1)])], initializers: [typed] }))).toThrow(
      'initializer "0.weight": float_data has 3 values, but dims [2, 8] need 16',
    );
  });

  it('wrong data types: a FLOAT16 tensor, an INT64 weight, a DOUBLE input, data in the field of another type', () => {
    const gemmOn = (initializer: object, elemType = 1) =>
      buildOnnx({ input: { name: 'x', dims: ['b', 2], elemType }, nodes: [node('Gemm', ['x', 'w'], ['output'], 'fc', [attr.int('transB', 1)])], initializers: [initializer] });
    expect(refused(gemmOn({ name: 'w', dims: [2, 2], data_type: 10, raw_data: new Uint8Array(8) }))).toThrow('initializer "w": data type FLOAT16 (10) is not supported (FLOAT weights, INT64 shapes, DOUBLE constants)');
    expect(refused(gemmOn(int64s('w', [1, 2, 3, 4])))).toThrow('node "fc" (Gemm): the weight B "w" has dims [4], expected [units, 2]');
    expect(refused(gemmOn({ name: 'w', dims: [2, 2], data_type: 7, int64_data: [1, 2, 3, 4] }))).toThrow('node "fc" (Gemm): the weight B "w": a weight must be FLOAT, got INT64 (7)');
    expect(refused(gemmOn(floats('w', [2, 2], weightsOf(4, 1)), 11))).toThrow('input "x": element type DOUBLE (11) is not supported (only FLOAT)');
    expect(refused(gemmOn({ name: 'w', dims: [2, 2], data_type: 1, int64_data: [1, 2, 3, 4] }))).toThrow('initializer "w": int64_data does not hold data of type FLOAT (1)');
  });

  it('external data is never followed', () => {
    const external = { name: 'w', dims: [4, 8], data_type: 1, data_location: 1, external_data: [{ key: 'location', value: '../../etc/passwd' }, { key: 'offset', value: '0' }] };
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 8] }, nodes: [node('Gemm', ['x', 'w'], ['output'], 'fc', [attr.int('transB', 1)])], initializers: [external] });
    expect(refused(bytes)).toThrow('initializer "w": its data is in an external file (location "../../etc/passwd"), which deltaflow never reads; save the model with its tensors inside the file');
  });

  it('a non-finite weight', () => {
    const w = weightsOf(16, 1);
    w[5] = NaN;
    const bytes = buildOnnx({ input: { name: 'x', dims: ['b', 8] }, nodes: [node('Gemm', ['x', 'w'], ['output'], 'fc', [attr.int('transB', 1)])], initializers: [floats('w', [2, 8], w)] });
    expect(refused(bytes)).toThrow('node "fc" (Gemm): the weight B "w" has a non-finite value at [5] (NaN)');
  });

  it('messages nested deeper than 32 levels (graphs inside attributes inside nodes)', () => {
    let graph: object = { name: 'leaf' };
    for (let i = 0; i < 12; i++) graph = { node: [{ op_type: 'If', attribute: [{ name: 'then_branch', type: 5, g: graph }] }] };
    const object = modelObject({ input: { name: 'x', dims: ['b', 3] }, nodes: [node('Relu', ['x'], ['output'], 'r')] });
    object.graph = graph;
    expect(refused(encodeModel(object))).toThrow(/^not a valid ONNX file: messages nested deeper than 32 levels \(at byte \d+\)$/);
  });

  it(`more than ${MAX_SCALARS} values in repeated fields are refused before decoding`, () => {
    // A packed int64_data of MAX_SCALARS + 1 zero varints (one byte each), appended by protobufjs's Writer
    // to the encoded messages: field 7 of TensorProto, 5 (initializer) of GraphProto, 7 (graph) of ModelProto.
    const LENGTH_DELIMITED = 2;
    const tensor = onnxTypes.TensorProto.encode(onnxTypes.TensorProto.fromObject({ name: 'big', dims: [MAX_SCALARS + 1], data_type: 7 }))
      .uint32((7 << 3) | LENGTH_DELIMITED).bytes(new Uint8Array(MAX_SCALARS + 1)).finish();
    const object = modelObject({ input: { name: 'x', dims: ['b', 3] }, nodes: [node('Relu', ['x'], ['output'], 'r')] });
    const graph = onnxTypes.GraphProto.encode(onnxTypes.GraphProto.fromObject(object.graph ?? {})).uint32((5 << 3) | LENGTH_DELIMITED).bytes(tensor).finish();
    delete object.graph;
    const bytes = onnxTypes.ModelProto.encode(onnxTypes.ModelProto.fromObject(object)).uint32((7 << 3) | LENGTH_DELIMITED).bytes(graph).finish();
    expect(refused(bytes)).toThrow(/^not a valid ONNX file: more than 16777216 values in repeated fields \(at byte \d+\); store large tensors as raw_data$/);
  });

  it(`more than ${MAX_MESSAGES} messages (empty nodes, two bytes each) are refused before decoding`, () => {
    const object = modelObject({ input: { name: 'x', dims: ['b', 3] }, nodes: [] });
    const LENGTH_DELIMITED = 2;
    const writer = onnxTypes.GraphProto.encode(onnxTypes.GraphProto.fromObject(object.graph ?? {}));
    for (let i = 0; i <= MAX_MESSAGES; i++) writer.uint32((1 << 3) | LENGTH_DELIMITED).uint32(0);
    const graph = writer.finish();
    delete object.graph;
    const bytes = onnxTypes.ModelProto.encode(onnxTypes.ModelProto.fromObject(object)).uint32((7 << 3) | LENGTH_DELIMITED).bytes(graph).finish();
    expect(refused(bytes)).toThrow(/^not a valid ONNX file: more than 1048576 messages \(at byte \d+\)$/);
  });

  it('loadOnnx names the file, and refuses what is not a regular file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'deltaflow-onnx-'));
    await expect(loadOnnx(dir)).rejects.toThrow(`${dir}: not a regular file`);
  });
});
