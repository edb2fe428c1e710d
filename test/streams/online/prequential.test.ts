import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense } from '../../../src/layers/dense.js';
import { sequential } from '../../../src/layers/sequential.js';
import { sgd } from '../../../src/ops/optimizers.js';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { prequential } from '../../../src/streams/online/prequential.js';
import { driftLearner, driftStream } from '../../../scripts/onlineDrift.js';
import { sample } from '../samples.js';

describe('prequential', () => {
  it('drift at 3000: windowed accuracy high before, drops right after, recovers', async () => {
    const { run } = driftLearner(1);
    const metrics = await lastValueFrom(run(driftStream({ samples: 6000, changeAt: 3000, seed: 1 })).pipe(toArray()));
    const at = (seen: number) => metrics[seen - 1].windowAccuracy ?? NaN;
    const lowestAfter = Math.min(...metrics.slice(3000, 3300).map((m) => m.windowAccuracy ?? NaN));
    expect(at(3000)).toBeGreaterThan(0.9);
    expect(lowestAfter).toBeLessThan(0.6);
    expect(at(6000)).toBeGreaterThan(0.9);
    expect(metrics[5999].seen).toBe(6000);
  });

  it('each sample is scored before it is learned: the first prediction uses the initial weights', async () => {
    // dense 1→1 with w = 2, b = 0 and MSE: the first sample (x = 1, y = 0) scores ½·2² = 2 whatever the lr.
    const model = sequential({ input: [1] }, dense({ units: 1 }));
    model.params[0].value[0] = 2;
    const s1 = sample([1], -1, 2, 1);
    const s2 = sample([1], -1, 3, 1);
    const metrics = await lastValueFrom(
      from([s1, s2]).pipe(prequential(model, { loss: meanSquaredError(), optimizer: sgd({ lr: 0.5 }), window: 1 }), toArray()),
    );
    // After learning s1: w = 2 − 0.5·(2·1) = 1, b = 0 − 0.5·2 = −1, so s2 predicts 0: loss 0.
    expect(metrics).toEqual([
      { seen: 1, cumulativeAccuracy: null, windowAccuracy: null, cumulativeLoss: 2, windowLoss: 2 },
      { seen: 2, cumulativeAccuracy: null, windowAccuracy: null, cumulativeLoss: 1, windowLoss: 0 },
    ]);
  });

  it('batchSize 4 with window 8: the window keeps the last two batches', async () => {
    const model = sequential({ input: [2], seed: 1 }, dense({ units: 2 }));
    const rows = Array.from({ length: 16 }, (_, i) => sample([i % 3, 1], i % 2, i + 2));
    const metrics = await lastValueFrom(
      from(rows).pipe(prequential(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.01 }), window: 8, batchSize: 4 }), toArray()),
    );
    expect(metrics.map((m) => m.seen)).toEqual([4, 8, 12, 16]);
    const last = metrics[3];
    expect(last.windowLoss).not.toBe(last.cumulativeLoss);
  });
});
