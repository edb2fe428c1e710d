import { from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Model } from '../../../src/layers/sequential.js';
import { deltaLayer, deltaModel } from '../../../src/streams/training/delta.js';
import { forwardModel } from '../../../src/streams/training/forward.js';
import { internals, type LayerDelta, type LayerGradients } from '../../../src/streams/training/internals.js';
import { lossHead, meanSquaredError, type Backward } from '../../../src/streams/training/lossHead.js';
import type { Batch } from '../../../src/streams/types.js';
import { sample, scaleLayer } from '../samples.js';

function batchOf(rows: number[][], labels: number[]): Batch {
  const m = rows.length;
  const target = new Float32Array(m * 2);
  labels.forEach((l, i) => (target[i * 2 + l] = 1));
  return {
    x: { data: Float32Array.from(rows.flat()), shape: [m, 2] },
    target: { data: target, shape: [m, 2] },
    labels: Int32Array.from(labels),
    m,
    origins: rows.map((_, i) => sample([], 0, 2 + i).origin),
  };
}

function fakeModel(calls: string[] = []): Model {
  const layers = [scaleLayer(2, 2, calls), scaleLayer(3, 2, calls)];
  return { input: [2], layers, outShape: [2], params: layers.flatMap((l) => l.params), seed: 0 };
}

const summary = map((b: Backward) => ({
  loss: b.loss,
  grads: b.grads.map((g) => (g === undefined ? null : g.map((t) => Array.from(t)))),
  delta: b.delta === null ? null : Array.from(b.delta.data),
}));

// x = [1, 2], target = one-hot(0) = [1, 0]; layers ×2 then ×3 → a = [6, 12]; MSE δ^L = a − y = [5, 12].
// Layer 1 (w = 3, input [2, 4]): Σ δ·x = 5·2 + 12·4 = 58, δx = 3·δ = [15, 36].
// Layer 0 (w = 2, input [1, 2]): Σ δ·x = 15·1 + 36·2 = 87, no δx (first layer).
const p = batchOf([[1, 2]], [0]);

describe('deltaLayer / deltaModel', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('two scale layers under MSE: reverse order, Σ-gradients 58 and 87, no δ below layer 0', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-p-|', { p });
      const subs = '       ^--!';
      const expected = '   -P-|';
      const result = source.pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model), summary);
      expectObservable(result).toBe(expected, { P: { loss: 84.5, grads: [[[87]], [[58]]], delta: null } });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('stopping after the top layer leaves layer 0 unvisited and δ of its output in flight', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-p-|', { p });
      const result = source.pipe(forwardModel(model), lossHead(meanSquaredError()), deltaLayer(model.layers[1], 1), summary);
      expectObservable(result).toBe('-P-|', { P: { loss: 84.5, grads: [null, [[58]]], delta: [15, 36] } });
    });
  });

  it('early unsubscribe reaches the source; a source error passes through', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-p--p-|', { p });
      const unsub = '      --!';
      const subs = '       ^-!';
      const pipeline = source.pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model), summary);
      expectObservable(pipeline, unsub).toBe('-P-', { P: { loss: 84.5, grads: [[[87]], [[58]]], delta: null } });
      expectSubscriptions(source.subscriptions).toBe(subs);
      const failing = cold('-p-#', { p }, new Error('EIO'));
      expectObservable(failing.pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model), summary)).toBe(
        '-P-#',
        { P: { loss: 84.5, grads: [[[87]], [[58]]], delta: null } },
        new Error('EIO'),
      );
    });
  });

  it('calls forward in order, delta in reverse, the first layer with needDeltaX = false', async () => {
    const calls: string[] = [];
    const model = fakeModel(calls);
    await lastValueFrom(from([p]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model)));
    expect(calls).toEqual(['forward w=2', 'forward w=3', 'delta w=3 needDeltaX=true', 'delta w=2 needDeltaX=false']);
  });

  it('delta operators in the wrong order are refused with a message', async () => {
    const model = fakeModel();
    const wrong = from([p]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaLayer(model.layers[0], 0));
    await expect(lastValueFrom(wrong)).rejects.toThrow(
      'deltaLayer(layer 0 (dense)): no δ for this layer\'s output (compose the delta operators in reverse layer order)',
    );
  });

  it('a probe sees each layer\'s incoming δ and Σ-gradients', async () => {
    const model = fakeModel();
    const probe = internals(model);
    const deltas: number[][] = [];
    const grads: LayerGradients[] = [];
    probe.delta(0).subscribe((e: LayerDelta) => deltas.push(Array.from(e.deltaY.data)));
    probe.gradients(1).subscribe((e) => grads.push(e));
    await lastValueFrom(from([p]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model, { internals: probe }), toArray()));
    expect(deltas).toEqual([[15, 36]]);
    expect(grads.map((g) => [g.layer, g.m, g.names, Array.from(g.grads[0])])).toEqual([[1, 1, ['w'], [58]]]);
  });
});
