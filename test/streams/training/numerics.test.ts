import { from, lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { Model } from '../../../src/layers/sequential.js';
import { deltaModel } from '../../../src/streams/training/delta.js';
import { forwardModel } from '../../../src/streams/training/forward.js';
import { internals } from '../../../src/streams/training/internals.js';
import { lossHead, meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { clipFactor, globalNorm, isAllFinite, locateNonFinite, NonFiniteError } from '../../../src/streams/training/numerics.js';
import type { Batch } from '../../../src/streams/types.js';
import { sample, scaleLayer } from '../samples.js';

function fakeModel(w0: number, w1: number): Model {
  const layers = [scaleLayer(w0, 2), scaleLayer(w1, 2)];
  return { input: [2], layers, outShape: [2], params: layers.flatMap((l) => l.params), seed: 0 };
}

function batchOf(x: number[], label: number, line = 2): Batch {
  const target = new Float32Array(2);
  target[label] = 1;
  return { x: { data: Float32Array.from(x), shape: [1, 2] }, target: { data: target, shape: [1, 2] }, labels: Int32Array.of(label), m: 1, origins: [sample([], 0, line).origin] };
}

describe('numerics', () => {
  it('global norm over several tensors, and the clip factor', () => {
    expect(globalNorm([Float32Array.of(3), Float32Array.of(0, 4)])).toBe(5);
    expect(clipFactor(5, 10)).toBe(1);
    expect(clipFactor(5, 1)).toBeCloseTo(1 / 5, 6);
    expect(isAllFinite(Float32Array.of(1, Infinity))).toBe(false);
  });

  it('locates the first non-finite place in execution order: a layer output before any delta', async () => {
    const model = fakeModel(Infinity, 1);
    const b = await lastValueFrom(from([batchOf([1, 0], 0)]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model)));
    expect(locateNonFinite(b)).toEqual({ where: 'output', layer: 0, kind: 'dense' });
  });

  it('a NaN that first appears on the way back is named as that layer\'s delta', async () => {
    // Every forward output is finite; a NaN target makes the loss and δ^L (the δ arriving at layer 1) NaN.
    const model = fakeModel(1, 1);
    const bad = batchOf([1, 0], 0);
    bad.target.data[1] = NaN;
    const b = await lastValueFrom(from([bad]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model)));
    expect(locateNonFinite(b)).toEqual({ where: 'loss', layer: null, kind: null });
    const noLossIssue = { ...b, lossSum: 1 };
    expect(locateNonFinite(noLossIssue)).toEqual({ where: 'delta', layer: 1, kind: 'dense' });
  });

  it('NonFiniteError carries the facts as fields and says them in words', () => {
    const first = sample([], 0, 120, 2, 'train.csv').origin;
    const last = sample([], 0, 151, 2, 'train.csv').origin;
    const e = new NonFiniteError(7, first, last, NaN, Infinity, { where: 'output', layer: 3, kind: 'relu' });
    expect([e.step, e.firstLine, e.lastLine, e.layer, e.name]).toEqual([7, 120, 151, 3, 'NonFiniteError']);
    expect(e.message).toBe(
      'step 7: loss NaN, gradient norm Infinity on the batch of train.csv lines 120–151; layer 3 (relu) output went non-finite first; ' +
        'update not applied, weights are those after step 6 (lower the learning rate, set clipNorm, or check the input scaling)',
    );
  });
});

describe('lossHead', () => {
  it('softmax-CE: loss is the mean over the true batch size, correct counts argmax hits', async () => {
    const model = fakeModel(1, 1);
    const two: Batch = {
      x: { data: Float32Array.of(2, 0, 0, 2), shape: [2, 2] },
      target: { data: Float32Array.of(1, 0, 1, 0), shape: [2, 2] },
      labels: Int32Array.of(0, 0),
      m: 2,
      origins: [sample([], 0, 2).origin, sample([], 0, 3).origin],
    };
    const b = await lastValueFrom(from([two]).pipe(forwardModel(model), lossHead(softmaxCrossEntropy())));
    const right = Math.log(1 + Math.exp(-2));
    const wrong = Math.log(1 + Math.exp(2));
    expect(b.loss).toBeCloseTo((right + wrong) / 2, 6);
    expect(b.lossSum).toBeCloseTo(right + wrong, 6);
    expect(b.correct).toBe(1);
  });

  it('a target of the wrong width is a ShapeError naming the loss', async () => {
    const model = fakeModel(1, 1);
    const b = batchOf([1, 0], 0);
    const wide = { ...b, target: { data: new Float32Array(3), shape: [1, 3] } };
    await expect(lastValueFrom(from([wide]).pipe(forwardModel(model), lossHead(softmaxCrossEntropy())))).rejects.toThrow(
      'lossHead(softmaxCrossEntropy): expected shape [1, 3], got [1, 2] (model output vs. batch target)',
    );
  });
});

describe('internals', () => {
  it('without copy the event holds the live buffer; with copy a private one', async () => {
    const model = fakeModel(2, 3);
    const live = internals(model);
    const copied = internals(model, { copy: true });
    const seen: Float32Array[] = [];
    live.gradients(1).subscribe((e) => seen.push(e.grads[0]));
    copied.gradients(1).subscribe((e) => seen.push(e.grads[0]));
    const run = (probe: typeof live) =>
      lastValueFrom(from([batchOf([1, 2], 0)]).pipe(forwardModel(model), lossHead(meanSquaredError()), deltaModel(model, { internals: probe })));
    const b1 = await run(live);
    const b2 = await run(copied);
    expect(seen[0]).toBe(b1.grads[1]?.[0]);
    expect(seen[1]).not.toBe(b2.grads[1]?.[0]);
    expect(Array.from(seen[1])).toEqual([58]);
  });

  it('asking for a layer the model does not have is a RangeError', () => {
    expect(() => internals(fakeModel(1, 1)).delta(2)).toThrow('internals.delta: layer must be an integer in [0,2), got 2');
  });

  it('complete() completes the streams', () => {
    const probe = internals(fakeModel(1, 1));
    let isDone = false;
    probe.delta(0).subscribe({ complete: () => (isDone = true) });
    probe.complete();
    expect(isDone).toBe(true);
  });
});
