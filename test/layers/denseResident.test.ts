/**
 * The dense layer with the WASM kernels on: its parameters, outputs and gradients live in the
 * kernel memory and the GEMM reads and writes them in place. Checked against gemmNaive (the float64
 * oracle) over two steps with the weights updated in place between them, as the optimizer does.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { dense } from '../../src/layers/dense.js';
import { buildLayer } from '../../src/layers/registry.js';
import { gemmNaive } from '../../src/ops/gemm.js';
import { initKernels } from '../../src/ops/kernels.js';
import { createRng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';
import { residentAddress } from '../../src/ops/wasm/kernelMemory.js';
import { randomF32 } from '../helpers/gradcheck.js';

function expectClose(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length, label).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i]), `${label} [${i}]`).toBeLessThan(1e-4 * (1 + Math.abs(want[i])));
}

describe('dense layer on the WASM kernels (resident parameters, outputs and gradients)', () => {
  beforeAll(async () => {
    expect(await initKernels()).toBe(true);
  });

  test('parameters are resident, and forward / delta match the oracle over two steps with W updated in place', () => {
    const [m, nIn, n] = [13, 37, 11];
    const layer = buildLayer(dense({ units: n }), [nIn], 0);
    const [W, b] = layer.params;
    expect(residentAddress(W.value)).toBeGreaterThan(0);
    expect(residentAddress(b.value)).toBeGreaterThan(0);
    const rng = createRng(5);
    W.value.set(randomF32(rng, W.value.length));
    b.value.set(randomF32(rng, n));
    const ws = new Workspace();
    for (let step = 0; step < 2; step++) {
      const x = randomF32(rng, m * nIn);
      const xKept = x.slice();
      const { y, cache } = layer.forward({ data: x, shape: [m, nIn] }, ws);
      const z = gemmNaive(x, W.value, { m, n, k: nIn, transB: true });
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) z[i * n + j] += b.value[j];
      expectClose(y.data, z, `step ${step} z`);
      // the layer keeps its own copy of X for ∂W: a caller reusing its input buffer changes nothing
      x.fill(7);
      const dy = randomF32(rng, m * n);
      const { deltaX, grads } = layer.delta({ data: dy, shape: [m, n] }, cache, ws);
      expectClose(grads[0], gemmNaive(dy, xKept, { m: n, n: nIn, k: m, transA: true }), `step ${step} dW`);
      const db = new Float32Array(n);
      for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) db[j] += dy[i * n + j];
      expectClose(grads[1], db, `step ${step} db`);
      expectClose(deltaX?.data ?? new Float32Array(0), gemmNaive(dy, W.value, { m, n: nIn, k: n }), `step ${step} δx`);
      // an SGD-like update in place, as the step kernels do
      for (let i = 0; i < W.value.length; i++) W.value[i] -= 0.1 * grads[0][i];
    }
  });
});
