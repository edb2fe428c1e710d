import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense } from '../../src/layers/dense.js';
import { relu } from '../../src/layers/activation.js';
import { sequential } from '../../src/layers/sequential.js';
import { sgd } from '../../src/ops/optimizers.js';
import { softmaxCrossEntropy } from '../../src/streams/training/lossHead.js';
import { onlineLearner } from '../../src/streams/online/onlineLearner.js';
import { prequential } from '../../src/streams/online/prequential.js';
import { PrequentialTally } from '../../scripts/serve/scores.js';
import { points } from '../streams/samples.js';

describe('PrequentialTally', () => {
  for (const window of [1, 3, 64, 500]) {
    it(`window ${window}: after every row, the same cumulative and windowed figures as prequential at batch 1, bit for bit`, async () => {
      const data = points(300, 4);
      const make = () => sequential({ input: [2], seed: 2 }, dense({ units: 6 }), relu(), dense({ units: 2 }));
      const reference = await lastValueFrom(from(data).pipe(prequential(make(), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), window }), toArray()));
      const learner = onlineLearner(make(), { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
      const tally = new PrequentialTally(window);
      data.forEach((s, i) => {
        const m = learner.learn(s).step;
        tally.add(m.loss, m.accuracy === 1);
        expect(tally.scores, `row ${i}`).toEqual(reference[i]);
      });
    });
  }

  it('regression rows have no accuracy; no rows, no figures', () => {
    const tally = new PrequentialTally(2);
    expect(tally.scores).toEqual({ seen: 0, cumulativeAccuracy: null, windowAccuracy: null, cumulativeLoss: null, windowLoss: null });
    [4, 2, 6].forEach((loss) => tally.add(loss, null));
    expect(tally.scores).toEqual({ seen: 3, cumulativeAccuracy: null, windowAccuracy: null, cumulativeLoss: 4, windowLoss: 4 });
  });
});
