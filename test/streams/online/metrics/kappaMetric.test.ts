import { describe, expect, it } from 'vitest';
import { kappaMetric } from '../../../../src/streams/online/metrics/kappaMetric.js';

describe('kappaMetric', () => {
  it('the confusion matrix [[20, 5], [10, 15]] (rows: truth) gives κ = 0.4', () => {
    // p0 = (20 + 15) / 50 = 0.7; truths 25, 25 and predictions 30, 20 of 50:
    // pc = 0.6·0.5 + 0.4·0.5 = 0.5; κ = (0.7 − 0.5) / (1 − 0.5) = 0.4.
    const m = kappaMetric();
    const cells: [number, number, number][] = [[0, 0, 20], [0, 1, 5], [1, 0, 10], [1, 1, 15]];
    for (const [truth, predicted, count] of cells) for (let i = 0; i < count; i++) m.update({ predicted, truth });
    expect(m.value()).toBeCloseTo(0.4, 14);
  });

  it('a learner that always predicts the majority class has κ = 0 although its accuracy is 0.8', () => {
    const m = kappaMetric();
    for (let i = 0; i < 10; i++) m.update({ predicted: 0, truth: i < 8 ? 0 : 1 });
    expect(m.value()).toBeCloseTo(0, 15);
  });

  it('perfect predictions of three classes: κ = 1', () => {
    const m = kappaMetric();
    for (const c of [0, 1, 2, 2, 1]) m.update({ predicted: c, truth: c });
    expect(m.value()).toBe(1);
  });

  it('is null with no observation, and with one class only, always predicted (chance agreement 1)', () => {
    const m = kappaMetric();
    expect(m.value()).toBeNull();
    for (let i = 0; i < 5; i++) m.update({ predicted: 3, truth: 3 });
    expect(m.value()).toBeNull();
  });
});
