import { describe, expect, test } from 'vitest';
import { flatten } from '../../src/layers/flatten.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { assertLayerCheck, gradcheckLayer, randomF32 } from '../helpers/gradcheck.js';

describe('flatten', () => {
  test('flatten() gives the spec { kind: "flatten" }', () => {
    expect(flatten()).toEqual({ kind: 'flatten' });
  });

  test('[16, 4, 4] flattens to [256]', () => {
    expect(buildLayer(flatten(), [16, 4, 4], 0).outShape).toEqual([256]);
  });

  test('forward and delta are zero-copy reshapes sharing the buffers', () => {
    const layer = buildLayer(flatten(), [2, 1, 3], 0);
    const x = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]), shape: [2, 2, 1, 3] };
    const { y, cache } = layer.forward(x);
    expect(y.data).toBe(x.data);
    expect(y.shape).toEqual([2, 6]);
    const dy = { data: new Float32Array(12), shape: [2, 6] };
    const { deltaX } = layer.delta(dy, cache);
    expect(deltaX?.data).toBe(dy.data);
    expect(deltaX?.shape).toEqual([2, 2, 1, 3]);
  });

  test.each([
    { seed: 501, shape: [3, 2, 2], m: 2 },
    { seed: 502, shape: [1, 5, 1], m: 3 },
    { seed: 503, shape: [7], m: 1 },
  ])('finite differences: flatten $shape, batch $m', ({ seed, shape, m }) => {
    const rng = createRng(seed);
    const layer = buildLayer(flatten(), shape, 0);
    assertLayerCheck(gradcheckLayer(layer, randomF32(rng, m * shape.reduce((a, b) => a * b, 1)), m, seed));
  });
});
