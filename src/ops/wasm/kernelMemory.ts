/**
 * The one WebAssembly memory of this thread's conv / elementwise / pooling kernels, and an arena in
 * it for "resident" buffers: Float32Arrays (and Int32Arrays) that live inside the kernels' memory, so
 * a kernel given one reads or writes it in place instead of copying it in and out. Layer outputs that
 * the next kernel reads (conv z, relu a, pool y / argmax, their deltas) are allocated here through
 * `Workspace.residentF32` (src/ops/tensor.ts) once the kernels are initialised.
 *
 * Memory: shared (SharedArrayBuffer-backed), so that growing it never detaches a view handed out
 * before — an old view keeps its length and still aliases the same bytes; only the whole-memory
 * view `heapF32()` has to be re-derived after a growth (it is, on every call).
 *
 * Arena: 64-byte aligned blocks, sizes rounded up to 64 bytes, reused by exact size (a training
 * loop asks for the same few sizes every step). A block is freed when the view handed out for it is
 * garbage-collected (FinalizationRegistry), never earlier. NOTE: views derived from a resident view
 * (subarray, new Int32Array(v.buffer, …)) do not keep its block alive; copy what you keep. Kernels
 * treat as resident only the exact view objects handed out (a WeakSet), never subarrays of them.
 * Past `MAX_ARENA_BYTES` the allocator returns null and callers use ordinary arrays.
 *
 * Scratch: one reusable block (grown on demand) for the operands a kernel call copies in.
 *
 * NOTE: module state (the memory, the arena) is deliberate, the same exception to "no module state"
 * (STYLE.md §3) as gemmWasm.ts and convWasm.ts: each worker thread initialises its own.
 */
import { chooseKernelSet } from './kernelSet.js';

// NOTE: lib ES2022 and @types/node 20 do not declare WebAssembly; the members used are declared here.
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
};

const PAGE = 65536;
/** Pages reserved up front (V8 reserves a shared memory's maximum as address space, not RAM). */
const MAX_PAGES = 65536;
const INITIAL_PAGES = 256;
/**
 * Resident buffers beyond this many bytes fall back to ordinary arrays. Bounds the memory a caller
 * can pin by dropping Workspaces faster than the garbage collector finalises their views.
 */
const MAX_ARENA_BYTES = 512 << 20;
const ALIGN = 64;

interface Arena {
  readonly memory: WasmMemory;
  heap: Float32Array;
  heapI32: Int32Array;
  top: number;
  residentBytes: number;
  readonly free: Map<number, number[]>;
  readonly views: WeakSet<object>;
  readonly registry: FinalizationRegistry<{ at: number; bytes: number }>;
  scratchAt: number;
  scratchBytes: number;
}

let arena: Arena | undefined;
let pending: Promise<boolean> | undefined;

/** The feature probe of wasm-feature-detect: (i32.const 0) (i8x16.splat) (drop). */
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11]);

const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/**
 * Create this thread's kernel memory; resolves false when WebAssembly SIMD or shared
 * memory is unavailable, or the thread's kernel set is the TypeScript one. Safe to call again.
 */
export function initKernelMemory(): Promise<boolean> {
  pending ??= (async () => {
    if (!(await chooseKernelSet()).wasm) return false;
    if (typeof WebAssembly !== 'object' || !WebAssembly.validate(SIMD_PROBE)) return false;
    let memory: WasmMemory;
    try {
      memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
    } catch {
      return false;
    }
    const a: Arena = {
      memory,
      heap: new Float32Array(memory.buffer),
      heapI32: new Int32Array(memory.buffer),
      // address 0 is never handed out
      top: ALIGN,
      residentBytes: 0,
      free: new Map(),
      views: new WeakSet(),
      registry: new FinalizationRegistry(({ at, bytes }) => release(a, at, bytes)),
      scratchAt: 0,
      scratchBytes: 0,
    };
    arena = a;
    return true;
  })();
  return pending;
}

/** The initialised arena, or undefined before initKernelMemory() has resolved true. */
export function kernelArena(): { readonly memory: WasmMemory } | undefined {
  return arena;
}

function release(a: Arena, at: number, bytes: number): void {
  a.residentBytes -= bytes;
  let list = a.free.get(bytes);
  if (list === undefined) a.free.set(bytes, (list = []));
  list.push(at);
}

/** A block of `bytes` (rounded up to 64) at a 64-byte aligned address, or -1 past the cap. */
function alloc(a: Arena, bytes: number): number {
  const size = roundUp(Math.max(bytes, 1), ALIGN);
  const reused = a.free.get(size)?.pop();
  if (reused !== undefined) return reused;
  const at = a.top;
  const end = at + size;
  if (end > MAX_PAGES * PAGE) return -1;
  const have = a.memory.buffer.byteLength;
  if (end > have) a.memory.grow(Math.ceil((end - have) / PAGE));
  a.top = end;
  return at;
}

function refresh(a: Arena): void {
  if (a.heap.buffer.byteLength !== a.memory.buffer.byteLength) {
    a.heap = new Float32Array(a.memory.buffer);
    a.heapI32 = new Int32Array(a.memory.buffer);
  }
}

function residentBlock(n: number): { a: Arena; at: number } | null {
  const a = arena;
  if (a === undefined) return null;
  const bytes = roundUp(Math.max(n * 4, 1), ALIGN);
  if (a.residentBytes + bytes > MAX_ARENA_BYTES) return null;
  const at = alloc(a, bytes);
  if (at < 0) return null;
  a.residentBytes += bytes;
  return { a, at };
}

/** A zero-length-safe Float32Array of `n` elements inside the kernel memory, or null (not initialised, or over the cap). */
export function residentF32(n: number): Float32Array | null {
  const b = residentBlock(n);
  if (b === null) return null;
  const view = new Float32Array(b.a.memory.buffer, b.at, n);
  b.a.views.add(view);
  b.a.registry.register(view, { at: b.at, bytes: roundUp(Math.max(n * 4, 1), ALIGN) });
  return view;
}

/** Like residentF32, for Float64Array (the float64 gradient sums of micro-batches). */
export function residentF64(n: number): Float64Array | null {
  const b = residentBlock(2 * n);
  if (b === null) return null;
  const view = new Float64Array(b.a.memory.buffer, b.at, n);
  b.a.views.add(view);
  b.a.registry.register(view, { at: b.at, bytes: roundUp(Math.max(n * 8, 1), ALIGN) });
  return view;
}

/** Like residentF32, for Int32Array (argmax). */
export function residentI32(n: number): Int32Array | null {
  const b = residentBlock(n);
  if (b === null) return null;
  const view = new Int32Array(b.a.memory.buffer, b.at, n);
  b.a.views.add(view);
  b.a.registry.register(view, { at: b.at, bytes: roundUp(Math.max(n * 4, 1), ALIGN) });
  return view;
}

/**
 * The byte address of `v` in the kernel memory when `v` is a resident view handed out by
 * residentF32 / residentI32 / residentF64 (its block is 64-byte aligned and padded to 64 bytes, so whole f32x4
 * vectors past its end stay inside it); -1 otherwise.
 */
export function residentAddress(v: Float32Array | Int32Array | Float64Array): number {
  const a = arena;
  return a !== undefined && a.views.has(v) ? v.byteOffset : -1;
}

/**
 * A scratch region of at least `bytes` (64-byte aligned), valid until the next scratch() call, and
 * the current whole-memory views. Call before reading `heap`: allocation may grow the memory.
 */
export function scratch(bytes: number): { at: number; heap: Float32Array; heapI32: Int32Array } {
  const a = arena;
  if (a === undefined) throw new Error('kernelMemory: call `await initKernelMemory()` first');
  if (bytes > a.scratchBytes) {
    if (a.scratchBytes > 0) release(a, a.scratchAt, a.scratchBytes);
    const size = roundUp(Math.max(bytes, a.scratchBytes * 2), ALIGN);
    const at = alloc(a, size);
    if (at < 0) throw new Error(`kernelMemory: no room for ${size} bytes of scratch`);
    a.residentBytes += size;
    a.scratchAt = at;
    a.scratchBytes = size;
  }
  refresh(a);
  return { at: a.scratchAt, heap: a.heap, heapI32: a.heapI32 };
}

/** The current whole-memory views (re-derived after a growth). */
export function heapViews(): { heap: Float32Array; heapI32: Int32Array } {
  const a = arena;
  if (a === undefined) throw new Error('kernelMemory: call `await initKernelMemory()` first');
  refresh(a);
  return { heap: a.heap, heapI32: a.heapI32 };
}
