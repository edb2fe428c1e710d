/**
 * Kernel dispatch: one call that turns on the optional WebAssembly SIMD kernels for this thread,
 * and `gemmFast`, the GEMM the layers call (WASM when ready, the TypeScript `gemm` otherwise).
 * The conv ops (conv2dForward, …) pick their WASM kernel themselves when it is ready and supports
 * the shape, so callers never choose.
 *
 * Determinism: each kernel is deterministic on its own, but the WASM and TypeScript kernels sum in
 * different orders, so a run is bit-for-bit reproducible only with the same initKernels() outcome.
 *
 * @example await initKernels(); // then train as usual: conv (stride 1) and dense products run in WASM
 */
import { gemm, type GemmShape } from './gemm.js';
import { initConvWasm } from './wasm/convWasm.js';
import { initElementwiseWasm } from './wasm/elementwiseWasm.js';
import { gemmWasm, initWasm, wasmReady } from './wasm/gemmWasm.js';

/** Initialise the optional WASM kernels of this thread; resolves false when WebAssembly SIMD is unavailable. */
export async function initKernels(): Promise<boolean> {
  const [conv, mm, elementwise] = await Promise.all([initConvWasm(), initWasm(), initElementwiseWasm()]);
  return conv && mm && elementwise;
}

/**
 * C (+)= op(A)·op(B) with the contract of `gemm` (src/ops/gemm.ts): gemmWasm once initKernels()
 * has resolved true, the TypeScript gemm otherwise.
 *
 * @example const z = gemmFast(x, W, { m: batch, n: units, k: inputs, transB: true }, ws.f32('z', batch * units));
 */
export function gemmFast(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array {
  return wasmReady() ? gemmWasm(a, b, s, out) : gemm(a, b, s, out);
}
