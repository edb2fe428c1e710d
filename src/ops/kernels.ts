/**
 * Kernel dispatch: one call that turns on the optional WebAssembly SIMD kernels for this thread.
 * The ops themselves (conv2dForward, …) pick the WASM kernel when it is ready and supports the
 * shape, and their plain TypeScript path otherwise, so callers never choose.
 *
 * @example await initKernels(); // then train as usual; conv layers with stride 1 run in WASM
 */
import { initConvWasm } from './wasm/convWasm.js';

/** Initialise the optional WASM kernels of this thread; resolves false when WebAssembly SIMD is unavailable. */
export async function initKernels(): Promise<boolean> {
  return initConvWasm();
}
