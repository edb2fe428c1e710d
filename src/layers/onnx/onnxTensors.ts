/**
 * ONNX tensors (TensorProto) both ways, and typed reading of decoded protobufjs messages.
 *
 * Writing: every tensor deltaflow writes keeps its values in `raw_data`, fixed-width little-endian
 * (IEEE 754 for FLOAT and DOUBLE, two's complement for INT64), row-major — what ONNX requires of
 * raw_data and what PyTorch's exporter writes.
 *
 * Reading trusts nothing. Before a value is copied: the data type must be one deltaflow reads
 * (FLOAT, DOUBLE, INT64, INT32); every dim a non-negative integer and their product at most
 * MAX_TENSOR_ELEMENTS; the data in exactly one place (raw_data, or the typed field of that type) and of
 * exactly the length the dims declare; never external data (`data_location = EXTERNAL` or
 * `external_data` entries name another file, which deltaflow never opens).
 */
import { MAX_MODEL_ELEMENTS } from '../modelFile.js';
import { OnnxError } from './onnxError.js';
import { DATA_TYPE_NAMES, DataType } from './onnxSchema.js';

/** Largest tensor read: the model files' cap on parameters. */
export const MAX_TENSOR_ELEMENTS = MAX_MODEL_ELEMENTS;

/** A tensor as deltaflow uses it: FLOAT as Float32Array, DOUBLE as Float64Array, integer types as numbers. */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly dataType: number;
  readonly values: Float32Array | Float64Array | readonly number[];
}

// ---------------------------------------------------------------------------------------------
// Typed access to decoded messages. protobufjs builds untyped objects from the schema, so each field
// is read as `unknown` and checked here.

/** A field of a decoded message, as unknown. */
export function field(message: object, key: string): unknown {
  return Reflect.get(message, key);
}

/** An int64 as protobufjs decodes it (a number, or a Long-like `{low, high}`), as a JS number (exact below 2^53). */
export function int64Value(v: unknown): number | null {
  if (typeof v === 'number') return v;
  if (v !== null && typeof v === 'object') {
    const low: unknown = Reflect.get(v, 'low');
    const high: unknown = Reflect.get(v, 'high');
    const unsigned: unknown = Reflect.get(v, 'unsigned');
    if (typeof low === 'number' && typeof high === 'number') {
      const hi = unsigned === true ? high >>> 0 : high | 0;
      return hi * 4294967296 + (low >>> 0);
    }
  }
  return null;
}

export function stringField(message: object, key: string): string {
  const v = field(message, key);
  return typeof v === 'string' ? v : '';
}

export function intField(message: object, key: string): number | null {
  return int64Value(field(message, key));
}

/** A repeated field (protobufjs gives an empty array for an absent one). */
export function listField(message: object, key: string): readonly unknown[] {
  const v = field(message, key);
  return Array.isArray(v) ? v : [];
}

/** A repeated message field, each element an object. */
export function messageList(message: object, key: string): readonly object[] {
  return listField(message, key).filter((v): v is object => v !== null && typeof v === 'object');
}

export function messageField(message: object, key: string): object | null {
  const v = field(message, key);
  return v !== null && typeof v === 'object' && !(v instanceof Uint8Array) ? v : null;
}

/** Has the message this field set (not only the prototype's default)? */
export function hasField(message: object, key: string): boolean {
  return Object.hasOwn(message, key);
}

export function bytesField(message: object, key: string): Uint8Array | null {
  const v = field(message, key);
  return v instanceof Uint8Array ? v : null;
}

// ---------------------------------------------------------------------------------------------
// Writing

const WIDTH: { readonly [dataType: number]: number } = { [DataType.FLOAT]: 4, [DataType.DOUBLE]: 8, [DataType.INT64]: 8, [DataType.INT32]: 4 };

/** A TensorProto object (for protobufjs `fromObject`) holding `values` in raw_data, little-endian. */
export function tensorObject(name: string, dims: readonly number[], dataType: 1 | 7 | 11, values: Float32Array | Float64Array | readonly number[]): object {
  const n = values.length;
  const bytes = new Uint8Array(n * WIDTH[dataType]);
  const view = new DataView(bytes.buffer);
  for (let i = 0; i < n; i++) {
    if (dataType === DataType.FLOAT) view.setFloat32(4 * i, values[i], true);
    else if (dataType === DataType.DOUBLE) view.setFloat64(8 * i, values[i], true);
    else view.setBigInt64(8 * i, BigInt(values[i]), true);
  }
  return { name, dims: [...dims], data_type: dataType, raw_data: bytes };
}

// ---------------------------------------------------------------------------------------------
// Reading

const typeName = (t: number): string => `${DATA_TYPE_NAMES[t] ?? 'unknown'} (${t})`;

/** The dims of a tensor, each checked, and their product checked against the cap. */
function readDims(message: object, where: string): number[] {
  const dims = listField(message, 'dims').map((d, i) => {
    const v = int64Value(d);
    if (v === null || !Number.isSafeInteger(v) || v < 0) throw new OnnxError(`${where}: dims[${i}] must be a non-negative integer, got ${String(v)}`);
    return v;
  });
  // The product in double: dims of 2^40 each overflow any integer type, never this comparison.
  const n = dims.reduce((p, d) => p * d, 1);
  if (n > MAX_TENSOR_ELEMENTS) {
    throw new OnnxError(`${where}: declared dims [${dims.join(', ')}] hold ${n} elements, more than the limit of ${MAX_TENSOR_ELEMENTS}`);
  }
  return dims;
}

const TYPED_FIELD: { readonly [dataType: number]: string } = {
  [DataType.FLOAT]: 'float_data',
  [DataType.DOUBLE]: 'double_data',
  [DataType.INT64]: 'int64_data',
  [DataType.INT32]: 'int32_data',
};
const ALL_TYPED_FIELDS = ['float_data', 'int32_data', 'string_data', 'int64_data', 'double_data', 'uint64_data'];

/**
 * A TensorProto message as an OnnxTensor, with every check of the file comment. `where` names it in
 * errors (`initializer "fc.weight"`).
 */
export function readTensor(message: object, where: string): OnnxTensor {
  const name = stringField(message, 'name');
  const externalData = messageList(message, 'external_data');
  if (intField(message, 'data_location') === 1 || externalData.length > 0) {
    const location = externalData.find((e) => stringField(e, 'key') === 'location');
    const named = location === undefined ? '' : ` (location ${JSON.stringify(stringField(location, 'value'))})`;
    throw new OnnxError(`${where}: its data is in an external file${named}, which deltaflow never reads; save the model with its tensors inside the file`, { tensor: name });
  }
  const dataType = intField(message, 'data_type') ?? 0;
  const width = WIDTH[dataType];
  if (width === undefined) {
    throw new OnnxError(`${where}: data type ${typeName(dataType)} is not supported (FLOAT weights, INT64 shapes, DOUBLE constants)`, { tensor: name });
  }
  const dims = readDims(message, where);
  const n = dims.reduce((p, d) => p * d, 1);
  const raw = bytesField(message, 'raw_data');
  const typedKey = TYPED_FIELD[dataType];
  const filled = ALL_TYPED_FIELDS.filter((k) => listField(message, k).length > 0);
  const wrongField = filled.find((k) => k !== typedKey);
  if (wrongField !== undefined) throw new OnnxError(`${where}: ${wrongField} does not hold data of type ${typeName(dataType)}`, { tensor: name });
  const hasRaw = raw !== null && hasField(message, 'raw_data');
  if (hasRaw && filled.length > 0) throw new OnnxError(`${where}: has both raw_data and ${typedKey}`, { tensor: name });
  if (hasRaw) {
    if (raw.length !== n * width) {
      throw new OnnxError(`${where}: raw_data has ${raw.length} bytes, but dims [${dims.join(', ')}] of ${DATA_TYPE_NAMES[dataType]} need ${n * width}`, { tensor: name });
    }
    return { name, dims, dataType, values: fromRaw(raw, dataType, n, where, name) };
  }
  const typed = listField(message, typedKey);
  if (typed.length !== n) {
    throw new OnnxError(`${where}: ${typedKey} has ${typed.length} values, but dims [${dims.join(', ')}] need ${n}`, { tensor: name });
  }
  if (dataType === DataType.FLOAT) return { name, dims, dataType, values: Float32Array.from(typed, (v) => (typeof v === 'number' ? v : NaN)) };
  if (dataType === DataType.DOUBLE) return { name, dims, dataType, values: Float64Array.from(typed, (v) => (typeof v === 'number' ? v : NaN)) };
  return { name, dims, dataType, values: typed.map((v) => checkedInt(int64Value(v), where, name)) };
}

function checkedInt(v: number | null, where: string, name: string): number {
  if (v === null || !Number.isSafeInteger(v)) throw new OnnxError(`${where}: an integer value is out of range (${String(v)})`, { tensor: name });
  return v;
}

function fromRaw(raw: Uint8Array, dataType: number, n: number, where: string, name: string): Float32Array | Float64Array | number[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (dataType === DataType.FLOAT) {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
    return out;
  }
  if (dataType === DataType.DOUBLE) {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
    return out;
  }
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = dataType === DataType.INT64 ? Number(view.getBigInt64(8 * i, true)) : view.getInt32(4 * i, true);
    out.push(checkedInt(v, where, name));
  }
  return out;
}

/** The values of a FLOAT tensor as float32 (another type is an error naming `where` and what it is for). */
export function floatValues(t: OnnxTensor, where: string, what: string): Float32Array {
  if (!(t.values instanceof Float32Array)) throw new OnnxError(`${where}: ${what} must be FLOAT, got ${typeName(t.dataType)}`, { tensor: t.name });
  return t.values;
}
