/**
 * Kernel dispatch: one call that turns on the optional WebAssembly SIMD kernels for this thread,
 * and `gemmFast`, the GEMM the layers call (WASM when ready, the TypeScript `gemm` otherwise).
 * The conv ops (conv2dForward, …) pick their WASM kernel themselves when it is ready, so callers
 * never choose.
 *
 * Kernel sets (wasm/kernelSet.ts): `typescript`, `wasm-simd128`, or `wasm-simd128 + relaxed FMA`
 * (GEMM and convolution multiply-adds as f32x4.relaxed_madd, where the runtime has relaxed SIMD —
 * Node 20 after deltaflow sets V8's flag, Node 22+ and current browsers by default). The first
 * initKernels() of a thread chooses; `DELTAFLOW_KERNELS=typescript|simd128|fma|auto` overrides.
 *
 * Determinism: each kernel is deterministic on its own, but the kernel sets sum (and round) in
 * different ways, so a run is bit-for-bit reproducible only with the same kernel set on the same
 * machine (FMA rounds once where the CPU fuses, twice where it does not).
 *
 * @example await initKernels(); // then train as usual: convolutions and dense products run in WASM
 */
import { gemm, type GemmShape } from './gemm.js';
import { initConvWasm } from './wasm/convWasm.js';
import { initElementwiseWasm } from './wasm/elementwiseWasm.js';
import { gemmWasm, initWasm, wasmReady } from './wasm/gemmWasm.js';
import { chooseKernelSet, currentKernelSet, describeKernelSet, type KernelRequest, type KernelSet } from './wasm/kernelSet.js';
import { initStepWasm } from './wasm/stepWasm.js';

export { describeKernelSet, detectKernelFeatures, KernelSetError, type KernelFeatures, type KernelRequest, type KernelSet } from './wasm/kernelSet.js';

/**
 * Initialise the optional WASM kernels of this thread; resolves false when they stay off (no
 * WebAssembly SIMD, or the TypeScript set was asked for). `request` (or DELTAFLOW_KERNELS) picks the
 * set at the first call; later calls must agree with it.
 */
export async function initKernels(request?: KernelRequest): Promise<boolean> {
  const set = await chooseKernelSet(request);
  if (!set.wasm) return false;
  const [conv, mm, elementwise, step] = await Promise.all([initConvWasm(), initWasm(), initElementwiseWasm(), initStepWasm()]);
  return conv && mm && elementwise && step;
}

/**
 * The kernel set this thread runs: the chosen one once initKernels() (or any kernel init) has
 * resolved; before that, what initKernels() would choose (it probes the runtime, and may set
 * V8's relaxed-SIMD flag, without assembling anything).
 *
 * @example console.log(`kernels: ${describeKernelSet(await kernelSet())}`); // kernels: wasm-simd128 + relaxed FMA
 */
export async function kernelSet(): Promise<KernelSet> {
  return currentKernelSet() ?? chooseKernelSet();
}

/** `kernels: …` for version and summary lines. */
export async function kernelSetLine(): Promise<string> {
  return `kernels: ${describeKernelSet(await kernelSet())}`;
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
