import { describe, expect, test } from 'vitest';
import { relu, sigmoid, tanh } from '../../src/layers/activation.js';
import { avgPool2d } from '../../src/layers/avgPool2d.js';
import { conv2d } from '../../src/layers/conv2d.js';
import { dense } from '../../src/layers/dense.js';
import { flatten } from '../../src/layers/flatten.js';
import { maxPool2d } from '../../src/layers/maxPool2d.js';
import { cloneModel, describeModel, forwardAll, paramCount, sequential } from '../../src/layers/sequential.js';
import { createRng } from '../../src/ops/random.js';
import { Workspace, type Tensor } from '../../src/ops/tensor.js';
import { FORWARD_TOL, GRAD_TOL, assertClose, gradcheckModel, randomF32 } from '../helpers/gradcheck.js';

const lenet = (seed = 1) =>
  sequential(
    { input: [1, 28, 28], seed },
    conv2d({ filters: 6, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    conv2d({ filters: 16, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    flatten(),
    dense({ units: 120 }),
    relu(),
    dense({ units: 84 }),
    relu(),
    dense({ units: 10 }),
  );

describe('sequential shape inference', () => {
  test('LeNet-5 shapes are inferred layer by layer', () => {
    const model = lenet();
    expect(model.layers.map((l) => l.outShape)).toEqual([[6, 24, 24], [6, 24, 24], [6, 12, 12], [16, 8, 8], [16, 8, 8], [16, 4, 4], [256], [120], [120], [84], [84], [10]]);
    expect(model.outShape).toEqual([10]);
    expect(describeModel(model)).toBe(
      '[1, 28, 28] → conv2d [6, 24, 24] → relu [6, 24, 24] → maxPool2d [6, 12, 12] → conv2d [16, 8, 8] → relu [16, 8, 8] → maxPool2d [16, 4, 4] → flatten [256] → dense [120] → relu [120] → dense [84] → relu [84] → dense [10]',
    );
  });

  test('LeNet-5 has 44426 parameters', () => {
    expect(paramCount(lenet())).toBe(44426);
  });

  test('model.params lists every layer\'s params in order (W then b)', () => {
    const model = lenet();
    expect(model.params).toEqual(model.layers.flatMap((l) => l.params));
    expect(model.params.map((p) => p.shape)).toEqual([[6, 1, 5, 5], [6], [16, 6, 5, 5], [16], [120, 256], [120], [84, 120], [84], [10, 84], [10]]);
  });

  test('a model without layers has the input as output shape', () => {
    expect(sequential({ input: [3] }).outShape).toEqual([3]);
  });

  test('dense after a conv stack without flatten names the layer, the expected and the actual shape', () => {
    const build = () =>
      sequential(
        { input: [1, 28, 28] },
        conv2d({ filters: 6, kernel: 5 }),
        relu(),
        maxPool2d({ size: 2 }),
        conv2d({ filters: 16, kernel: 5 }),
        relu(),
        maxPool2d({ size: 2 }),
        tanh(),
        dense({ units: 10 }),
      );
    expect(build).toThrow('layer 7 (dense): expected shape [n], got [16, 4, 4] (add flatten() before it)');
  });

  test('a kernel that no longer fits deep in the stack is rejected at construction', () => {
    const build = () => sequential({ input: [1, 8, 8] }, conv2d({ filters: 2, kernel: 5 }), maxPool2d({ size: 2 }), conv2d({ filters: 2, kernel: 3 }));
    expect(build).toThrow('layer 2 (conv2d): expected shape [2, h ≥ 3, w ≥ 3], got [2, 2, 2] (kernel [3, 3] is larger than the input)');
  });

  test('conv2d on a vector input is rejected', () => {
    expect(() => sequential({ input: [784] }, conv2d({ filters: 2, kernel: 3 }))).toThrow('layer 0 (conv2d): expected shape [c, h, w], got [784] (needs an image input [channels, height, width])');
  });

  test('an input shape with a zero is rejected', () => {
    expect(() => sequential({ input: [0, 28] })).toThrow('sequential: input must be a non-empty list of positive integers, like [784] or [1, 28, 28], got [0, 28]');
  });

  test('a hand-written spec is checked like a factory\'s', () => {
    const spec = JSON.parse('{"kind": "dense", "units": 0}');
    expect(() => sequential({ input: [3] }, spec)).toThrow('dense: option "units" must be a positive integer, got 0');
  });

  test('a hand-written spec of an unknown kind names the layer and the known kinds', () => {
    const spec = JSON.parse('{"kind": "softmax"}');
    expect(() => sequential({ input: [3] }, dense({ units: 2 }), spec)).toThrow(
      'layer 1: unknown layer kind "softmax" (known: dense, conv2d, maxPool2d, avgPool2d, flatten, relu, sigmoid, tanh)',
    );
  });

  test('a fractional seed is rejected', () => {
    expect(() => sequential({ input: [2], seed: 1.5 }, dense({ units: 1 }))).toThrow('sequential: seed must be a safe integer, got 1.5');
  });
});

describe('sequential initialization', () => {
  test('the same seed gives bit-identical parameters', () => {
    const a = lenet(7).params.map((p) => Array.from(p.value));
    const b = lenet(7).params.map((p) => Array.from(p.value));
    expect(a).toEqual(b);
  });

  test('a different seed gives different weights', () => {
    expect(Array.from(lenet(7).params[0].value)).not.toEqual(Array.from(lenet(8).params[0].value));
  });

  test('the default seed is 0 and is recorded on the model', () => {
    const model = sequential({ input: [3] }, dense({ units: 2 }));
    expect(model.seed).toBe(0);
    expect(Array.from(model.params[0].value)).toEqual(Array.from(sequential({ input: [3], seed: 0 }, dense({ units: 2 })).params[0].value));
  });

  test('weights are He-uniform within ±√(6/fanIn) and not all equal; biases are zero', () => {
    const model = lenet(3);
    const fanIns = [25, 150, 256, 120, 84];
    model.params.forEach((p, i) => {
      if (p.name === 'b') {
        expect(p.value.every((v) => v === 0)).toBe(true);
        return;
      }
      const limit = Math.sqrt(6 / fanIns[i / 2]);
      expect(p.value.every((v) => Math.abs(v) <= limit)).toBe(true);
      expect(Math.max(...p.value) - Math.min(...p.value)).toBeGreaterThan(limit);
    });
  });
});

describe('model helpers', () => {
  test('forwardAll equals chaining the layers, with or without workspaces', () => {
    const rng = createRng(11);
    const model = sequential({ input: [1, 6, 6], seed: 2 }, conv2d({ filters: 2, kernel: 3 }), relu(), flatten(), dense({ units: 3 }));
    const x: Tensor = { data: randomF32(rng, 2 * 36), shape: [2, 1, 6, 6] };
    let a = x;
    for (const l of model.layers) a = l.forward(a).y;
    const wss = model.layers.map(() => new Workspace());
    expect(Array.from(forwardAll(model, x).data)).toEqual(Array.from(a.data));
    const first = forwardAll(model, x, wss);
    expect(Array.from(first.data)).toEqual(Array.from(a.data));
    expect(forwardAll(model, x, wss).data).toBe(first.data);
  });

  test('forwardAll with the wrong number of workspaces is rejected', () => {
    const model = sequential({ input: [2] }, dense({ units: 1 }), relu());
    expect(() => forwardAll(model, { data: new Float32Array(2), shape: [1, 2] }, [new Workspace()])).toThrow('forwardAll: expected 2 workspaces (one per layer), got 1');
  });

  test('cloneModel copies parameter values into new buffers', () => {
    const model = lenet(5);
    const copy = cloneModel(model);
    expect(copy.params.map((p) => Array.from(p.value))).toEqual(model.params.map((p) => Array.from(p.value)));
    copy.params[0].value[0] += 1;
    expect(copy.params[0].value[0]).not.toBe(model.params[0].value[0]);
    expect(copy.layers.map((l) => l.spec)).toEqual(model.layers.map((l) => l.spec));
  });

  test('every layer\'s grads pair with its params by shape', () => {
    const rng = createRng(12);
    const model = sequential({ input: [2, 5, 5], seed: 4 }, conv2d({ filters: 3, kernel: [2, 3] }), flatten(), dense({ units: 4 }));
    let a: Tensor = { data: randomF32(rng, 50), shape: [1, 2, 5, 5] };
    const caches = model.layers.map((l) => {
      const r = l.forward(a);
      a = r.y;
      return r.cache;
    });
    let d = a;
    for (let i = model.layers.length - 1; i >= 0; i--) {
      const r = model.layers[i].delta(d, caches[i]);
      expect(r.grads.map((g) => g.length)).toEqual(model.layers[i].params.map((p) => p.value.length));
      if (r.deltaX !== null) d = r.deltaX;
    }
  });
});

describe('end-to-end finite differences', () => {
  test.each([
    { seed: 901, m: 1 },
    { seed: 902, m: 2 },
    { seed: 903, m: 3 },
  ])('conv→relu→maxpool→conv→tanh→avgpool→flatten→dense→sigmoid→dense with softmax cross-entropy, batch $m (seed $seed)', ({ seed, m }) => {
    const rng = createRng(seed);
    const model = sequential(
      { input: [2, 9, 9], seed },
      conv2d({ filters: 3, kernel: 3, padding: 1 }),
      relu(),
      maxPool2d({ size: 3, stride: 2 }),
      conv2d({ filters: 4, kernel: [2, 3], stride: [1, 2], padding: [0, 1] }),
      tanh(),
      avgPool2d({ size: 2, stride: 1 }),
      flatten(),
      dense({ units: 5 }),
      sigmoid(),
      dense({ units: 3 }),
    );
    const nOut = model.outShape[0];
    const target = new Float32Array(m * nOut);
    for (let i = 0; i < m; i++) target[i * nOut + rng.int(nOut)] = 1;
    const checks = gradcheckModel(model, randomF32(rng, m * 2 * 81), target, m);
    expect(checks.length).toBe(2 + model.params.length);
    assertClose(checks[0], FORWARD_TOL);
    for (const c of checks.slice(1)) {
      assertClose(c, GRAD_TOL);
      expect(c.skipped).toBeLessThanOrEqual(2);
    }
  });
});
