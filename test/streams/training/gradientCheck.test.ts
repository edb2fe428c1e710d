import { connect, from, lastValueFrom, merge, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { tanh } from '../../../src/layers/activation.js';
import { conv2d } from '../../../src/layers/conv2d.js';
import { dense } from '../../../src/layers/dense.js';
import { flatten } from '../../../src/layers/flatten.js';
import { cloneModel, sequential } from '../../../src/layers/sequential.js';
import { sgd } from '../../../src/ops/optimizers.js';
import { createRng } from '../../../src/ops/random.js';
import { batch } from '../../../src/streams/training/batch.js';
import { gradientCheck, type GradientCheckResult } from '../../../src/streams/training/gradientCheck.js';
import { softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { train } from '../../../src/streams/training/train.js';
import { bits, points, sample } from '../samples.js';

describe('gradientCheck', () => {
  it('dense–tanh–dense under softmax-CE: analytic and central differences agree, model unchanged', async () => {
    const model = sequential({ input: [2], seed: 2 }, dense({ units: 6 }), tanh(), dense({ units: 2 }));
    const before = bits(model.params.map((p) => p.value));
    const results = await lastValueFrom(
      from(points(40, 1)).pipe(batch(8), gradientCheck(model, { loss: softmaxCrossEntropy(), every: 2, params: 12, seed: 5 }), toArray()),
    );
    expect(results.map((r) => [r.step, r.checked])).toEqual([
      [1, 12],
      [3, 12],
      [5, 12],
    ]);
    for (const r of results) expect(r.maxRelError).toBeLessThan(1e-2);
    expect(bits(model.params.map((p) => p.value))).toEqual(before);
  });

  it('checks a conv net too (conv2d → tanh → flatten → dense)', async () => {
    const rng = createRng(3);
    const images = Array.from({ length: 6 }, (_, i) => sample(Array.from({ length: 16 }, () => rng.next()), i % 2, i + 2));
    const model = sequential({ input: [1, 4, 4], seed: 4 }, conv2d({ filters: 2, kernel: 3 }), tanh(), flatten(), dense({ units: 2 }));
    const [r] = await lastValueFrom(from(images).pipe(batch(6), gradientCheck(model, { loss: softmaxCrossEntropy(), params: 20, seed: 1 }), toArray()));
    expect(r.maxRelError).toBeLessThan(1e-2);
    expect(r.worst.param).toMatch(/^layer [03] \((conv2d|dense)\) [Wb]$/);
  });

  it('placed beside train with connect, it sees pre-update weights and leaves training bitwise unchanged', async () => {
    const data = points(48, 7);
    const alone = sequential({ input: [2], seed: 2 }, dense({ units: 6 }), tanh(), dense({ units: 2 }));
    const watched = cloneModel(alone);
    const options = { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.3 }) };
    await lastValueFrom(from(data).pipe(batch(8), train(alone, options), toArray()));
    const checks: GradientCheckResult[] = [];
    await lastValueFrom(
      from(data).pipe(
        batch(8),
        connect((batches) => merge(batches.pipe(gradientCheck(watched, { loss: options.loss, every: 3, params: 5 })), batches.pipe(train(watched, options)))),
        toArray(),
      ),
    ).then((all) => all.forEach((e) => 'maxRelError' in e && checks.push(e)));
    expect(checks.map((c) => c.step)).toEqual([1, 4]);
    expect(bits(watched.params.map((p) => p.value))).toEqual(bits(alone.params.map((p) => p.value)));
  });
});
