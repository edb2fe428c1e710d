import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense } from '../../../src/layers/dense.js';
import { relu } from '../../../src/layers/activation.js';
import { sequential, type Model } from '../../../src/layers/sequential.js';
import { adam, sgd } from '../../../src/ops/optimizers.js';
import { NonFiniteError } from '../../../src/streams/training/numerics.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { prequential } from '../../../src/streams/online/prequential.js';
import { onlineLearner } from '../../../src/streams/online/onlineLearner.js';
import { ModelVersions } from '../../../src/streams/online/modelVersions.js';
import { bits, points, sample } from '../samples.js';

const mlp = (seed: number): Model => sequential({ input: [2], seed }, dense({ units: 8 }), relu(), dense({ units: 2 }));
const weights = (m: Model): Float32Array[] => m.params.map((p) => p.value);

describe('onlineLearner', () => {
  it('200 samples learned one call at a time give prequential’s weights and per-step losses bit for bit (sgd and adam)', async () => {
    for (const optimizer of [sgd({ lr: 0.05 }), adam({ lr: 0.01 })]) {
      const data = points(200, 7);
      const a = mlp(3);
      const b = mlp(3);
      const reference = await lastValueFrom(from(data).pipe(prequential(a, { loss: softmaxCrossEntropy(), optimizer, window: 10 }), toArray()));
      const learner = onlineLearner(b, { loss: softmaxCrossEntropy(), optimizer });
      let lossSum = 0;
      for (const s of data) lossSum += learner.learn(s).loss;
      expect(bits(weights(b))).toEqual(bits(weights(a)));
      expect(lossSum / data.length).toBe(reference[reference.length - 1].cumulativeLoss);
      expect(learner.state.samples).toBe(200);
      expect(learner.state.optimizer.t).toBe(200);
      learner.close();
    }
  });

  it('a non-finite step is thrown, leaves the weights as they were, and learning goes on from them', () => {
    const model = mlp(1);
    const twin = mlp(1);
    const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) });
    const twinLearner = onlineLearner(twin, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) });
    const data = points(20, 2);
    for (const s of data.slice(0, 10)) {
      learner.learn(s);
      twinLearner.learn(s);
    }
    const before = bits(weights(model));
    expect(() => learner.learn(sample([3e38, 3e38], 1, 99))).toThrow(NonFiniteError);
    expect(bits(weights(model))).toEqual(before);
    for (const s of data.slice(10)) {
      learner.learn(s);
      twinLearner.learn(s);
    }
    expect(bits(weights(model))).toEqual(bits(weights(twin)));
    expect(learner.state.optimizer.t).toBe(20);
  });

  it('refuses to learn after close', () => {
    const learner = onlineLearner(mlp(1), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) });
    learner.close();
    expect(() => learner.learn(points(1, 1)[0])).toThrow('onlineLearner: learn after close');
  });
});

describe('ModelVersions', () => {
  it('publishEvery 3: versions 2, 3 come after updates 3 and 6; a published version never changes afterwards', () => {
    const model = mlp(5);
    const versions = new ModelVersions(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), publishEvery: 3 });
    const v1 = versions.current;
    expect(v1.version).toBe(1);
    expect(bits(weights(v1.model))).toEqual(bits(weights(model)));
    const v1Bits = bits(weights(v1.model));
    const data = points(7, 9);
    const published = data.map((s) => versions.learn(s).published?.version ?? null);
    expect(published).toEqual([null, null, 2, null, null, 3, null]);
    expect(versions.current.updates).toBe(6);
    expect(versions.pendingUpdates).toBe(1);
    // The version published after 6 updates holds exactly the weights of 6 prequential steps.
    const reference = mlp(5);
    const learner = onlineLearner(reference, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    data.slice(0, 6).forEach((s) => learner.learn(s));
    expect(bits(weights(versions.current.model))).toEqual(bits(weights(reference)));
    // Neither the caller's model nor version 1 moved.
    expect(bits(weights(v1.model))).toEqual(v1Bits);
    expect(bits(weights(model))).toEqual(v1Bits);
    expect(versions.publish()?.version).toBe(4);
    expect(versions.publish()).toBeNull();
  });

  it('replace publishes the new model at once and restarts learning from it with a fresh optimizer state', () => {
    const versions = new ModelVersions(mlp(1), { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.01 }), publishEvery: 1 });
    const data = points(10, 3);
    data.slice(0, 5).forEach((s) => versions.learn(s));
    expect(versions.current.version).toBe(6);
    const other = mlp(2);
    const swapped = versions.replace(other);
    expect(swapped).toMatchObject({ version: 7, updates: 0, generation: 2 });
    data.slice(5).forEach((s) => versions.learn(s));
    const reference = mlp(2);
    const learner = onlineLearner(reference, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.01 }) });
    data.slice(5).forEach((s) => learner.learn(s));
    expect(bits(weights(versions.current.model))).toEqual(bits(weights(reference)));
    expect(versions.current).toMatchObject({ version: 12, updates: 5, generation: 2 });
  });

  it('rejects a publishEvery that is not a positive integer', () => {
    expect(() => new ModelVersions(mlp(1), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), publishEvery: 0 })).toThrow(
      'ModelVersions: publishEvery must be a positive integer, got 0',
    );
  });
});
