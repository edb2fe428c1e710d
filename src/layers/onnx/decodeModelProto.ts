/**
 * Reading an ONNX file's bytes into protobufjs messages without trusting them.
 *
 * Before protobufjs's decoder runs, one walk over the wire format (protobufjs's own Reader, guided by
 * the reflected schema) checks what the decoder would allocate:
 *
 *   - every length-delimited field fits inside its parent message (a truncated file fails here, with
 *     the byte offset, before anything is built);
 *   - messages nest at most MAX_DEPTH deep (a graph inside an attribute inside a node…);
 *   - at most MAX_MESSAGES messages (each becomes an object: two bytes of an empty message must not
 *     cost a hundred of memory);
 *   - at most MAX_SCALARS values in repeated fields (numbers, and the strings of repeated string
 *     fields): each becomes a JS value, an int64 even an object; tensors as large as that must use
 *     `raw_data`, whose bytes are viewed, not expanded.
 *
 * So decoding holds memory to a small multiple of the file size, and the file size is capped by
 * MAX_ONNX_BYTES. Deeper checks (shapes, byte lengths, data types, graph structure) come after, on
 * the decoded messages (readOnnxGraph.ts, onnxTensors.ts).
 */
import protobuf from 'protobufjs';
import { OnnxError } from './onnxError.js';
import { onnxTypes } from './onnxSchema.js';

/** Largest ONNX file read (the cap of model files). */
export const MAX_ONNX_BYTES = 512 * 1024 * 1024;
/** Deepest nesting of messages accepted. */
export const MAX_DEPTH = 32;
/** Most values in repeated fields (dims, attribute ints, float_data, node inputs, …) in one file. */
export const MAX_SCALARS = 1 << 24;
/** Most messages (nodes, attributes, tensors, dims, …) in one file. */
export const MAX_MESSAGES = 1 << 20;

const FIXED_WIDTH: { readonly [type: string]: number } = { float: 4, fixed32: 4, sfixed32: 4, double: 8, fixed64: 8, sfixed64: 8 };

interface ScanState {
  scalars: number;
  messages: number;
}

/** A packed field's element count: its byte length over the fixed width, or its varints (one ends at each byte < 0x80). */
function packedCount(bytes: Uint8Array, start: number, end: number, type: string): number {
  const width = FIXED_WIDTH[type];
  if (width !== undefined) return Math.ceil((end - start) / width);
  let n = 0;
  for (let i = start; i < end; i++) if (bytes[i] < 0x80) n++;
  return n;
}

function truncated(what: string, at: number, size: number): OnnxError {
  return new OnnxError(`not a valid ONNX file: truncated or malformed protobuf (${what} at byte ${at} of ${size})`);
}

/** Walk one message of `type` in bytes[start, end), counting what decoding would allocate. */
function scanMessage(bytes: Uint8Array, start: number, end: number, type: protobuf.Type, depth: number, state: ScanState): void {
  if (depth > MAX_DEPTH) throw new OnnxError(`not a valid ONNX file: messages nested deeper than ${MAX_DEPTH} levels (at byte ${start})`);
  const reader = protobuf.Reader.create(bytes.subarray(0, end));
  reader.pos = start;
  while (reader.pos < end) {
    const at = reader.pos;
    let tag: number;
    try {
      tag = reader.uint32();
    } catch {
      throw truncated('a field tag runs past the end', at, bytes.length);
    }
    const id = tag >>> 3;
    const wireType = tag & 7;
    if (id === 0) throw truncated('field number 0', at, bytes.length);
    const field: protobuf.Field | undefined = type.fieldsById[id];
    if (wireType === 2) {
      let length: number;
      try {
        length = reader.uint32();
      } catch {
        throw truncated('a length runs past the end', at, bytes.length);
      }
      const bodyStart = reader.pos;
      if (length > end - bodyStart) throw truncated(`a field of ${length} bytes runs past the end of its message (field ${id})`, at, bytes.length);
      const bodyEnd = bodyStart + length;
      if (field !== undefined && field.resolvedType instanceof protobuf.Type) {
        if (++state.messages > MAX_MESSAGES) throw new OnnxError(`not a valid ONNX file: more than ${MAX_MESSAGES} messages (at byte ${at})`);
        scanMessage(bytes, bodyStart, bodyEnd, field.resolvedType, depth + 1, state);
      } else if (field !== undefined && field.repeated) {
        state.scalars += field.type === 'bytes' || field.type === 'string' ? 1 : packedCount(bytes, bodyStart, bodyEnd, field.type);
      }
      reader.pos = bodyEnd;
    } else if (wireType === 0 || wireType === 1 || wireType === 5) {
      try {
        reader.skipType(wireType);
      } catch {
        throw truncated('a number runs past the end', at, bytes.length);
      }
      if (reader.pos > end) throw truncated('a number runs past the end of its message', at, bytes.length);
      if (field !== undefined) state.scalars++;
    } else {
      // Groups (wire types 3 and 4) are not used by ONNX; 6 and 7 do not exist.
      throw truncated(`wire type ${wireType}`, at, bytes.length);
    }
    if (state.scalars > MAX_SCALARS) {
      throw new OnnxError(`not a valid ONNX file: more than ${MAX_SCALARS} values in repeated fields (at byte ${at}); store large tensors as raw_data`);
    }
  }
}

/**
 * The ModelProto message of an ONNX file, after the bounds walk. Throws an OnnxError on a file that
 * is too large, truncated or malformed.
 *
 * @example const message = decodeModelProto(readFileSync('model.onnx'));
 */
export function decodeModelProto(bytes: Uint8Array): protobuf.Message {
  if (bytes.length > MAX_ONNX_BYTES) throw new OnnxError(`the file has ${bytes.length} bytes, more than the limit of ${MAX_ONNX_BYTES}`);
  if (bytes.length === 0) throw new OnnxError('not a valid ONNX file: it is empty');
  scanMessage(bytes, 0, bytes.length, onnxTypes.ModelProto, 0, { scalars: 0, messages: 0 });
  try {
    return onnxTypes.ModelProto.decode(bytes);
  } catch (e) {
    throw new OnnxError(`not a valid ONNX file: ${e instanceof Error ? e.message : String(e)}`);
  }
}
