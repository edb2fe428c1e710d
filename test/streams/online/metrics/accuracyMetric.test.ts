import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';

describe('accuracyMetric', () => {
  it('is null before any observation', () => {
    expect(accuracyMetric().value()).toBeNull();
  });

  it('3 of 4 right: 0.75', () => {
    const m = accuracyMetric();
    for (const [predicted, truth] of [[0, 0], [1, 1], [2, 1], [1, 1]]) m.update({ predicted, truth });
    expect(m.value()).toBe(0.75);
  });

  it('rejects a class that is not an index, naming the field', () => {
    expect(() => accuracyMetric().update({ predicted: -1, truth: 0 })).toThrow('accuracy: predicted must be a class index (an integer ≥ 0), got -1');
    expect(() => accuracyMetric().update({ predicted: 0, truth: 0.5 })).toThrow('accuracy: truth must be a class index (an integer ≥ 0), got 0.5');
    expect(() => accuracyMetric().update({ predicted: 0, truth: NaN })).toThrow('accuracy: truth must be a class index (an integer ≥ 0), got NaN');
  });
});
