/**
 * The online learner is `batch(1) → train` made callable row by row: the same steps bit for bit, a
 * prediction equal to the step's own forward pass, and reactions (learning-rate factor, optimizer
 * reset, re-initialization) that do exactly what they say.
 */
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense, relu, sequential } from '../../../src/index.js';
import { adam, momentum, sgd } from '../../../src/ops/optimizers.js';
import { onlineLearner } from '../../../src/streams/online/onlineLearner.js';
import { prequential } from '../../../src/streams/online/prequential.js';
import { NonFiniteError } from '../../../src/streams/training/numerics.js';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { points } from '../samples.js';

const mlp = (seed = 1) => sequential({ input: [2], seed }, dense({ units: 16 }), relu(), dense({ units: 2 }));
const bits = (model: ReturnType<typeof mlp>): number[] => model.params.flatMap((p) => Array.from(new Uint32Array(p.value.buffer, p.value.byteOffset, p.value.length)));

describe('onlineLearner', () => {
  const rows = points(300, 4);

  for (const [name, make] of [['sgd', () => sgd({ lr: 0.1 })], ['momentum', () => momentum({ lr: 0.05, momentum: 0.9 })], ['adam', () => adam({ lr: 0.01 })]] as const) {
    it(`${name}: learn() row by row gives prequential's weights and losses bit for bit`, async () => {
      const a = mlp();
      const metrics = await lastValueFrom(from(rows).pipe(prequential(a, { loss: softmaxCrossEntropy(), optimizer: make(), window: 50 }), toArray()));
      const b = mlp();
      const learner = onlineLearner(b, { loss: softmaxCrossEntropy(), optimizer: make() });
      let lossSum = 0;
      let correct = 0;
      rows.forEach((s, i) => {
        const { prediction, loss, step } = learner.learn(s);
        lossSum += loss;
        if (prediction.predicted === s.label) correct++;
        expect(step.step).toBe(i + 1);
      });
      expect(bits(b)).toEqual(bits(a));
      const last = metrics.at(-1);
      expect(lossSum / rows.length).toBe(last?.cumulativeLoss);
      expect(correct / rows.length).toBe(last?.cumulativeAccuracy);
    });
  }

  it('predict(x) before learning equals the prediction the step reports (the forward before its update)', () => {
    const learner = onlineLearner(mlp(), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    for (const s of rows.slice(0, 50)) {
      const before = learner.predict(s.x);
      const { prediction } = learner.learn(s);
      expect(Array.from(prediction.output)).toEqual(Array.from(before.output));
      expect(prediction.predicted).toBe(before.predicted);
      expect(prediction.probabilities?.reduce((a, v) => a + v, 0)).toBeCloseTo(1, 6);
    }
  });

  it('lrFactor scales the rate exactly: factor 2 at lr 0.1 is lr 0.2', () => {
    const a = mlp();
    const la = onlineLearner(a, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    la.lrFactor = 2;
    const b = mlp();
    const lb = onlineLearner(b, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.2 }) });
    for (const s of rows.slice(0, 80)) {
      expect(la.learn(s).step.lr).toBe(0.2);
      lb.learn(s);
    }
    expect(bits(a)).toEqual(bits(b));
  });

  it('resetOptimizer: the following steps are those of a new optimizer on the same weights', () => {
    const a = mlp();
    const la = onlineLearner(a, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.01 }) });
    rows.slice(0, 100).forEach((s) => la.learn(s));
    la.resetOptimizer();
    expect(la.state.optimizer.t).toBe(0);
    const b = mlp();
    b.params.forEach((p, j) => p.value.set(a.params[j].value));
    const lb = onlineLearner(b, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 0.01 }) });
    for (const s of rows.slice(100, 200)) {
      la.learn(s);
      lb.learn(s);
    }
    expect(bits(a)).toEqual(bits(b));
  });

  it('reinitialize(seed) gives the weights sequential draws for that seed', () => {
    const a = mlp(1);
    const learner = onlineLearner(a, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    rows.slice(0, 20).forEach((s) => learner.learn(s));
    learner.reinitialize(9);
    expect(bits(a)).toEqual(bits(mlp(9)));
  });

  it('regression: predictions carry the output values, no class', () => {
    const model = sequential({ input: [2], seed: 2 }, dense({ units: 8 }), relu(), dense({ units: 1 }));
    const learner = onlineLearner(model, { loss: meanSquaredError(), optimizer: sgd({ lr: 0.05 }) });
    const s = { x: Float32Array.of(0.5, -0.5), target: Float32Array.of(1), label: -1, origin: { source: 'r', line: 2, record: 0, endOffset: 1 } };
    const { prediction } = learner.learn(s);
    expect(prediction.predicted).toBe(-1);
    expect(prediction.probabilities).toBeNull();
    expect(prediction.output).toHaveLength(1);
  });

  it('a diverging step throws NonFiniteError from learn(); the next row continues from the weights before it', () => {
    const model = mlp();
    const learner = onlineLearner(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    rows.slice(0, 10).forEach((s) => learner.learn(s));
    const before = bits(model);
    const huge = { ...rows[10], x: Float32Array.of(3e38, 3e38) };
    expect(() => learner.learn(huge)).toThrow(NonFiniteError);
    expect(bits(model)).toEqual(before);
    expect(learner.learn(rows[11]).step.step).toBe(11);
  });
});
