/**
 * WebAssembly SIMD GEMM: C[m×n] (+)= op(A)[m×k] · op(B)[k×n] with exactly the contract of
 * `gemm` in src/ops/gemm.ts (row-major; transA: A stored k × m; transB: B stored n × k;
 * accumulate: C += …, which needs `out`). Equations (1.1), (1.4), (1.5) and the conv GEMMs of
 * (3.5)–(3.7) all run through it.
 *
 * How it runs: the WAT in gemm.wat.ts is assembled (assembleWat.ts) and instantiated once per thread
 * by `initWasm()` (async, as the kernel-set detection is); after that `gemmWasm` is synchronous.
 * The thread's module works in the shared kernel memory (kernelMemory.ts), the memory of the conv,
 * ReLU / pooling and optimizer-step kernels: operands resident there (Workspace.residentF32: the
 * dense layers' z, ∂W, ∂b, δx, the ReLU outputs and deltas) are read and written in place, the
 * others are copied into the kernel scratch and C copied back out. Then, for each cache block: pack
 * op(B) (kc × nc) and op(A) (mc × kc) into panels and run the macro-kernel over the block.
 *
 * Memory map: the packing buffers [tile scratch MR×NR][packed A: MC×KC][packed B: KC×NC] are one
 * resident block of the kernel memory; copied operands [A][B][C] go to its scratch. A module made
 * with its own memory (createWasmGemm without `sharedMemory`, for tiles the bench and tests try)
 * keeps the packing buffers at address 0 and the wasmScratch arena and operands above them.
 * NOTE: growing an own memory detaches every view of the old buffer (views are re-made after
 * growth); the shared kernel memory never detaches them.
 *
 * NOTE: module state (the instance) is deliberate, an exception to "no module state" in STYLE.md
 * §3: instantiating per call would cost far more than the products we run. Each worker thread
 * loads its own copy of this module and must `await initWasm()` itself.
 */
import type { GemmShape } from '../gemm.js';
import { ShapeError } from '../tensor.js';
import { DEFAULT_TILE, gemmWat, type GemmWatOptions, type TileSize } from './gemm.wat.js';
import { assembleWat } from './assembleWat.js';
import { chooseKernelSet, detectKernelFeatures } from './kernelSet.js';
import { initKernelMemory, kernelArena, residentAddress, residentF32, scratch as kernelScratch } from './kernelMemory.js';

// NOTE: tsconfig's lib (ES2022) and @types/node 20 do not declare the WebAssembly global, so the
// few members used here are declared for this module only (a module-scope declaration, which
// cannot clash with a global one if a later lib adds it).
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
type WasmExport = WasmMemory | ((...args: number[]) => unknown);
declare const WebAssembly: {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, WasmExport> };
};

/** Where a module's memory comes from: its own, or the thread's shared kernel memory. */
type MemoryKind = 'own' | 'kernel';

/**
 * Cache blocking (in elements: kc steps of k per block, mc rows of A, nc columns of B) and whether
 * an operand already in panel order (op(A) = Aᵀ, op(B) = B) is read in place instead of packed.
 */
export interface Blocking {
  readonly kc: number;
  readonly mc: number;
  readonly nc: number;
  readonly isAInPlace: boolean;
  /** op(B) = B is read in place while a kc × n block of it has at most this many bytes (0: never). */
  readonly maxInPlaceBBytes: number;
}

/**
 * Defaults measured with scripts/gemmBench.ts: a 4×8 tile reads a 256 × 8 B panel (8 KiB, L1).
 * B is read in place only while a kc × n block stays small: long rows put each step p of a panel
 * on another page (and rows of 4 KiB multiples alias in L1), measured ~20 % slower than packing
 * for 1024³, while skipping the packing pass gained 5–15 % on the small workload shapes.
 */
export const DEFAULT_BLOCKING: Blocking = { kc: 256, mc: 128, nc: 2048, isAInPlace: true, maxInPlaceBBytes: 512 * 1024 };

/**
 * A block of floats that lives inside the kernels' WebAssembly memory. Operands passed to gemmWasm
 * as `block.view()` are used in place (no copy in or out). Call `view()` again after any
 * gemmWasm / wasmScratch call: growing the memory detaches older views (their length becomes 0).
 */
export interface WasmBlock {
  readonly length: number;
  readonly byteOffset: number;
  view(): Float32Array;
}

/** The exports of the module in gemm.wat.ts (argument lists documented there). */
interface GemmExports {
  readonly memory: WasmMemory;
  readonly packA: (src: number, xs: number, ps: number, nx: number, np: number, dst: number) => unknown;
  readonly packB: (src: number, xs: number, ps: number, nx: number, np: number, dst: number) => unknown;
  readonly macro: (...args: number[]) => unknown;
}

function gemmExports(ex: Record<string, WasmExport>, imported?: WasmMemory): GemmExports {
  const fn = (name: string): ((...args: number[]) => unknown) => {
    const f = ex[name];
    if (typeof f !== 'function') throw new Error(`gemmWasm: the assembled module does not export function ${name}`);
    return f;
  };
  const memory = imported ?? ex.memory;
  if (memory === undefined || typeof memory === 'function') throw new Error('gemmWasm: the assembled module does not export memory');
  return { memory, packA: fn('packA'), packB: fn('packB'), macro: fn('macro') };
}

/** One instantiated kernel module with its tile, blocking and multiply-add; `gemm` has gemmWasm's contract. */
export interface WasmGemm {
  readonly tile: TileSize;
  readonly blocking: Blocking;
  /** The micro-kernel uses f32x4.relaxed_madd. */
  readonly fma: boolean;
  gemm(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array;
  /** `length` floats inside the module's memory (see {@link wasmScratch}). */
  scratch(length: number): WasmBlock;
  /** Free every scratch block at once (see {@link releaseWasmScratch}). */
  releaseScratch(): void;
  /** The module's memory (for tests and the bench). */
  readonly memory: WasmMemory;
}

const PAGE = 65536;
/** Bytes kept past the last operand: edge tiles of in-place operands read up to one tile row beyond. */
const OVERREAD = 256;

const ALIGN = 64;

function alignUp(x: number, a: number): number {
  return Math.ceil(x / a) * a;
}

/** The feature probe of wasm-feature-detect: (i32.const 0) (i8x16.splat) (drop). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 10, 9, 1, 7, 0, 65, 0, 253, 15, 26, 11,
]);

/** True when this runtime has WebAssembly with the fixed-width SIMD proposal. */
export function hasWasmSimd(): boolean {
  return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
}

/** The binary module for `tile` (FMA or not). */
export function assembleGemm(tile: TileSize = DEFAULT_TILE, options: GemmWatOptions = {}): Uint8Array {
  return assembleWat(gemmWat(tile, options));
}

function checkShape(where: string, a: Float32Array, b: Float32Array, s: GemmShape, out: Float32Array | undefined): void {
  const { m, n, k } = s;
  if (!(Number.isInteger(m) && Number.isInteger(n) && Number.isInteger(k) && m >= 0 && n >= 0 && k >= 0)) {
    throw new ShapeError(where, 'non-negative integer m, n, k', `m=${m}, n=${n}, k=${k}`);
  }
  if (a.length !== m * k) {
    throw new ShapeError(where, s.transA === true ? [k, m] : [m, k], [a.length], 'A has the wrong number of elements');
  }
  if (b.length !== k * n) {
    throw new ShapeError(where, s.transB === true ? [n, k] : [k, n], [b.length], 'B has the wrong number of elements');
  }
  if (out !== undefined && out.length !== m * n) {
    throw new ShapeError(where, [m, n], [out.length], 'C has the wrong number of elements');
  }
  if (s.accumulate === true && out === undefined) {
    throw new ShapeError(where, [m, n], 'no C', 'accumulate needs an out buffer to add into');
  }
}

/**
 * Instantiate a kernel module for one tile size, blocking and multiply-add (the default module uses
 * DEFAULT_TILE / DEFAULT_BLOCKING, the thread's kernel set and the shared kernel memory; other tiles
 * are for the bench and the edge-case tests). `fma: true` needs relaxed SIMD (kernelSet.ts).
 * `sharedMemory: true` works in the thread's kernel memory (kernelMemory.ts): operands resident
 * there (Workspace.residentF32, the ReLU / pooling outputs) are read and written in place, and
 * scratch blocks are resident arrays that never detach.
 */
export async function createWasmGemm(tile: TileSize = DEFAULT_TILE, blocking: Blocking = DEFAULT_BLOCKING, options: GemmWatOptions = {}): Promise<WasmGemm> {
  const { mr, nr } = tile;
  if (blocking.mc % mr !== 0 || blocking.nc % nr !== 0 || blocking.kc < 1) {
    throw new Error(`createWasmGemm: blocking mc=${blocking.mc} nc=${blocking.nc} must be multiples of the tile ${mr}x${nr}, kc >= 1`);
  }
  const fma = options.fma === true;
  // detection sets V8's relaxed-SIMD flag where that is needed (Node 20)
  if (fma && !(await detectKernelFeatures()).relaxedSimd) throw new Error('createWasmGemm: fma needs relaxed SIMD, which this runtime lacks');
  const kind: MemoryKind = options.sharedMemory === true ? 'kernel' : 'own';
  const shared = kind === 'kernel' && (await initKernelMemory()) ? kernelArena() : undefined;
  if (kind === 'kernel' && shared === undefined) throw new Error('createWasmGemm: sharedMemory needs the kernel memory (WebAssembly SIMD and shared memory)');
  const binary = assembleGemm(tile, { fma, sharedMemory: kind === 'kernel' });
  const imports = shared === undefined ? {} : { env: { memory: shared.memory } };
  const ex = gemmExports(new WebAssembly.Instance(new WebAssembly.Module(binary), imports).exports, shared?.memory);
  const memory = ex.memory;
  const { kc: KC, mc: MC, nc: NC, isAInPlace: useInPlaceA, maxInPlaceBBytes } = blocking;

  // Fixed regions: [tile scratch MR×NR][packed A: MC×KC][packed B: KC×NC]. In the own memory they
  // sit at address 0 with the wasmScratch arena and each call's copied operands above them; in the
  // kernel memory they are one resident block, kept alive by this closure.
  const fixedBytes = alignUp(mr * nr * 4, ALIGN) + alignUp(MC * KC * 4, ALIGN) + KC * NC * 4;
  const fixedBlock = shared === undefined ? null : residentF32(fixedBytes / 4);
  if (shared !== undefined && fixedBlock === null) throw new Error('createWasmGemm: no room in the kernel memory for the packing buffers');
  const base = fixedBlock === null ? 0 : fixedBlock.byteOffset;
  const tmpAt = base;
  const packAAt = alignUp(tmpAt + mr * nr * 4, ALIGN);
  const packBAt = alignUp(packAAt + MC * KC * 4, ALIGN);
  // Own memory: the wasmScratch arena starts here and grows upward; each call's copied operands go above it.
  const arenaAt = alignUp(packBAt + KC * NC * 4, ALIGN);
  let operandsAt = arenaAt;

  let heap = new Float32Array(memory.buffer);

  function ensureBytes(total: number): void {
    const have = memory.buffer.byteLength;
    if (total > have) memory.grow(Math.ceil((total - have) / PAGE));
    if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
  }
  if (shared === undefined) ensureBytes(operandsAt);

  /** The byte address of `x` when the kernels can use it in place, -1 otherwise. */
  function inPlaceAddress(x: Float32Array): number {
    if (shared !== undefined) return residentAddress(x);
    return x.buffer === memory.buffer ? x.byteOffset : -1;
  }

  /**
   * Room for `bytes` of copied operands (64-byte aligned) and the whole-memory view to copy through.
   * Offsets of resident operands are read before this: growing the own memory detaches views.
   */
  function operandArea(bytes: number, residentEnd: number): number {
    if (shared === undefined) {
      ensureBytes(Math.max(operandsAt + bytes, residentEnd) + OVERREAD);
      return operandsAt;
    }
    const s = kernelScratch(bytes + OVERREAD);
    // in-place operands may be read up to one tile row past their end: those bytes must exist
    ensureBytes(Math.max(s.at + bytes, residentEnd) + OVERREAD);
    return s.at;
  }

  function gemm(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array {
    checkShape('gemmWasm', a, b, s, out);
    const { m, n, k } = s;
    const isTransA = s.transA === true;
    const isTransB = s.transB === true;
    const isAcc = s.accumulate === true;
    const c = out ?? new Float32Array(m * n);
    if (m === 0 || n === 0) return c;
    if (k === 0) {
      if (!isAcc) c.fill(0);
      return c;
    }

    // Resident operands are used in place; the others are copied into the operand area, each
    // 64-byte aligned.
    const aRes = inPlaceAddress(a);
    const bRes = inPlaceAddress(b);
    const cRes = inPlaceAddress(c);
    const residentEnd = Math.max(aRes < 0 ? 0 : aRes + a.byteLength, bRes < 0 ? 0 : bRes + b.byteLength, cRes < 0 ? 0 : cRes + c.byteLength);
    const aOff = 0;
    const bOff = alignUp(aOff + (aRes < 0 ? m * k * 4 : 0), ALIGN);
    const cOff = alignUp(bOff + (bRes < 0 ? k * n * 4 : 0), ALIGN);
    const copied = alignUp(cOff + (cRes < 0 ? m * n * 4 : 0), ALIGN);
    const area = copied === 0 && residentEnd + OVERREAD <= memory.buffer.byteLength ? 0 : operandArea(copied, residentEnd);
    if (heap.buffer !== memory.buffer) heap = new Float32Array(memory.buffer);
    const pa = aRes < 0 ? copyIn(a, area + aOff) : aRes;
    const pb = bRes < 0 ? copyIn(b, area + bOff) : bRes;
    const cAt = cRes < 0 ? area + cOff : cRes;
    if (isAcc && cRes < 0) copyIn(c, cAt);

    const ldc = n * 4;
    // op(A) = Aᵀ already holds the MR values of one p side by side (stride m), and op(B) = B the NR
    // values (stride n): those are read in place instead of packed when the packing pass would
    // cost more than it saves (inPlace* options; see scripts/gemmBench.ts).
    const isAInPlace = isTransA && useInPlaceA;
    const isBInPlace = !isTransB && Math.min(k, KC) * n * 4 <= maxInPlaceBBytes;
    // op(A)(i, p) = A[i·k + p] or A[p·m + i]; op(B)(p, j) = B[p·n + j] or B[j·k + p] (elements).
    const aXs = isTransA ? 1 : k;
    const aPs = isTransA ? m : 1;
    const bXs = isTransB ? k : 1;
    const bPs = isTransB ? 1 : n;
    for (let jc = 0; jc < n; jc += NC) {
      const nc = Math.min(NC, n - jc);
      for (let pc = 0; pc < k; pc += KC) {
        const kc = Math.min(KC, k - pc);
        const beta = isAcc || pc > 0 ? 1 : 0;
        const bBlock = pb + 4 * (jc * bXs + pc * bPs);
        if (!isBInPlace) ex.packB(bBlock, bXs, bPs, nc, kc, packBAt);
        const bAt = isBInPlace ? bBlock : packBAt;
        const bStep = isBInPlace ? 4 * n : 4 * nr;
        const bPanel = isBInPlace ? 4 * nr : 4 * nr * kc;
        for (let ic = 0; ic < m; ic += MC) {
          const mc = Math.min(MC, m - ic);
          const aBlock = pa + 4 * (ic * aXs + pc * aPs);
          if (!isAInPlace) ex.packA(aBlock, aXs, aPs, mc, kc, packAAt);
          const aAt = isAInPlace ? aBlock : packAAt;
          const aStep = isAInPlace ? 4 * m : 4 * mr;
          const aPanel = isAInPlace ? 4 * mr : 4 * mr * kc;
          ex.macro(mc, nc, kc, aAt, aStep, aPanel, bAt, bStep, bPanel, cAt + 4 * (ic * n + jc), ldc, beta, tmpAt);
        }
      }
    }
    if (cRes < 0) c.set(heap.subarray(cAt >>> 2, (cAt >>> 2) + m * n));
    return c;
  }

  function copyIn(x: Float32Array, at: number): number {
    heap.set(x, at >>> 2);
    return at;
  }

  function scratch(length: number): WasmBlock {
    if (!(Number.isInteger(length) && length >= 0)) throw new Error(`wasmScratch: length must be a non-negative integer, got ${length}`);
    if (shared !== undefined) {
      // a resident array: freed when the block is unreachable, never detached by growth
      const view = residentF32(length);
      if (view === null) throw new Error(`wasmScratch: no room in the kernel memory for ${length} floats`);
      return { length, byteOffset: view.byteOffset, view: () => view };
    }
    const byteOffset = operandsAt;
    operandsAt = alignUp(operandsAt + length * 4, ALIGN);
    ensureBytes(operandsAt + OVERREAD);
    let cached = new Float32Array(memory.buffer, byteOffset, length);
    return {
      length,
      byteOffset,
      view(): Float32Array {
        if (cached.buffer !== memory.buffer) cached = new Float32Array(memory.buffer, byteOffset, length);
        return cached;
      },
    };
  }

  function releaseScratch(): void {
    operandsAt = arenaAt;
  }

  return { tile, blocking, fma, gemm, scratch, releaseScratch, memory };
}

let engine: WasmGemm | undefined;
let pending: Promise<boolean> | undefined;

/**
 * Assemble and instantiate the kernels for this thread, FMA or not as the thread's kernel set says
 * (kernelSet.ts); resolves true when gemmWasm is usable, false when the set is the TypeScript one
 * (WebAssembly SIMD missing, or DELTAFLOW_KERNELS=typescript: keep using `gemm`). Safe to call again.
 *
 * @example if (await initWasm()) gemmWasm(A, W, { m: 64, n: 128, k: 784, transB: true }, Z);
 */
export function initWasm(): Promise<boolean> {
  pending ??= (async () => {
    const set = await chooseKernelSet();
    if (!set.wasm || !hasWasmSimd()) return false;
    engine = await createWasmGemm(DEFAULT_TILE, DEFAULT_BLOCKING, { fma: set.fma, sharedMemory: await initKernelMemory() });
    return true;
  })();
  return pending;
}

/** Whether this thread's gemmWasm uses relaxed_madd (false before initWasm() resolved true). */
export function gemmWasmIsFma(): boolean {
  return engine?.fma === true;
}

/** True once initWasm() has resolved true in this thread. */
export function wasmReady(): boolean {
  return engine !== undefined;
}

/**
 * C = op(A)·op(B), or C += op(A)·op(B) when `s.accumulate` (then `out` is required), with the
 * contract of `gemm`. Overwrites `out` unless accumulating; allocates C when `out` is omitted.
 * Throws if initWasm() has not resolved true.
 *
 * @example Dense forward Z = A Wᵀ (1.1): `gemmWasm(A, W, { m: batch, n: units, k: inputs, transB: true })`
 */
export function gemmWasm(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array {
  if (engine === undefined) throw new Error('gemmWasm: call `await initWasm()` first (and check that it returned true)');
  return engine.gemm(a, b, s, out);
}

/**
 * Allocate `length` floats inside the kernels' memory, for operands a caller wants to keep
 * resident (e.g. a layer's weights, an im2col buffer): passing `block.view()` to gemmWasm skips
 * the copy in (A, B) or out (C). Blocks live until releaseWasmScratch(); contents start as zeros
 * only for fresh memory. Throws if initWasm() has not resolved true.
 *
 * @example const cols = wasmScratch(25 * 36864); im2col(x, shape, 0, cols.view()); gemmWasm(W, cols.view(), s);
 */
export function wasmScratch(length: number): WasmBlock {
  if (engine === undefined) throw new Error('wasmScratch: call `await initWasm()` first (and check that it returned true)');
  return engine.scratch(length);
}

/** Free all wasmScratch blocks of this thread (their views must not be used afterwards). */
export function releaseWasmScratch(): void {
  engine?.releaseScratch();
}
