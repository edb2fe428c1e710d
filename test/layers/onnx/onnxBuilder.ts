/**
 * Hand-built ONNX graphs for the import tests, encoded by protobufjs from deltaflow's schema — the way
 * other exporters lay files out (PyTorch's names like `/0/Gemm` and `0.weight`, initializers as
 * raw_data, 4-number pads, Constant nodes for shapes) without needing PyTorch.
 */
import { DataType, onnxTypes } from '../../../src/layers/onnx/onnxSchema.js';
import { tensorObject } from '../../../src/layers/onnx/onnxTensors.js';
import { createRng } from '../../../src/ops/random.js';

export type Attr = { name: string; type: number; i?: number; ints?: number[]; f?: number; s?: Uint8Array; t?: object; g?: object };

export const attr = {
  int: (name: string, i: number): Attr => ({ name, type: 2, i }),
  ints: (name: string, ints: number[]): Attr => ({ name, type: 7, ints }),
  float: (name: string, f: number): Attr => ({ name, type: 1, f }),
  string: (name: string, s: string): Attr => ({ name, type: 3, s: new TextEncoder().encode(s) }),
  tensor: (name: string, t: object): Attr => ({ name, type: 4, t }),
};

export interface NodeDef {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attrs?: readonly Attr[];
  readonly domain?: string;
}

export const node = (op: string, inputs: readonly string[], outputs: readonly string[], name?: string, attrs: readonly Attr[] = []): NodeDef => ({ op, inputs, outputs, name, attrs });

/** A FLOAT initializer in raw_data. */
export const floats = (name: string, dims: readonly number[], values: Float32Array): object => tensorObject(name, dims, DataType.FLOAT, values);
/** An INT64 initializer in raw_data (Reshape shapes). */
export const int64s = (name: string, values: readonly number[]): object => tensorObject(name, [values.length], DataType.INT64, values);

/** Seeded weights in [−0.5, 0.5). */
export function weightsOf(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng.next() - 0.5);
}

export interface GraphDef {
  readonly nodes: readonly NodeDef[];
  readonly initializers?: readonly object[];
  readonly input?: { readonly name: string; readonly dims: readonly (number | string)[]; readonly elemType?: number };
  readonly output?: { readonly name: string; readonly dims?: readonly (number | string)[] };
  /** Extra graph inputs (e.g. initializers listed as inputs, as files before IR 4 do). */
  readonly extraInputs?: readonly { readonly name: string; readonly dims: readonly number[] }[];
  readonly opset?: number;
  readonly metadata?: { readonly [key: string]: string };
  readonly producer?: string;
}

const valueInfo = (name: string, dims: readonly (number | string)[] | undefined, elemType = 1): object => ({
  name,
  type: { tensor_type: { elem_type: elemType, ...(dims === undefined ? {} : { shape: { dim: dims.map((d) => (typeof d === 'number' ? { dim_value: d } : { dim_param: d })) } }) } },
});

/** The ModelProto object of a graph (to tweak before encoding). */
export function modelObject(def: GraphDef): { graph?: object; [key: string]: unknown } {
  const input = def.input ?? { name: 'input', dims: ['batch', 4] };
  const output = def.output ?? { name: 'output' };
  return {
    ir_version: 8,
    opset_import: [{ domain: '', version: def.opset ?? 17 }],
    producer_name: def.producer ?? 'pytorch',
    producer_version: '2.1.0',
    graph: {
      name: 'main_graph',
      node: def.nodes.map((n) => ({ name: n.name ?? '', op_type: n.op, input: [...n.inputs], output: [...n.outputs], attribute: [...(n.attrs ?? [])], ...(n.domain === undefined ? {} : { domain: n.domain }) })),
      initializer: [...(def.initializers ?? [])],
      input: [valueInfo(input.name, input.dims, input.elemType), ...(def.extraInputs ?? []).map((e) => valueInfo(e.name, e.dims))],
      output: [valueInfo(output.name, output.dims)],
    },
    metadata_props: Object.entries(def.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
}

export function encodeModel(object: { [key: string]: unknown }): Uint8Array {
  return onnxTypes.ModelProto.encode(onnxTypes.ModelProto.fromObject(object)).finish();
}

export function buildOnnx(def: GraphDef): Uint8Array {
  return encodeModel(modelObject(def));
}
