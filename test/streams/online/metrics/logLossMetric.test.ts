import { describe, expect, it } from 'vitest';
import { logLossMetric } from '../../../../src/streams/online/metrics/logLossMetric.js';

describe('logLossMetric', () => {
  it('is the mean of −ln p(truth): (−ln 0.8 − ln 0.5) / 2', () => {
    const m = logLossMetric();
    m.update({ predicted: 1, truth: 1, probabilities: [0.2, 0.8] });
    m.update({ predicted: 0, truth: 1, probabilities: Float32Array.of(0.5, 0.5) });
    expect(m.value()).toBeCloseTo((-Math.log(0.8) - Math.log(0.5)) / 2, 7);
  });

  it('clips the probability to [1e-15, 1]: p = 0 costs −ln 1e-15 ≈ 34.54, p = 1.2 costs 0', () => {
    const zero = logLossMetric();
    zero.update({ predicted: 0, truth: 1, probabilities: [1, 0] });
    expect(zero.value()).toBeCloseTo(34.538776394910684, 12);
    const above = logLossMetric();
    above.update({ predicted: 0, truth: 0, probabilities: [1.2, 0] });
    expect(above.value()).toBe(0);
  });

  it('needs the probabilities, of the true class, finite', () => {
    expect(() => logLossMetric().update({ predicted: 0, truth: 0 })).toThrow('logloss: the observation has no probabilities');
    expect(() => logLossMetric().update({ predicted: 0, truth: 2, probabilities: [0.5, 0.5] })).toThrow('logloss: truth 2 has no probability (2 given)');
    expect(() => logLossMetric().update({ predicted: 0, truth: 1, probabilities: [0.5, NaN] })).toThrow('logloss: the probability of class 1 must be a finite number, got NaN');
  });

  it('is null before any observation', () => {
    expect(logLossMetric().value()).toBeNull();
  });
});
