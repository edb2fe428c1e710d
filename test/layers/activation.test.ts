import { describe, expect, test } from 'vitest';
import { relu, sigmoid, tanh } from '../../src/layers/activation.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { assertLayerCheck, distinctF32, gradcheckLayer, randomF32 } from '../helpers/gradcheck.js';

describe('activation layers', () => {
  test('relu(), sigmoid(), tanh() give their specs', () => {
    expect([relu(), sigmoid(), tanh()]).toEqual([{ kind: 'relu' }, { kind: 'sigmoid' }, { kind: 'tanh' }]);
  });

  test('an activation keeps any input shape and has no parameters', () => {
    const layer = buildLayer(tanh(), [3, 4, 5], 0);
    expect(layer.outShape).toEqual([3, 4, 5]);
    expect(layer.params).toEqual([]);
  });

  test('relu hand example: forward clamps, delta passes only where the output is positive', () => {
    const layer = buildLayer(relu(), [4], 0);
    const { y, cache } = layer.forward({ data: Float32Array.from([-2, -0.5, 0.5, 3]), shape: [1, 4] });
    expect(Array.from(y.data)).toEqual([0, 0, 0.5, 3]);
    const { deltaX } = layer.delta({ data: Float32Array.from([1, 2, 3, 4]), shape: [1, 4] }, cache);
    expect(Array.from(deltaX?.data ?? [])).toEqual([0, 0, 3, 4]);
  });

  test('sigmoid delta at z = 0 is δa · ¼', () => {
    const layer = buildLayer(sigmoid(), [1], 0);
    const { cache } = layer.forward({ data: Float32Array.from([0]), shape: [1, 1] });
    expect(Array.from(layer.delta({ data: Float32Array.from([2]), shape: [1, 1] }, cache).deltaX?.data ?? [])).toEqual([0.5]);
  });

  test('needDeltaX=false returns null and no gradients', () => {
    const layer = buildLayer(relu(), [2], 0);
    const { y, cache } = layer.forward({ data: Float32Array.from([1, -1]), shape: [1, 2] });
    expect(layer.delta(y, cache, undefined, false)).toEqual({ deltaX: null, grads: [] });
  });

  const cases = [
    { kind: 'relu', spec: relu(), shape: [2, 3, 3], m: 2, seed: 601 },
    { kind: 'relu', spec: relu(), shape: [7], m: 3, seed: 602 },
    { kind: 'sigmoid', spec: sigmoid(), shape: [2, 3, 3], m: 2, seed: 603 },
    { kind: 'sigmoid', spec: sigmoid(), shape: [5], m: 1, seed: 604 },
    { kind: 'tanh', spec: tanh(), shape: [1, 4, 2], m: 3, seed: 605 },
    { kind: 'tanh', spec: tanh(), shape: [6], m: 2, seed: 606 },
  ];
  test.each(cases)('finite differences: $kind on $shape, batch $m (seed $seed)', ({ spec, shape, m, seed }) => {
    const rng = createRng(seed);
    const layer = buildLayer(spec, shape, 0);
    const n = m * shape.reduce((a, b) => a * b, 1);
    // distinctF32 keeps every input at least 1/(2n) away from relu's kink at 0.
    const x = spec.kind === 'relu' ? distinctF32(rng, n) : randomF32(rng, n).map((v) => 3 * v);
    assertLayerCheck(gradcheckLayer(layer, x, m, seed));
  });
});
