import { describe, expect, it } from 'vitest';
import { kappaTemporalMetric } from '../../../../src/streams/online/metrics/kappaTemporalMetric.js';

describe('kappaTemporalMetric', () => {
  it('truths 1,1,0,0,1 and predictions 1,0,0,1,1: κt = 1/3', () => {
    // Learner: right at i = 0, 2, 4: p0 = 3/5. No-change predictions 0 (the first, as MOA), 1, 1, 0, 0
    // against truths 1, 1, 0, 0, 1: right at i = 1 and 3, pnc = 2/5. κt = (3/5 − 2/5) / (1 − 2/5) = 1/3.
    const m = kappaTemporalMetric();
    const truths = [1, 1, 0, 0, 1];
    const predicted = [1, 0, 0, 1, 1];
    truths.forEach((truth, i) => m.update({ predicted: predicted[i], truth }));
    expect(m.value()).toBeCloseTo(1 / 3, 15);
  });

  it('a learner that repeats the previous truth has κt = 0; one worse than that is negative', () => {
    const truths = [0, 0, 0, 1, 1, 1, 0, 0];
    const noChange = kappaTemporalMetric();
    const worse = kappaTemporalMetric();
    truths.forEach((truth, i) => {
      noChange.update({ predicted: i === 0 ? 0 : truths[i - 1], truth });
      worse.update({ predicted: 1 - truth, truth });
    });
    expect(noChange.value()).toBeCloseTo(0, 15);
    // pnc = 6/8 (misses at the two changes), p0 = 0: κt = (0 − 0.75) / 0.25 = −3.
    expect(worse.value()).toBeCloseTo(-3, 14);
  });

  it('is null with no observation, and while the truth never changed (no-change accuracy 1)', () => {
    const m = kappaTemporalMetric();
    expect(m.value()).toBeNull();
    for (let i = 0; i < 4; i++) m.update({ predicted: 1, truth: 0 });
    expect(m.value()).toBeNull();
  });
});
