import { describe, expect, test } from 'vitest';
import { dense, type DenseOptions } from '../../src/layers/dense.js';
import { buildLayer } from '../../src/layers/registry.js';
import { createRng } from '../../src/ops/random.js';
import { Workspace } from '../../src/ops/tensor.js';
import { assertLayerCheck, gradcheckLayer, randomF32 } from '../helpers/gradcheck.js';

describe('dense spec', () => {
  test('dense({ units: 10 }) gives the normalized spec', () => {
    expect(dense({ units: 10 })).toEqual({ kind: 'dense', units: 10 });
  });

  test('units 0 is rejected naming kind, option, rule and value', () => {
    expect(() => dense({ units: 0 })).toThrow('dense: option "units" must be a positive integer, got 0');
  });

  test('units 2.5 is rejected as not an integer', () => {
    expect(() => dense({ units: 2.5 })).toThrow('dense: option "units" must be a positive integer, got 2.5');
  });

  test('missing units is rejected', () => {
    const options: Partial<DenseOptions> = {};
    expect(() => dense(options as DenseOptions)).toThrow('dense: option "units" is required (a positive integer)');
  });

  test('an unknown option is rejected, listing the known ones', () => {
    const options = { units: 3, activation: 'relu' };
    expect(() => dense(options)).toThrow('dense: option "activation" is unknown (known: units)');
  });
});

describe('dense layer', () => {
  test('a 3-D input is rejected with a hint to flatten', () => {
    expect(() => buildLayer(dense({ units: 3 }), [16, 4, 4], 7)).toThrow('layer 7 (dense): expected shape [n], got [16, 4, 4] (add flatten() before it)');
  });

  test('W is [units, in], b is [units], output [units]', () => {
    const layer = buildLayer(dense({ units: 3 }), [5], 0);
    expect(layer.params.map((p) => [p.name, p.shape])).toEqual([
      ['W', [3, 5]],
      ['b', [3]],
    ]);
    expect(layer.outShape).toEqual([3]);
  });

  test('hand-worked 2→2 example: forward Z = X Wᵀ + b, dW = Δᵀ X, db = Σ Δ, Δx = Δ W', () => {
    const layer = buildLayer(dense({ units: 2 }), [2], 0);
    layer.params[0].value.set([1, 2, 3, 4]);
    layer.params[1].value.set([0.5, -1]);
    const { y, cache } = layer.forward({ data: Float32Array.from([1, 1, 2, 0]), shape: [2, 2] });
    expect(Array.from(y.data)).toEqual([3.5, 6, 2.5, 5]);
    const { deltaX, grads } = layer.delta({ data: Float32Array.from([1, 2, 0, 1]), shape: [2, 2] }, cache);
    expect(Array.from(grads[0])).toEqual([1, 1, 4, 2]);
    expect(Array.from(grads[1])).toEqual([1, 3]);
    expect(Array.from(deltaX?.data ?? [])).toEqual([7, 10, 3, 4]);
  });

  test('a batch of the wrong per-sample shape is rejected at forward', () => {
    const layer = buildLayer(dense({ units: 3 }), [4], 0);
    expect(() => layer.forward({ data: new Float32Array(10), shape: [2, 5] })).toThrow('layer 0 (dense) forward: expected shape [m, 4], got [2, 5]');
  });

  test('a delta with another batch size than its forward is rejected', () => {
    const layer = buildLayer(dense({ units: 3 }), [4], 2);
    const { cache } = layer.forward({ data: new Float32Array(8), shape: [2, 4] });
    expect(() => layer.delta({ data: new Float32Array(9), shape: [3, 3] }, cache)).toThrow('layer 2 (dense) delta: expected shape [2, 3], got [3, 3]');
  });

  test('needDeltaX=false returns no deltaX but the same gradients', () => {
    const rng = createRng(3);
    const layer = buildLayer(dense({ units: 3 }), [4], 0);
    layer.params[0].value.set(randomF32(rng, 12));
    const x = { data: randomF32(rng, 8), shape: [2, 4] };
    const dy = { data: randomF32(rng, 6), shape: [2, 3] };
    const full = layer.delta(dy, layer.forward(x).cache);
    const skipped = layer.delta(dy, layer.forward(x).cache, undefined, false);
    expect(skipped.deltaX).toBeNull();
    expect(skipped.grads.map((g) => Array.from(g))).toEqual(full.grads.map((g) => Array.from(g)));
  });

  test('with a workspace, a second step reuses the first step\'s buffers', () => {
    const layer = buildLayer(dense({ units: 3 }), [4], 0);
    const ws = new Workspace();
    const x = { data: new Float32Array(8), shape: [2, 4] };
    const a = layer.forward(x, ws);
    const b = layer.forward(x, ws);
    expect(b.y.data).toBe(a.y.data);
    const da = layer.delta(a.y, a.cache, ws);
    const db = layer.delta(b.y, b.cache, ws);
    expect(db.grads[0]).toBe(da.grads[0]);
    expect(db.deltaX?.data).toBe(da.deltaX?.data);
  });

  const configs = Array.from({ length: 10 }, (_, i) => {
    const rng = createRng(100 + i);
    return { seed: 100 + i, nIn: 1 + rng.int(7), units: 1 + rng.int(5), m: 1 + rng.int(3) };
  });
  test.each(configs)('finite differences: dense in=$nIn units=$units batch=$m (seed $seed)', ({ seed, nIn, units, m }) => {
    const rng = createRng(seed);
    const layer = buildLayer(dense({ units }), [nIn], 0);
    for (const p of layer.params) p.value.set(randomF32(rng, p.value.length));
    assertLayerCheck(gradcheckLayer(layer, randomF32(rng, m * nIn), m, seed));
  });
});

describe('gradcheck harness', () => {
  test('the finite-difference check fails on a dW that is 1% off, naming dW', () => {
    const rng = createRng(9);
    const layer = buildLayer(dense({ units: 2 }), [3], 0);
    for (const p of layer.params) p.value.set(randomF32(rng, p.value.length));
    const broken = {
      ...layer,
      delta: (...args: Parameters<typeof layer.delta>) => {
        const r = layer.delta(...args);
        return { deltaX: r.deltaX, grads: [r.grads[0].map((g) => g * 1.01), r.grads[1]] };
      },
    };
    expect(() => assertLayerCheck(gradcheckLayer(broken, randomF32(rng, 6), 2, 9))).toThrow(/^dW: relative error .* at index \d+: analytic .*, numeric /);
  });
});
