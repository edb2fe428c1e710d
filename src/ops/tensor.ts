/**
 * Tensors, shapes and scratch buffers shared by every kernel in src/ops.
 *
 * Layout everywhere: row-major (C order). Images are NCHW: sample, channel, row, column.
 * A kernel takes flat Float32Arrays, a shape object with named fields, and an optional `out`
 * buffer; it returns `out`. Kernels never keep state between calls.
 */
import { residentAddress, residentF32 as allocResidentF32, residentI32 as allocResidentI32 } from './wasm/kernelMemory.js';

/**
 * A zeroed Float32Array of `n` elements, inside the kernels' memory once they are initialised in
 * this thread (the GEMM and optimizer-step kernels then read and update it in place), an ordinary
 * one otherwise. Lives as long as the array is reachable.
 */
export function kernelResidentF32(n: number): Float32Array {
  return allocResidentF32(n)?.fill(0) ?? new Float32Array(n);
}

/** A flat float32 tensor with its shape; `data.length` equals the product of `shape`. */
export interface Tensor {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

/** Number of elements of a shape (1 for the empty shape). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** `[2, 3, 4]` → `"[2, 3, 4]"`, the way error messages print shapes. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Thrown when a tensor's shape is not the one an op or layer needs; the facts are fields. */
export class ShapeError extends Error {
  constructor(
    readonly where: string,
    readonly expected: readonly number[] | string,
    readonly actual: readonly number[] | string,
    detail = '',
  ) {
    const e = typeof expected === 'string' ? expected : formatShape(expected);
    const a = typeof actual === 'string' ? actual : formatShape(actual);
    super(`${where}: expected shape ${e}, got ${a}${detail ? ` (${detail})` : ''}`);
    this.name = 'ShapeError';
  }
}

/**
 * Reusable scratch buffers, keyed by name. A training loop owns one Workspace per layer, so a
 * step reuses the previous step's buffers instead of allocating (the hot path allocates nothing
 * once the batch size has been seen). A buffer handed out is valid until the same key is asked
 * for again, i.e. until the next step: copy what you keep.
 */
export class Workspace {
  private readonly f32s = new Map<string, Float32Array>();
  private readonly i32s = new Map<string, Int32Array>();
  private readonly residentF32s = new Map<string, Float32Array>();
  private readonly residentI32s = new Map<string, Int32Array>();

  /** A Float32Array of exactly `n` elements for `key`; contents are whatever was left (not zeroed). */
  f32(key: string, n: number): Float32Array {
    let buf = this.f32s.get(key);
    if (buf === undefined || buf.length !== n) {
      buf = new Float32Array(n);
      this.f32s.set(key, buf);
    }
    return buf;
  }

  /** An Int32Array of exactly `n` elements for `key`; contents are whatever was left (not zeroed). */
  i32(key: string, n: number): Int32Array {
    let buf = this.i32s.get(key);
    if (buf === undefined || buf.length !== n) {
      buf = new Int32Array(n);
      this.i32s.set(key, buf);
    }
    return buf;
  }

  /**
   * Like f32, but once the WASM kernels are initialised in this thread (initKernels()) the buffer
   * lives inside their memory, so the conv / ReLU / pooling kernels read and write it in place instead
   * of copying it (src/ops/wasm/kernelMemory.ts); an ordinary Float32Array otherwise. Same validity
   * rule as f32. NOTE: a view derived from it (subarray, another typed array on its buffer) does not
   * keep its memory alive once the returned array itself is unreachable — copy what you keep.
   */
  residentF32(key: string, n: number): Float32Array {
    let buf = this.residentF32s.get(key);
    if (buf === undefined || buf.length !== n) {
      buf = allocResidentF32(n) ?? new Float32Array(n);
      this.residentF32s.set(key, buf);
    }
    return buf;
  }

  /**
   * `data` as an array resident in the kernels' memory: `data` itself when it already is (or when
   * the kernels are not initialised), otherwise a copy of it in the residentF32 buffer for `key`
   * (same validity rule). For an operand several kernels read: one copy instead of one per call.
   */
  residentCopy(key: string, data: Float32Array): Float32Array {
    if (residentAddress(data) >= 0) return data;
    const buf = this.residentF32(key, data.length);
    if (residentAddress(buf) < 0) return data;
    buf.set(data);
    return buf;
  }

  /** Like i32, resident in the kernels' memory when it can be (see residentF32). */
  residentI32(key: string, n: number): Int32Array {
    let buf = this.residentI32s.get(key);
    if (buf === undefined || buf.length !== n) {
      buf = allocResidentI32(n) ?? new Int32Array(n);
      this.residentI32s.set(key, buf);
    }
    return buf;
  }
}
