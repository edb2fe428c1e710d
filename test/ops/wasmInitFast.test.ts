import { expect, it } from 'vitest';
import { initConvWasm } from '../../src/ops/wasm/convWasm.js';
import { elementwiseWasmReady } from '../../src/ops/wasm/elementwiseWasm.js';

// A gradient worker turns on only the conv and GEMM kernels; the ReLU / pooling kernels share the
// conv kernels' memory and give the loops' exact bits, so they come with initConvWasm().
it('initConvWasm() also turns on the WASM ReLU / pooling kernels of this thread', async () => {
  expect(elementwiseWasmReady()).toBe(false);
  expect(await initConvWasm()).toBe(true);
  expect(elementwiseWasmReady()).toBe(true);
});
