import { describe, expect, it } from 'vitest';
import { detectKernelFeatures } from '../../src/ops/kernels.js';
import { convWat } from '../../src/ops/wasm/convWat.js';
import { describeConvWasm } from '../helpers/convWasmSuite.js';

// This file's thread runs the FMA kernels; convWasmSimd128.test.ts runs the same checks without FMA.
it('has relaxed SIMD in this runtime (Node 20 once the V8 flag is set), so the FMA kernels are tested', async () => {
  expect((await detectKernelFeatures()).relaxedSimd).toBe(true);
});

describeConvWasm(true);

describe('convWat (the generated module text)', () => {
  const k = { cIn: 1, cOut: 6, kH: 5, kW: 5, hp: 28, wp: 28, outH: 24, outWp: 24, ob: 3, jb: 3, gb: 3, gvb: 3, dvb: 3, dj: 2, fma: false };

  it('rejects inconsistent kernel shapes when generating the module', () => {
    expect(() => convWat({ ...k, ob: 4 })).toThrow(/ob and gb must divide cOut/);
    expect(() => convWat({ ...k, outWp: 20 })).toThrow(/outWp must be a multiple/);
    expect(() => convWat({ ...k, wp: 26 })).toThrow(/wp must be/);
    expect(convWat(k)).toContain('(export "forward")');
  });

  it('writes every multiply-add as relaxed_madd with fma, and as mul then add without', () => {
    const withFma = convWat({ ...k, fma: true });
    const without = convWat(k);
    expect(withFma).toContain('f32x4.relaxed_madd');
    expect(withFma).not.toContain('f32x4.mul');
    expect(without).not.toContain('relaxed');
    // forward, gradW (twice: batch-inner and sample-outer) and deltaX each have multiply-adds
    expect(without.split('f32x4.mul').length - 1).toBe(withFma.split('f32x4.relaxed_madd').length - 1);
  });
});
