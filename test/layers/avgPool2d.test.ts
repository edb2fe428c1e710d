import { describe, expect, test } from 'vitest';
import { avgPool2d } from '../../src/layers/avgPool2d.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { assertLayerCheck, gradcheckLayer, randomF32 } from '../helpers/gradcheck.js';

describe('avgPool2d spec', () => {
  test('stride defaults to the size', () => {
    expect(avgPool2d({ size: [2, 3] })).toEqual({ kind: 'avgPool2d', size: [2, 3], stride: [2, 3] });
  });

  test('a string size is rejected', () => {
    const options = { size: '2' };
    expect(() => avgPool2d(options as unknown as { size: number })).toThrow('avgPool2d: option "size" must be a positive integer or [kH, kW] of positive integers, got "2"');
  });

  test('calling without options is rejected', () => {
    expect(() => avgPool2d(undefined as unknown as { size: number })).toThrow('avgPool2d: expected an object of options, got undefined');
  });
});

describe('avgPool2d layer', () => {
  test('MATH §5: a 2×2 window averages, and its delta is split by the window area', () => {
    const layer = buildLayer(avgPool2d({ size: 2 }), [1, 2, 2], 0);
    const { y, cache } = layer.forward({ data: Float32Array.from([1, 5, 3, 3]), shape: [1, 1, 2, 2] });
    expect(Array.from(y.data)).toEqual([3]);
    const { deltaX } = layer.delta({ data: Float32Array.from([8]), shape: [1, 1, 1, 1] }, cache);
    expect(Array.from(deltaX?.data ?? [])).toEqual([2, 2, 2, 2]);
  });

  test('overlapping windows (size 2, stride 1 along w) accumulate the split deltas', () => {
    const layer = buildLayer(avgPool2d({ size: [1, 2], stride: 1 }), [1, 1, 3], 0);
    const { cache } = layer.forward({ data: Float32Array.from([1, 2, 3]), shape: [1, 1, 1, 3] });
    const { deltaX } = layer.delta({ data: Float32Array.from([2, 4]), shape: [1, 1, 1, 2] }, cache);
    expect(Array.from(deltaX?.data ?? [])).toEqual([1, 3, 2]);
  });

  test('a window taller than the input is rejected', () => {
    expect(() => buildLayer(avgPool2d({ size: [5, 1] }), [2, 4, 4], 6)).toThrow('layer 6 (avgPool2d): expected shape [2, h ≥ 5, w ≥ 1], got [2, 4, 4] (kernel [5, 1] is larger than the input)');
  });

  const configs = Array.from({ length: 16 }, (_, i) => {
    const rng = createRng(400 + i);
    const kH = 1 + rng.int(3);
    const kW = 1 + rng.int(3);
    const sH = 1 + rng.int(3);
    const sW = 1 + rng.int(3);
    return { seed: 400 + i, c: 1 + rng.int(4), kH, kW, sH, sW, inH: kH + rng.int(5), inW: kW + rng.int(5), m: 1 + rng.int(3) };
  });
  test.each(configs)('finite differences: avgPool2d $c×$inH×$inW, size $kH×$kW, stride $sH×$sW, batch $m (seed $seed)', ({ seed, c, kH, kW, sH, sW, inH, inW, m }) => {
    const rng = createRng(seed);
    const layer = buildLayer(avgPool2d({ size: [kH, kW], stride: [sH, sW] }), [c, inH, inW], 0);
    assertLayerCheck(gradcheckLayer(layer, randomF32(rng, m * c * inH * inW), m, seed));
  });

  test('the random avg-pool configs include overlapping windows', () => {
    expect(configs.some((c) => c.sH < c.kH || c.sW < c.kW)).toBe(true);
  });
});
