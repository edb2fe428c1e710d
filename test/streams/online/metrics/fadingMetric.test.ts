import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import { fadingMetric } from '../../../../src/streams/online/metrics/fadingMetric.js';
import type { Metric, RegressionObservation } from '../../../../src/streams/online/metrics/metric.js';
import { CLASSIFICATION_CASES, REGRESSION_CASES } from './cases.js';
import { classStream, expectMatchesReference, regressionStream, weights } from './reference.js';

describe('fadingMetric: every built-in metric equals a recomputation with weights α^(t−i)', () => {
  for (const [name, make, reference] of CLASSIFICATION_CASES) {
    for (const [alpha, seed, k] of [[0.9, 11, 2], [0.99, 12, 3], [0.999, 13, 5]] as const) {
      it(`${name}, α ${alpha}, ${k} classes, seed ${seed}: after every one of 300 observations`, () => {
        expectMatchesReference(fadingMetric(make, alpha), reference, classStream(seed, 300, k), (t) => weights.fading(t, alpha));
      });
    }
  }
  for (const [name, make, reference] of REGRESSION_CASES) {
    for (const [alpha, seed] of [[0.9, 14], [0.999, 15]] as const) {
      it(`${name}, α ${alpha}, seed ${seed}: after every one of 300 observations`, () => {
        expectMatchesReference(fadingMetric(make, alpha), reference, regressionStream(seed, 300), (t) => weights.fading(t, alpha));
      });
    }
  }
});

describe('fadingMetric: hand-worked', () => {
  it('accuracy with α = 0.5 over hit, miss, hit is (1·0.25 + 0·0.5 + 1·1) / (0.25 + 0.5 + 1) = 5/7', () => {
    const m = fadingMetric(accuracyMetric, 0.5);
    for (const [predicted, truth] of [[1, 1], [0, 1], [1, 1]]) m.update({ predicted, truth });
    expect(m.value()).toBeCloseTo(5 / 7, 15);
  });
});

describe('fadingMetric: options', () => {
  it('refuses α outside (0, 1)', () => {
    expect(() => fadingMetric(accuracyMetric, 1)).toThrow('fadingMetric: option "alpha" must be a number in (0, 1), got 1');
    expect(() => fadingMetric(accuracyMetric, 0)).toThrow('fadingMetric: option "alpha" must be a number in (0, 1), got 0');
    expect(() => fadingMetric(accuracyMetric, NaN)).toThrow('fadingMetric: option "alpha" must be a number in (0, 1), got NaN');
  });

  it('refuses a metric that cannot scale its statistics, naming it', () => {
    const last = (): Metric<RegressionObservation> => {
      let v: number | null = null;
      return { name: 'last_error', update: (o) => void (v = o.truth - o.predicted), value: () => v };
    };
    expect(() => fadingMetric(last, 0.9)).toThrow('fadingMetric: option "make" must be a factory of additive metrics (with contribution, add and scale), got "last_error"');
  });
});
