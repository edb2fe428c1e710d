import { from, lastValueFrom, map, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Model } from '../../../src/layers/sequential.js';
import { ShapeError } from '../../../src/ops/tensor.js';
import { forwardLayer, forwardModel } from '../../../src/streams/training/forward.js';
import { internals, type LayerActivation } from '../../../src/streams/training/internals.js';
import type { Batch } from '../../../src/streams/types.js';
import { sample, scaleLayer } from '../samples.js';

function batchOf(rows: number[][], firstLine = 2): Batch {
  const m = rows.length;
  return {
    x: { data: Float32Array.from(rows.flat()), shape: [m, rows[0].length] },
    target: { data: new Float32Array(m * 2), shape: [m, 2] },
    labels: new Int32Array(m),
    m,
    origins: rows.map((_, i) => sample([], 0, firstLine + i).origin),
  };
}

function fakeModel(calls: string[] = []): Model {
  const layers = [scaleLayer(2, 2, calls), scaleLayer(3, 2, calls)];
  return { input: [2], layers, outShape: [2], params: layers.flatMap((l) => l.params), seed: 0 };
}

/** What the marbles compare: the activation values and how many tape entries rode along. */
const summary = map((f: { a: { data: Float32Array }; tape: readonly unknown[] }) => ({ a: Array.from(f.a.data), tape: f.tape.length }));

describe('forwardLayer / forwardModel', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('two scale layers (×2, ×3): each batch comes out ×6 with a tape of 2, one emission per batch', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-p--q-|', { p: batchOf([[1, 2]]), q: batchOf([[0, -1], [4, 5]]) });
      const subs = '       ^-----!';
      const expected = '   -P--Q-|';
      expectObservable(source.pipe(forwardModel(model), summary)).toBe(expected, {
        P: { a: [6, 12], tape: 2 },
        Q: { a: [0, -6, 24, 30], tape: 2 },
      });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('forwardLayer by hand in a user pipe equals forwardModel; layer 0 takes a Batch', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-p-|', { p: batchOf([[1, 2]]) });
      const expected = '   -P-|';
      const byHand = source.pipe(forwardLayer(model.layers[0], 0), forwardLayer(model.layers[1], 1), summary);
      expectObservable(byHand).toBe(expected, { P: { a: [6, 12], tape: 2 } });
    });
  });

  it('early unsubscribe reaches the source', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-p--q-|', { p: batchOf([[1, 2]]), q: batchOf([[1, 1]]) });
      const unsub = '      ---!';
      const subs = '       ^--!';
      const expected = '   -P--';
      expectObservable(source.pipe(forwardModel(model), summary), unsub).toBe(expected, { P: { a: [6, 12], tape: 2 } });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('a source error passes through; a layer that throws errors the stream', () => {
    const model = fakeModel();
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-p-#', { p: batchOf([[1, 2]]) }, new Error('EIO'));
      expectObservable(source.pipe(forwardModel(model), summary)).toBe('-P-#', { P: { a: [6, 12], tape: 2 } }, new Error('EIO'));
      const wrong = cold('-p-|', { p: batchOf([[1, 2, 3]]) });
      expectObservable(wrong.pipe(forwardModel(model), summary)).toBe('-#', undefined, new ShapeError('forwardModel', [1, 2], [1, 3], 'batch of 1 samples'));
    });
  });

  it('operators out of model order are refused with a message', async () => {
    const model = fakeModel();
    await expect(lastValueFrom(from([batchOf([[1, 2]])]).pipe(forwardLayer(model.layers[1], 1)))).rejects.toThrow(
      'forwardLayer(layer 1 (dense)): received a Batch; only layer 0 takes batches — run layers 0..0 first',
    );
  });

  it('reports each layer output to an internals probe', async () => {
    const model = fakeModel();
    const probe = internals(model, { copy: true });
    const seen: LayerActivation[] = [];
    probe.activation(1).subscribe((e) => seen.push(e));
    await lastValueFrom(from([batchOf([[1, 2]]), batchOf([[1, 0]])]).pipe(forwardModel(model, { internals: probe }), toArray()));
    expect(seen.map((e) => [e.layer, e.seq, Array.from(e.y.data)])).toEqual([
      [1, 1, [6, 12]],
      [1, 2, [6, 0]],
    ]);
  });
});
