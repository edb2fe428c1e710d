import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import { kappaTemporalMetric } from '../../../../src/streams/online/metrics/kappaTemporalMetric.js';
import type { ClassObservation, Metric, RegressionObservation } from '../../../../src/streams/online/metrics/metric.js';
import { r2Metric } from '../../../../src/streams/online/metrics/r2Metric.js';
import { windowMetric } from '../../../../src/streams/online/metrics/windowMetric.js';
import { CLASSIFICATION_CASES, REGRESSION_CASES } from './cases.js';
import { classStream, expectMatchesReference, regressionStream, weights } from './reference.js';

describe('windowMetric: every built-in metric over the last N equals a recomputation over the last N', () => {
  for (const [name, make, reference] of CLASSIFICATION_CASES) {
    for (const [n, seed, k] of [[1, 1, 2], [7, 2, 3], [50, 3, 4]] as const) {
      it(`${name}, window ${n}, ${k} classes, seed ${seed}: after every one of 400 observations`, () => {
        expectMatchesReference(windowMetric(make, n), reference, classStream(seed, 400, k), (t) => weights.window(t, n));
      });
    }
  }
  for (const [name, make, reference] of REGRESSION_CASES) {
    for (const [n, seed] of [[2, 4], [7, 5], [50, 6]] as const) {
      it(`${name}, window ${n}, seed ${seed}: after every one of 400 observations`, () => {
        expectMatchesReference(windowMetric(make, n), reference, regressionStream(seed, 400), (t) => weights.window(t, n));
      });
    }
  }

  it('a long stream (20,000 observations, window 64): the rebuilds keep rounding from accumulating', () => {
    const obs = regressionStream(7, 20_000);
    const metric = windowMetric(r2Metric, 64);
    for (const o of obs) metric.update(o);
    const last = obs.slice(-64);
    const mean = last.reduce((s, o) => s + o.truth, 0) / 64;
    const ssTot = last.reduce((s, o) => s + (o.truth - mean) ** 2, 0);
    const ssRes = last.reduce((s, o) => s + (o.truth - o.predicted) ** 2, 0);
    expect(Math.abs((metric.value() ?? NaN) - (1 - ssRes / ssTot))).toBeLessThan(1e-9);
  });
});

describe('windowMetric: κ-temporal keeps each observation\'s previous truth', () => {
  it('truths 1,1,0,0,1 and predictions 1,0,0,1,1, window 3: κt = 1/2, not the 0 of a restart at the window', () => {
    // The last three observations are i = 2, 3, 4. Learner right at i = 2 and 4: p0 = 2/3.
    // No-change predictions are the previous truths y1, y2, y3 = 1, 0, 0 against truths 0, 0, 1: right at
    // i = 3 only, pnc = 1/3. κt = (2/3 − 1/3) / (1 − 1/3) = 1/2. Restarting at i = 2 would predict 0 there
    // (a hit): pnc = 2/3 and κt = 0.
    const truths = [1, 1, 0, 0, 1];
    const predicted = [1, 0, 0, 1, 1];
    const metric = windowMetric(kappaTemporalMetric, 3);
    truths.forEach((truth, i) => metric.update({ predicted: predicted[i], truth }));
    expect(metric.value()).toBeCloseTo(0.5, 14);
  });
});

describe('windowMetric: a metric with only update and value', () => {
  /** The median absolute error: not additive, so the window recomputes it from its buffer. */
  const medianError = (): Metric<RegressionObservation> => {
    const errors: number[] = [];
    return {
      name: 'median_error',
      update: (o) => void errors.push(Math.abs(o.truth - o.predicted)),
      value: () => {
        if (errors.length === 0) return null;
        const s = [...errors].sort((a, b) => a - b);
        return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
      },
    };
  };

  it('is recomputed from the last N observations (the median of the last 5 absolute errors)', () => {
    const obs = regressionStream(8, 60);
    const metric = windowMetric(medianError, 5);
    obs.forEach((o, t) => {
      metric.update(o);
      const last = obs.slice(Math.max(0, t - 4), t + 1).map((p) => Math.abs(p.truth - p.predicted)).sort((a, b) => a - b);
      const m = last.length;
      expect(metric.value()).toBe(m % 2 === 1 ? last[(m - 1) / 2] : (last[m / 2 - 1] + last[m / 2]) / 2);
    });
  });

  it('gives null before any observation, like the metric itself', () => {
    expect(windowMetric(medianError, 3).value()).toBeNull();
    expect(windowMetric(accuracyMetric, 3).value()).toBeNull();
  });

  it('keeps the metric\'s name', () => {
    expect(windowMetric(medianError, 3).name).toBe('median_error');
    expect(windowMetric<ClassObservation>(accuracyMetric, 3).name).toBe('accuracy');
  });
});

describe('windowMetric: options', () => {
  it('refuses a window that is not an integer ≥ 1', () => {
    expect(() => windowMetric(accuracyMetric, 0)).toThrow('windowMetric: option "n" must be an integer ≥ 1, got 0');
    expect(() => windowMetric(accuracyMetric, 2.5)).toThrow('windowMetric: option "n" must be an integer ≥ 1, got 2.5');
  });
});
