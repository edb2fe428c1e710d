/**
 * ONNX import of graphs written the way PyTorch's `torch.onnx.export` writes an `nn.Sequential`:
 * Gemm with transB = 1, MatMul plus Add (bias first, as PyTorch orders it), Conv with four pads,
 * MaxPool and AveragePool with ceil_mode = 0, Flatten or Reshape with a constant shape, Relu, Sigmoid
 * and Tanh, initializers in raw_data, a final Softmax. Each graph is built by hand, run by ONNX Runtime
 * (the oracle), imported, and the imported model's forward pass must agree to 1e-5 relative.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { fromOnnx } from '../../../src/layers/onnx/fromOnnx.js';
import { forwardAll } from '../../../src/layers/sequential.js';
import { initKernels } from '../../../src/ops/kernels.js';
import { maxRelError, randomInput, runOrt, softmaxRows } from '../interchangeHelpers.js';
import { attr, buildOnnx, floats, int64s, modelObject, encodeModel, node, weightsOf, type GraphDef } from './onnxBuilder.js';

beforeAll(async () => {
  await initKernels();
});

/** Import `bytes`, run both, compare (after a softmax of deltaflow's logits when the graph ends in one). */
async function agree(bytes: Uint8Array, m: number, inputName: string, hasSoftmax = false): Promise<{ err: number; kinds: string[]; specs: unknown[] }> {
  const { model } = fromOnnx(bytes);
  const x = randomInput(model, m, 17);
  const expected = await runOrt(bytes, x, [m, ...model.input], inputName);
  const y = forwardAll(model, { data: x, shape: [m, ...model.input] }).data;
  const k = model.outShape[0];
  return { err: maxRelError(hasSoftmax ? softmaxRows(y, k) : y, expected.data), kinds: model.layers.map((l) => l.kind), specs: model.layers.map((l) => l.spec) };
}

const gemm = (name: string, x: string, w: string, b: string, y: string) =>
  node('Gemm', [x, w, b], [y], name, [attr.float('alpha', 1), attr.float('beta', 1), attr.int('transB', 1)]);

describe('PyTorch-style graphs import and compute what ONNX Runtime computes', () => {
  it('nn.Linear as Gemm (transB = 1, weight [out, in]), ReLU, Linear', async () => {
    const def: GraphDef = {
      input: { name: 'onnx::Gemm_0', dims: ['batch_size', 8] },
      output: { name: '7', dims: ['batch_size', 3] },
      nodes: [gemm('/0/Gemm', 'onnx::Gemm_0', '0.weight', '0.bias', '/0/Gemm_output_0'), node('Relu', ['/0/Gemm_output_0'], ['/1/Relu_output_0'], '/1/Relu'), gemm('/2/Gemm', '/1/Relu_output_0', '2.weight', '2.bias', '7')],
      initializers: [floats('0.weight', [16, 8], weightsOf(128, 1)), floats('0.bias', [16], weightsOf(16, 2)), floats('2.weight', [3, 16], weightsOf(48, 3)), floats('2.bias', [3], weightsOf(3, 4))],
    };
    const r = await agree(buildOnnx(def), 6, 'onnx::Gemm_0');
    expect(r.kinds).toEqual(['dense', 'relu', 'dense']);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('nn.Linear as MatMul (weight [in, out]) plus Add with the bias first, Tanh, and a MatMul without bias', async () => {
    const def: GraphDef = {
      input: { name: 'x', dims: ['N', 5] },
      output: { name: 'y' },
      nodes: [
        node('MatMul', ['x', 'onnx::MatMul_10'], ['/0/MatMul_output_0'], '/0/MatMul'),
        node('Add', ['0.bias', '/0/MatMul_output_0'], ['/0/Add_output_0'], '/0/Add'),
        node('Tanh', ['/0/Add_output_0'], ['/1/Tanh_output_0'], '/1/Tanh'),
        node('MatMul', ['/1/Tanh_output_0', 'onnx::MatMul_11'], ['y'], '/2/MatMul'),
      ],
      initializers: [floats('onnx::MatMul_10', [5, 7], weightsOf(35, 5)), floats('0.bias', [7], weightsOf(7, 6)), floats('onnx::MatMul_11', [7, 2], weightsOf(14, 7))],
    };
    const r = await agree(buildOnnx(def), 4, 'x');
    expect(r.kinds).toEqual(['dense', 'tanh', 'dense']);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('a LeNet: Conv with pads [2, 2, 2, 2], MaxPool and AveragePool with ceil_mode 0, Flatten, Gemm, Sigmoid, a final Softmax', async () => {
    const pool = (op: string, name: string, x: string, y: string, extra: ReturnType<typeof attr.int>[] = []) =>
      node(op, [x], [y], name, [attr.int('ceil_mode', 0), attr.ints('kernel_shape', [2, 2]), attr.ints('pads', [0, 0, 0, 0]), attr.ints('strides', [2, 2]), ...extra]);
    const convAttrs = (pads: number[]) => [attr.ints('dilations', [1, 1]), attr.int('group', 1), attr.ints('kernel_shape', [3, 3]), attr.ints('pads', pads), attr.ints('strides', [1, 1])];
    const def: GraphDef = {
      input: { name: 'input', dims: ['batch', 2, 12, 12] },
      output: { name: 'output', dims: ['batch', 4] },
      nodes: [
        node('Conv', ['input', '0.weight', '0.bias'], ['/0/Conv_output_0'], '/0/Conv', convAttrs([2, 2, 2, 2])),
        node('Relu', ['/0/Conv_output_0'], ['/1/Relu_output_0'], '/1/Relu'),
        pool('MaxPool', '/2/MaxPool', '/1/Relu_output_0', '/2/MaxPool_output_0'),
        node('Conv', ['/2/MaxPool_output_0', '3.weight', '3.bias'], ['/3/Conv_output_0'], '/3/Conv', convAttrs([0, 0, 0, 0])),
        node('Tanh', ['/3/Conv_output_0'], ['/4/Tanh_output_0'], '/4/Tanh'),
        pool('AveragePool', '/5/AveragePool', '/4/Tanh_output_0', '/5/AveragePool_output_0', [attr.int('count_include_pad', 1)]),
        node('Flatten', ['/5/AveragePool_output_0'], ['/6/Flatten_output_0'], '/6/Flatten', [attr.int('axis', 1)]),
        gemm('/7/Gemm', '/6/Flatten_output_0', '7.weight', '7.bias', '/7/Gemm_output_0'),
        node('Sigmoid', ['/7/Gemm_output_0'], ['/8/Sigmoid_output_0'], '/8/Sigmoid'),
        gemm('/9/Gemm', '/8/Sigmoid_output_0', '9.weight', '9.bias', '/9/Gemm_output_0'),
        node('Softmax', ['/9/Gemm_output_0'], ['output'], '/10/Softmax', [attr.int('axis', 1)]),
      ],
      initializers: [
        floats('0.weight', [3, 2, 3, 3], weightsOf(54, 8)), floats('0.bias', [3], weightsOf(3, 9)),
        floats('3.weight', [5, 3, 3, 3], weightsOf(135, 10)), floats('3.bias', [5], weightsOf(5, 11)),
        floats('7.weight', [6, 20], weightsOf(120, 12)), floats('7.bias', [6], weightsOf(6, 13)),
        floats('9.weight', [4, 6], weightsOf(24, 14)), floats('9.bias', [4], weightsOf(4, 15)),
      ],
    };
    const r = await agree(buildOnnx(def), 5, 'input', true);
    expect(r.kinds).toEqual(['conv2d', 'relu', 'maxPool2d', 'conv2d', 'tanh', 'avgPool2d', 'flatten', 'dense', 'sigmoid', 'dense']);
    expect(r.specs[0]).toEqual({ kind: 'conv2d', filters: 3, kernel: [3, 3], stride: [1, 1], padding: [2, 2] });
    expect(r.err).toBeLessThan(1e-5);
  });

  /** conv → Reshape(shape) → Gemm on [batch, 1, 6, 6] (or a fixed batch). */
  function reshapeGraph(shapeSource: 'initializer' | 'constant', shape: number[], batch: number | string): GraphDef {
    const shapeNode = shapeSource === 'constant' ? [node('Constant', [], ['/Constant_output_0'], '/Constant', [attr.tensor('value', int64s('', shape))])] : [];
    return {
      input: { name: 'x', dims: [batch, 1, 6, 6] },
      output: { name: 'y' },
      nodes: [
        node('Conv', ['x', 'c.weight', 'c.bias'], ['/c/Conv_output_0'], '/c/Conv', [attr.ints('kernel_shape', [3, 3]), attr.ints('pads', [1, 1, 1, 1]), attr.ints('strides', [2, 2])]),
        ...shapeNode,
        node('Reshape', ['/c/Conv_output_0', shapeSource === 'constant' ? '/Constant_output_0' : 'shape'], ['/Reshape_output_0'], '/Reshape'),
        gemm('/fc/Gemm', '/Reshape_output_0', 'fc.weight', 'fc.bias', 'y'),
      ],
      initializers: [
        floats('c.weight', [2, 1, 3, 3], weightsOf(18, 21)), floats('c.bias', [2], weightsOf(2, 22)),
        floats('fc.weight', [3, 18], weightsOf(54, 23)), floats('fc.bias', [3], weightsOf(3, 24)),
        ...(shapeSource === 'initializer' ? [int64s('shape', shape)] : []),
      ],
    };
  }

  it('x.view(-1, 18): Reshape with a constant INT64 initializer [-1, 18]', async () => {
    const r = await agree(buildOnnx(reshapeGraph('initializer', [-1, 18], 'batch')), 3, 'x');
    expect(r.kinds).toEqual(['conv2d', 'flatten', 'dense']);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('x.view(x.size(0), -1) folded to a Constant node [0, -1]', async () => {
    const r = await agree(buildOnnx(reshapeGraph('constant', [0, -1], 'batch')), 3, 'x');
    expect(r.kinds).toEqual(['conv2d', 'flatten', 'dense']);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('an export with a fixed batch of 1: Reshape [1, 18], and the imported model takes any batch', async () => {
    const bytes = buildOnnx(reshapeGraph('initializer', [1, 18], 1));
    const r = await agree(bytes, 1, 'x');
    expect(r.err).toBeLessThan(1e-5);
    const { model } = fromOnnx(bytes);
    expect(forwardAll(model, { data: randomInput(model, 4, 3), shape: [4, 1, 6, 6] }).shape).toEqual([4, 3]);
  });

  it('pools without strides use ONNX\'s default stride 1 (not the window size)', async () => {
    const def: GraphDef = {
      input: { name: 'x', dims: ['b', 1, 5, 5] },
      output: { name: 'y' },
      nodes: [
        node('MaxPool', ['x'], ['p'], 'pool', [attr.ints('kernel_shape', [2, 2])]),
        node('AveragePool', ['p'], ['q'], 'avg', [attr.ints('kernel_shape', [2, 3])]),
        node('Flatten', ['q'], ['y'], 'flat'),
      ],
    };
    const r = await agree(buildOnnx(def), 2, 'x');
    expect(r.specs.slice(0, 2)).toEqual([
      { kind: 'maxPool2d', size: [2, 2], stride: [1, 1] },
      { kind: 'avgPool2d', size: [2, 3], stride: [1, 1] },
    ]);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('older files: initializers listed among the graph inputs, float_data instead of raw_data, an Identity', async () => {
    const def: GraphDef = {
      input: { name: 'x', dims: ['b', 3] },
      output: { name: 'y' },
      extraInputs: [{ name: 'w', dims: [2, 3] }, { name: 'b', dims: [2] }],
      nodes: [node('Identity', ['x'], ['x2'], 'id'), node('Gemm', ['x2', 'w', 'b'], ['y'], 'fc', [attr.int('transB', 1)])],
      initializers: [
        { name: 'w', dims: [2, 3], data_type: 1, float_data: Array.from(weightsOf(6, 31)) },
        { name: 'b', dims: [2], data_type: 1, float_data: Array.from(weightsOf(2, 32)) },
      ],
      opset: 9,
    };
    const object = modelObject(def);
    object.ir_version = 3;
    const r = await agree(encodeModel(object), 3, 'x');
    expect(r.kinds).toEqual(['dense']);
    expect(r.err).toBeLessThan(1e-5);
  });

  it('Gemm with transB = 0 (weight [in, out]) is transposed into deltaflow\'s [out, in]', async () => {
    const W = weightsOf(12, 41);
    const def: GraphDef = {
      input: { name: 'x', dims: ['b', 4] },
      output: { name: 'y' },
      nodes: [node('Gemm', ['x', 'w', 'b'], ['y'], 'fc')],
      initializers: [floats('w', [4, 3], W), floats('b', [3], weightsOf(3, 42))],
    };
    const bytes = buildOnnx(def);
    const r = await agree(bytes, 3, 'x');
    expect(r.err).toBeLessThan(1e-5);
    const { model } = fromOnnx(bytes);
    // deltaflow's W[o, i] is the file's B[i, o].
    expect(model.params[0].shape).toEqual([3, 4]);
    expect(model.params[0].value[1 * 4 + 2]).toBe(W[2 * 3 + 1]);
  });

  it('a foreign model\'s meta records where it came from', () => {
    const { meta } = fromOnnx(buildOnnx(reshapeGraph('initializer', [-1, 18], 'batch')));
    expect(meta).toEqual({ importedFrom: { format: 'onnx', producer: 'pytorch 2.1.0', opset: 17 } });
  });
});
