import { describe, expect, test } from 'vitest';
import { maxPool2d } from '../../src/layers/maxPool2d.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { assertLayerCheck, distinctF32, gradcheckLayer } from '../helpers/gradcheck.js';

describe('maxPool2d spec', () => {
  test('stride defaults to the size', () => {
    expect(maxPool2d({ size: 2 })).toEqual({ kind: 'maxPool2d', size: [2, 2], stride: [2, 2] });
  });

  test('a non-square size and explicit stride are kept', () => {
    expect(maxPool2d({ size: [3, 2], stride: 1 })).toEqual({ kind: 'maxPool2d', size: [3, 2], stride: [1, 1] });
  });

  test('size 0 is rejected', () => {
    expect(() => maxPool2d({ size: 0 })).toThrow('maxPool2d: option "size" must be a positive integer or [kH, kW] of positive integers, got 0');
  });

  test('a pair of three numbers is rejected', () => {
    const options = { size: [2, 2, 2] };
    expect(() => maxPool2d(options as unknown as { size: number })).toThrow('maxPool2d: option "size" must be a positive integer or [kH, kW] of positive integers, got [2, 2, 2]');
  });
});

describe('maxPool2d layer', () => {
  test('a window larger than the input is rejected', () => {
    expect(() => buildLayer(maxPool2d({ size: 3 }), [4, 2, 5], 3)).toThrow('layer 3 (maxPool2d): expected shape [4, h ≥ 3, w ≥ 3], got [4, 2, 5] (kernel [3, 3] is larger than the input)');
  });

  test('a vector input is rejected as not an image', () => {
    expect(() => buildLayer(maxPool2d({ size: 2 }), [10], 1)).toThrow('layer 1 (maxPool2d): expected shape [c, h, w], got [10] (needs an image input [channels, height, width])');
  });

  test('shapes: [6, 24, 24] with size 2 gives [6, 12, 12]; size 3 stride 2 on 7×8 gives 3×3', () => {
    expect(buildLayer(maxPool2d({ size: 2 }), [6, 24, 24], 0).outShape).toEqual([6, 12, 12]);
    expect(buildLayer(maxPool2d({ size: 3, stride: 2 }), [1, 7, 8], 0).outShape).toEqual([1, 3, 3]);
  });

  test('MATH §5: a 2×2 window routes its delta to the max only', () => {
    const layer = buildLayer(maxPool2d({ size: 2 }), [1, 2, 2], 0);
    const { y, cache } = layer.forward({ data: Float32Array.from([1, 5, 3, 2]), shape: [1, 1, 2, 2] });
    expect(Array.from(y.data)).toEqual([5]);
    const { deltaX } = layer.delta({ data: Float32Array.from([7]), shape: [1, 1, 1, 1] }, cache);
    expect(Array.from(deltaX?.data ?? [])).toEqual([0, 7, 0, 0]);
  });

  test('overlapping windows (size 1×2, stride 1) accumulate the deltas at a shared max', () => {
    const tall = buildLayer(maxPool2d({ size: [1, 2], stride: 1 }), [1, 1, 3], 0);
    const { y, cache } = tall.forward({ data: Float32Array.from([1, 9, 2]), shape: [1, 1, 1, 3] });
    expect(Array.from(y.data)).toEqual([9, 9]);
    const { deltaX } = tall.delta({ data: Float32Array.from([1, 2]), shape: [1, 1, 1, 2] }, cache);
    expect(Array.from(deltaX?.data ?? [])).toEqual([0, 3, 0]);
  });

  const configs = Array.from({ length: 16 }, (_, i) => {
    const rng = createRng(300 + i);
    const kH = 1 + rng.int(3);
    const kW = 1 + rng.int(3);
    const sH = 1 + rng.int(3);
    const sW = 1 + rng.int(3);
    return { seed: 300 + i, c: 1 + rng.int(4), kH, kW, sH, sW, inH: kH + rng.int(5), inW: kW + rng.int(5), m: 1 + rng.int(3) };
  });
  test.each(configs)('finite differences: maxPool2d $c×$inH×$inW, size $kH×$kW, stride $sH×$sW, batch $m (seed $seed)', ({ seed, c, kH, kW, sH, sW, inH, inW, m }) => {
    const rng = createRng(seed);
    const layer = buildLayer(maxPool2d({ size: [kH, kW], stride: [sH, sW] }), [c, inH, inW], 0);
    assertLayerCheck(gradcheckLayer(layer, distinctF32(rng, m * c * inH * inW), m, seed));
  });

  test('the random configs include overlapping windows (stride < size) in both directions', () => {
    expect(configs.some((c) => c.sH < c.kH)).toBe(true);
    expect(configs.some((c) => c.sW < c.kW)).toBe(true);
  });
});
