import { describe, expect, it } from 'vitest';
import { initKernels, kernelSet } from '../../src/ops/kernels.js';
import { convWasmIsFma } from '../../src/ops/wasm/convWasm.js';
import { gemmWasmIsFma } from '../../src/ops/wasm/gemmWasm.js';
import { chooseKernelSet, currentKernelSet, describeKernelSet, detectKernelFeatures, KernelSetError } from '../../src/ops/wasm/kernelSet.js';

describe('kernel sets', () => {
  it('detects simd128 and relaxed SIMD here (Node 20 after setting V8\'s flag), and whether relaxed_madd fuses', async () => {
    const f = await detectKernelFeatures();
    expect(f.simd).toBe(true);
    expect(f.relaxedSimd).toBe(true);
    // Node 20 hides relaxed SIMD behind the flag; Node 22+ has it without
    expect(f.isFlagSet).toBe(Number(process.versions.node.split('.')[0]) < 22);
    expect(typeof f.isFused).toBe('boolean');
  });

  it('describes each set in words', () => {
    expect(describeKernelSet({ wasm: false, fma: false, isFused: false })).toBe('typescript');
    expect(describeKernelSet({ wasm: true, fma: false, isFused: false })).toBe('wasm-simd128');
    expect(describeKernelSet({ wasm: true, fma: true, isFused: true })).toBe('wasm-simd128 + relaxed FMA');
    expect(describeKernelSet({ wasm: true, fma: true, isFused: false })).toBe('wasm-simd128 + relaxed madd (unfused on this CPU)');
  });

  it('chooses once per thread: the first request wins, the kernels follow it, a different one later is refused', async () => {
    expect(currentKernelSet()).toBeUndefined();
    const set = await chooseKernelSet({ fma: false });
    expect(set).toEqual({ wasm: true, fma: false, isFused: false });
    expect(await initKernels()).toBe(true);
    expect([gemmWasmIsFma(), convWasmIsFma()]).toEqual([false, false]);
    expect(await kernelSet()).toBe(set);
    expect(await chooseKernelSet({ fma: false })).toBe(set);
    expect(await chooseKernelSet({ wasm: true })).toBe(set);
    await expect(chooseKernelSet({ fma: true })).rejects.toThrow(new KernelSetError('kernels: this thread already runs wasm-simd128; cannot switch to {"fma":true}'));
    await expect(initKernels({ wasm: false })).rejects.toThrow(KernelSetError);
  });
});
