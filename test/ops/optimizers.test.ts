import { describe, expect, it } from 'vitest';
import {
  adam,
  applyUpdate,
  createOptimizerState,
  exportOptimizerState,
  momentum,
  restoreOptimizerState,
  sgd,
} from '../../src/ops/optimizers.js';
import { constantLr, cosineLr, lrSchedules, stepLr } from '../../src/ops/schedules.js';

/** Run `steps` updates of one parameter p from `p0` with the gradient sequence `gs`. */
function run(config: Parameters<typeof applyUpdate>[0], p0: number[], gs: number[][]): Float32Array {
  const p = Float32Array.from(p0);
  const state = createOptimizerState(config, [p.length]);
  for (const g of gs) applyUpdate(config, state, [p], [Float32Array.from(g)], config.lr);
  return p;
}

describe('optimizers', () => {
  it('sgd: p − η·g exactly, rounded once to float32', () => {
    const p = run(sgd({ lr: 0.1 }), [1, -2], [[0.5, 0.25]]);
    expect(Array.from(p)).toEqual([Math.fround(1 - 0.1 * 0.5), Math.fround(-2 - 0.1 * 0.25)]);
  });

  it('momentum μ = 0.9, η = 0.1 over 3 steps matches PyTorch by hand: v = μv + g; p −= ηv', () => {
    // p = 1; g = 1, 2, 3: v = 1, 2.9, 5.61; p = 0.9, 0.61, 0.049
    const p = run(momentum({ lr: 0.1, momentum: 0.9 }), [1], [[1], [2], [3]]);
    expect(p[0]).toBeCloseTo(0.049, 6);
  });

  it('sgd({ momentum }) is the momentum optimizer', () => {
    expect(sgd({ lr: 0.1, momentum: 0.9 })).toEqual({ kind: 'momentum', lr: 0.1, momentum: 0.9 });
  });

  it('adam with PyTorch defaults over 3 steps matches a float64 hand computation with bias correction', () => {
    const lr = 0.1;
    const gs = [[0.5, -1], [0.2, -0.4], [-0.3, 2]];
    let p = [1, 2];
    let m = [0, 0];
    let v = [0, 0];
    gs.forEach((g, k) => {
      const t = k + 1;
      m = m.map((mi, i) => 0.9 * mi + 0.1 * g[i]);
      v = v.map((vi, i) => 0.999 * vi + 0.001 * g[i] * g[i]);
      const mHat = m.map((mi) => mi / (1 - 0.9 ** t));
      const vHat = v.map((vi) => vi / (1 - 0.999 ** t));
      p = p.map((pi, i) => pi - (lr * mHat[i]) / (Math.sqrt(vHat[i]) + 1e-8));
    });
    const got = run(adam({ lr }), [1, 2], gs);
    expect(got[0]).toBeCloseTo(p[0], 6);
    expect(got[1]).toBeCloseTo(p[1], 6);
    // The first Adam step moves every parameter by ≈ lr against its gradient's sign.
    expect(run(adam({ lr }), [1], [[0.5]])[0]).toBeCloseTo(0.9, 6);
  });

  it('adam defaults are PyTorch\'s', () => {
    expect(adam()).toEqual({ kind: 'adam', lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8 });
  });

  it('exported state restores to continue bit for bit', () => {
    const config = adam({ lr: 0.05 });
    const gs = [[0.5, -1], [0.2, -0.4], [-0.3, 2], [1, 1]];
    const straight = run(config, [1, 2], gs);
    const p = Float32Array.from([1, 2]);
    const state = createOptimizerState(config, [2]);
    gs.slice(0, 2).forEach((g) => applyUpdate(config, state, [p], [Float32Array.from(g)], config.lr));
    const saved = JSON.parse(JSON.stringify(exportOptimizerState(state)));
    const resumed = createOptimizerState(config, [2]);
    restoreOptimizerState(resumed, saved);
    expect(resumed.t).toBe(2);
    gs.slice(2).forEach((g) => applyUpdate(config, resumed, [p], [Float32Array.from(g)], config.lr));
    expect(Array.from(p)).toEqual(Array.from(straight));
  });

  it('restores typed-array slots bit for bit (-0 and subnormals included), and a mismatch changes nothing', () => {
    const config = momentum({ lr: 0.1, momentum: 0.9 });
    const state = createOptimizerState(config, [3, 1]);
    const v0 = Float32Array.from([-0, 1e-40, 0.1]);
    restoreOptimizerState(state, { kind: 'momentum', t: 7, slots: [[v0], [Float32Array.from([2])]] });
    expect(state.t).toBe(7);
    expect(Object.is(state.slots[0][0][0], -0)).toBe(true);
    expect(new Uint32Array(state.slots[0][0].buffer)).toEqual(new Uint32Array(v0.buffer));
    expect(() => restoreOptimizerState(state, { kind: 'momentum', t: 9, slots: [[new Float32Array(3)], [new Float32Array(2)]] })).toThrow(
      'restoreOptimizerState: parameter 1 slot 0',
    );
    expect(state.t).toBe(7);
    expect(Object.is(state.slots[0][0][0], -0)).toBe(true);
  });

  it('refuses mismatched state and bad hyper-parameters with messages', () => {
    const state = createOptimizerState(sgd({ lr: 1 }), [2]);
    expect(() => applyUpdate(adam(), state, [new Float32Array(2)], [new Float32Array(2)], 1)).toThrow(
      'applyUpdate: optimizer state is for sgd, the optimizer is adam',
    );
    expect(() => sgd({ lr: -1 })).toThrow('sgd: lr must be a positive finite number, got -1');
    expect(() => adam({ beta2: 1 })).toThrow('adam: beta2 must be in [0, 1), got 1');
  });
});

describe('lr schedules', () => {
  it('constant is 1; step multiplies by gamma every n steps', () => {
    expect(constantLr()(123, 1000)).toBe(1);
    const s = stepLr({ every: 2, gamma: 0.5 });
    expect([0, 1, 2, 3, 4].map((t) => s(t, Infinity))).toEqual([1, 1, 0.5, 0.5, 0.25]);
  });

  it('cosine goes 1 → ½ → minFactor over totalSteps and needs a finite total', () => {
    const s = cosineLr({ minFactor: 0.1 });
    expect(s(0, 100)).toBe(1);
    expect(s(50, 100)).toBeCloseTo(0.55, 12);
    expect(s(100, 100)).toBeCloseTo(0.1, 12);
    expect(s(150, 100)).toBeCloseTo(0.1, 12);
    expect(() => s(0, Infinity)).toThrow('cosineLr: needs a positive finite totalSteps (pass totalSteps to train), got Infinity');
    expect(lrSchedules.cosine()(0, 10)).toBe(1);
  });
});
