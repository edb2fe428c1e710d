/** MAE, RMSE and R²: hand-worked values and edge cases. */
import { describe, expect, it } from 'vitest';
import { maeMetric } from '../../../../src/streams/online/metrics/maeMetric.js';
import { r2Metric } from '../../../../src/streams/online/metrics/r2Metric.js';
import { rmseMetric } from '../../../../src/streams/online/metrics/rmseMetric.js';
import { windowMetric } from '../../../../src/streams/online/metrics/windowMetric.js';

const pairs: [number, number][] = [[2, 3], [0, 4], [5, 5]]; // [predicted, truth]: errors 1, 4, 0

describe('maeMetric and rmseMetric', () => {
  it('errors 1, 4, 0: MAE 5/3, RMSE √(17/3)', () => {
    const mae = maeMetric();
    const rmse = rmseMetric();
    for (const [predicted, truth] of pairs) {
      mae.update({ predicted, truth });
      rmse.update({ predicted, truth });
    }
    expect(mae.value()).toBeCloseTo(5 / 3, 15);
    expect(rmse.value()).toBeCloseTo(Math.sqrt(17 / 3), 15);
  });

  it('are null before any observation and refuse non-finite values', () => {
    expect(maeMetric().value()).toBeNull();
    expect(rmseMetric().value()).toBeNull();
    expect(() => maeMetric().update({ predicted: NaN, truth: 1 })).toThrow('mae: predicted must be a finite number, got NaN');
    expect(() => rmseMetric().update({ predicted: 1, truth: Infinity })).toThrow('rmse: truth must be a finite number, got Infinity');
  });
});

describe('r2Metric', () => {
  it('predictions 1, 2 for truths 1, 3: ȳ = 2, SS_tot = 2, SS_res = 1, R² = 0.5', () => {
    const m = r2Metric();
    m.update({ predicted: 1, truth: 1 });
    m.update({ predicted: 2, truth: 3 });
    expect(m.value()).toBe(0.5);
  });

  it('predicting the mean gives 0; worse than the mean is negative', () => {
    const mean = r2Metric();
    const worse = r2Metric();
    for (const y of [1, 2, 3]) {
      mean.update({ predicted: 2, truth: y });
      worse.update({ predicted: 4 - y + 2, truth: y });
    }
    expect(mean.value()).toBe(0);
    expect(worse.value()).toBeLessThan(0);
  });

  it('is null for one observation and for constant truths, also in a window after other truths left', () => {
    const m = r2Metric();
    expect(m.value()).toBeNull();
    m.update({ predicted: 0, truth: 4 });
    expect(m.value()).toBeNull();
    m.update({ predicted: 1, truth: 4 });
    expect(m.value()).toBeNull();
    // The reference K is the first truth (1); the window then holds only 7.3s: SS_tot is rounding only.
    const w = windowMetric(r2Metric, 3);
    for (const truth of [1, 7.3, 7.3, 7.3]) w.update({ predicted: 7, truth });
    expect(w.value()).toBeNull();
  });
});
