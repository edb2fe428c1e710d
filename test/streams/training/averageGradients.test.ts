import { from, lastValueFrom, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { averageGradients, type AveragedGradients } from '../../../src/streams/training/averageGradients.js';
import type { Backward } from '../../../src/streams/training/lossHead.js';
import { sample } from '../samples.js';

/** A backward record of m samples starting at `line`, whose two layers' Σ-gradients are given. */
function backward(m: number, line: number, lossSum: number, correct: number, layer0: number[], layer1: number[]): Backward {
  const origins = Array.from({ length: m }, (_, i) => sample([], 0, line + i).origin);
  const x = { data: new Float32Array(m), shape: [m, 1] };
  return {
    batch: { x, target: { data: new Float32Array(m), shape: [m, 1] }, labels: new Int32Array(m), m, origins },
    tape: [
      { layer: 0, kind: 'dense', y: x, cache: null },
      { layer: 1, kind: 'dense', y: x, cache: null },
    ],
    output: x,
    lossSum,
    loss: lossSum / m,
    correct,
    delta: null,
    deltas: [x, x],
    grads: [[Float32Array.from(layer0)], [Float32Array.from(layer1)]],
  };
}

const summary = map((g: AveragedGradients) => ({
  grads: g.grads.map((t) => Array.from(t)),
  count: g.count,
  microBatches: g.microBatches,
  loss: g.loss,
  correct: g.correct,
  lines: [g.first.line, g.last.line],
}));

const a = backward(2, 2, 3, 1, [4, 8], [2]);
const b = backward(2, 4, 5, 2, [2, 0], [6]);
const c = backward(1, 6, 1, 0, [3, 3], [1]);

describe('averageGradients', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('k = 1: each batch divided by its own true size (the last, partial batch by 1)', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-|', { a, b, c });
      const subs = '       ^------!';
      const expected = '   -x-y-z-|';
      expectObservable(source.pipe(averageGradients(), summary)).toBe(expected, {
        x: { grads: [[2, 4], [1]], count: 2, microBatches: 1, loss: 1.5, correct: 1, lines: [2, 3] },
        y: { grads: [[1, 0], [3]], count: 2, microBatches: 1, loss: 2.5, correct: 2, lines: [4, 5] },
        z: { grads: [[3, 3], [1]], count: 1, microBatches: 1, loss: 1, correct: 0, lines: [6, 6] },
      });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('k = 2: one emission per two micro-batches over their total count; the leftover at completion', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a-b-c-|', { a, b, c });
      const expected = '   ---x---(z|)';
      expectObservable(source.pipe(averageGradients({ microBatches: 2 }), summary)).toBe(expected, {
        x: { grads: [[1.5, 2], [2]], count: 4, microBatches: 2, loss: 2, correct: 3, lines: [2, 5] },
        z: { grads: [[3, 3], [1]], count: 1, microBatches: 1, loss: 1, correct: 0, lines: [6, 6] },
      });
    });
  });

  it('early unsubscribe drops the pending micro-batch; a source error passes through', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-|', { a, b, c });
      const unsub = '      ----!';
      const subs = '       ^---!';
      expectObservable(source.pipe(averageGradients({ microBatches: 2 }), summary), unsub).toBe('---x-', {
        x: { grads: [[1.5, 2], [2]], count: 4, microBatches: 2, loss: 2, correct: 3, lines: [2, 5] },
      });
      expectSubscriptions(source.subscriptions).toBe(subs);
      const failing = cold('-a-#', { a }, new Error('EIO'));
      expectObservable(failing.pipe(averageGradients({ microBatches: 2 }), summary)).toBe('---#', undefined, new Error('EIO'));
    });
  });

  it('reports the global norm of the averaged gradients', async () => {
    const g = await lastValueFrom(from([a]).pipe(averageGradients()));
    expect(g.gradNorm).toBe(Math.sqrt(4 + 16 + 1));
    expect(g.nonFinite).toBeNull();
  });

  it('locates a non-finite gradient while the record is still valid', async () => {
    const bad = backward(1, 9, 1, 0, [NaN, 0], [1]);
    const g = await lastValueFrom(from([bad]).pipe(averageGradients()));
    expect(g.nonFinite).toEqual({ where: 'gradient', layer: 0, kind: 'dense' });
    expect(Number.isNaN(g.gradNorm)).toBe(true);
  });

  it('a layer without gradients is an error naming it', async () => {
    const partial = { ...a, grads: [undefined, a.grads[1]] };
    await expect(lastValueFrom(from([partial]).pipe(averageGradients()))).rejects.toThrow(
      'averageGradients: layer 0 has no gradients (run deltaModel over every layer first)',
    );
  });

  it('rejects microBatches 0', () => {
    expect(() => averageGradients({ microBatches: 0 })).toThrow('averageGradients: microBatches must be a positive integer, got 0');
  });
});
