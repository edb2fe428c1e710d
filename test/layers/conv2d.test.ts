import { describe, expect, test } from 'vitest';
import { conv2d } from '../../src/layers/conv2d.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { assertLayerCheck, gradcheckLayer, randomF32 } from '../helpers/gradcheck.js';

describe('conv2d spec', () => {
  test('numbers expand to pairs and stride/padding default to 1 and 0', () => {
    expect(conv2d({ filters: 6, kernel: 5 })).toEqual({ kind: 'conv2d', filters: 6, kernel: [5, 5], stride: [1, 1], padding: [0, 0] });
  });

  test('pairs are kept as given', () => {
    expect(conv2d({ filters: 2, kernel: [3, 1], stride: [2, 1], padding: [1, 0] })).toEqual({ kind: 'conv2d', filters: 2, kernel: [3, 1], stride: [2, 1], padding: [1, 0] });
  });

  test('kernel 0 is rejected', () => {
    expect(() => conv2d({ filters: 2, kernel: 0 })).toThrow('conv2d: option "kernel" must be a positive integer or [kH, kW] of positive integers, got 0');
  });

  test('a kernel pair with a zero is rejected', () => {
    expect(() => conv2d({ filters: 2, kernel: [3, 0] })).toThrow('conv2d: option "kernel" must be a positive integer or [kH, kW] of positive integers, got [3, 0]');
  });

  test('negative padding is rejected', () => {
    expect(() => conv2d({ filters: 2, kernel: 3, padding: -1 })).toThrow('conv2d: option "padding" must be a non-negative integer or [pH, pW] of non-negative integers, got -1');
  });

  test('stride 0 is rejected', () => {
    expect(() => conv2d({ filters: 2, kernel: 3, stride: [1, 0] })).toThrow('conv2d: option "stride" must be a positive integer or [sH, sW] of positive integers, got [1, 0]');
  });

  test('fractional filters are rejected', () => {
    expect(() => conv2d({ filters: 1.5, kernel: 3 })).toThrow('conv2d: option "filters" must be a positive integer, got 1.5');
  });

  test('a misspelled option is rejected, listing the known ones', () => {
    const options = { filters: 2, kernel: 3, strides: 2 };
    expect(() => conv2d(options)).toThrow('conv2d: option "strides" is unknown (known: filters, kernel, stride, padding)');
  });
});

describe('conv2d layer', () => {
  test('a 1-D input is rejected as not an image', () => {
    expect(() => buildLayer(conv2d({ filters: 2, kernel: 3 }), [784], 0)).toThrow('layer 0 (conv2d): expected shape [c, h, w], got [784] (needs an image input [channels, height, width])');
  });

  test('a kernel larger than the padded input is rejected', () => {
    expect(() => buildLayer(conv2d({ filters: 2, kernel: 5, padding: [1, 0] }), [3, 2, 8], 4)).toThrow(
      'layer 4 (conv2d): expected shape [3, h ≥ 3, w ≥ 5], got [3, 2, 8] (kernel [5, 5] with padding [1, 0] is larger than the input)',
    );
  });

  test('shapes: [1, 28, 28] with 6 filters 5×5 gives [6, 24, 24], W [6, 1, 5, 5], b [6]', () => {
    const layer = buildLayer(conv2d({ filters: 6, kernel: 5 }), [1, 28, 28], 0);
    expect(layer.outShape).toEqual([6, 24, 24]);
    expect(layer.params.map((p) => p.shape)).toEqual([
      [6, 1, 5, 5],
      [6],
    ]);
  });

  test('shapes: stride 2, padding 1, kernel 3 on 7×6 gives 4×3', () => {
    expect(buildLayer(conv2d({ filters: 1, kernel: 3, stride: 2, padding: 1 }), [2, 7, 6], 0).outShape).toEqual([1, 4, 3]);
  });

  test('MATH §5: a 3×3 input, 2×2 kernel — a corner input\'s delta is one product, an inner one sums four', () => {
    const layer = buildLayer(conv2d({ filters: 1, kernel: 2 }), [1, 3, 3], 0);
    layer.params[0].value.set([1, 2, 3, 4]); // w[0,0]=1 w[0,1]=2 w[1,0]=3 w[1,1]=4
    const { cache } = layer.forward({ data: new Float32Array(9), shape: [1, 1, 3, 3] });
    const deltaZ = Float32Array.from([10, 20, 30, 40]); // δ[0,0]=10 δ[0,1]=20 δ[1,0]=30 δ[1,1]=40
    const deltaX = layer.delta({ data: deltaZ, shape: [1, 1, 2, 2] }, cache).deltaX?.data ?? new Float32Array(0);
    expect(deltaX[0]).toBe(10 * 1); // top-left corner: δ[0,0]·w[0,0]
    expect(deltaX[8]).toBe(40 * 4); // bottom-right corner: δ[1,1]·w[1,1]
    expect(deltaX[1]).toBe(10 * 2 + 20 * 1); // top edge middle: two products
    expect(deltaX[4]).toBe(10 * 4 + 20 * 3 + 30 * 2 + 40 * 1); // centre: all four
  });

  test('hand-worked forward: 1×3×3 input, 2×2 kernel of ones, bias 1, stride 1', () => {
    const layer = buildLayer(conv2d({ filters: 1, kernel: 2 }), [1, 3, 3], 0);
    layer.params[0].value.fill(1);
    layer.params[1].value.fill(1);
    const { y } = layer.forward({ data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), shape: [1, 1, 3, 3] });
    expect(Array.from(y.data)).toEqual([13, 17, 25, 29]);
  });

  const configs = Array.from({ length: 24 }, (_, i) => {
    const rng = createRng(200 + i);
    const kH = 1 + rng.int(5);
    const kW = 1 + rng.int(5);
    const sH = 1 + rng.int(3);
    const sW = 1 + rng.int(3);
    const pH = rng.int(3);
    const pW = rng.int(3);
    // Input sizes from a small output size, plus a remainder so the last rows may be unread by any window.
    const inH = Math.max(1, (rng.int(3) + 0) * sH + kH - 2 * pH + rng.int(sH));
    const inW = Math.max(1, (rng.int(3) + 0) * sW + kW - 2 * pW + rng.int(sW));
    return { seed: 200 + i, cIn: 1 + rng.int(4), filters: 1 + rng.int(4), kH, kW, sH, sW, pH, pW, inH, inW, m: 1 + rng.int(3) };
  }).concat([
    // 1×1, stride 1, no padding: the kernels' im2col-free path.
    { seed: 250, cIn: 3, filters: 2, kH: 1, kW: 1, sH: 1, sW: 1, pH: 0, pW: 0, inH: 4, inW: 3, m: 2 },
    // 5×5 with padding 2 ("same" size) on 4 channels.
    { seed: 251, cIn: 4, filters: 3, kH: 5, kW: 5, sH: 1, sW: 1, pH: 2, pW: 2, inH: 5, inW: 6, m: 2 },
  ]);
  test.each(configs)(
    'finite differences: conv2d $cIn×$inH×$inW → $filters, kernel $kH×$kW, stride $sH×$sW, padding $pH×$pW, batch $m (seed $seed)',
    ({ seed, cIn, filters, kH, kW, sH, sW, pH, pW, inH, inW, m }) => {
      const rng = createRng(seed);
      const layer = buildLayer(conv2d({ filters, kernel: [kH, kW], stride: [sH, sW], padding: [pH, pW] }), [cIn, inH, inW], 0);
      for (const p of layer.params) p.value.set(randomF32(rng, p.value.length));
      assertLayerCheck(gradcheckLayer(layer, randomF32(rng, m * cIn * inH * inW), m, seed));
    },
  );

  test('the random configs cover 1×1 and 5×5 kernels, non-square kernels, strides 1–3, paddings 0–2 and overhanging inputs', () => {
    const has = (f: (c: (typeof configs)[number]) => boolean): boolean => configs.some(f);
    expect(has((c) => c.kH === 1 && c.kW === 1 && c.sH === 1 && c.sW === 1 && c.pH === 0 && c.pW === 0)).toBe(true);
    expect(has((c) => c.kH === 5 || c.kW === 5)).toBe(true);
    expect(has((c) => c.kH !== c.kW)).toBe(true);
    expect([1, 2, 3].every((s) => has((c) => c.sH === s || c.sW === s))).toBe(true);
    expect([0, 1, 2].every((p) => has((c) => c.pH === p || c.pW === p))).toBe(true);
    expect(has((c) => (c.inH + 2 * c.pH - c.kH) % c.sH !== 0)).toBe(true);
    expect([1, 2, 3].every((m) => has((c) => c.m === m))).toBe(true);
  });
});
