import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import { fadingMetric } from '../../../../src/streams/online/metrics/fadingMetric.js';
import { kappaMetric } from '../../../../src/streams/online/metrics/kappaMetric.js';
import type { ClassObservation, Metric } from '../../../../src/streams/online/metrics/metric.js';
import { metricSet } from '../../../../src/streams/online/metrics/metricSet.js';
import { windowMetric } from '../../../../src/streams/online/metrics/windowMetric.js';
import { classStream } from './reference.js';

describe('metricSet', () => {
  it('lists its keys grouped by metric: cumulative, window, fading', () => {
    const set = metricSet({ metrics: [accuracyMetric, kappaMetric], window: 10, fading: 0.99 });
    expect(set.keys).toEqual(['accuracy', 'accuracy_window', 'accuracy_fading', 'kappa', 'kappa_window', 'kappa_fading']);
    expect(set.values()).toEqual({ accuracy: null, accuracy_window: null, accuracy_fading: null, kappa: null, kappa_window: null, kappa_fading: null });
  });

  it('holds the same values as the metrics and wrappers fed alone', () => {
    const set = metricSet({ metrics: [accuracyMetric, kappaMetric], window: 10, fading: 0.99 });
    const alone: Record<string, Metric<ClassObservation>> = {
      accuracy: accuracyMetric(),
      accuracy_window: windowMetric(accuracyMetric, 10),
      accuracy_fading: fadingMetric(accuracyMetric, 0.99),
      kappa: kappaMetric(),
      kappa_window: windowMetric(kappaMetric, 10),
      kappa_fading: fadingMetric(kappaMetric, 0.99),
    };
    for (const o of classStream(41, 200, 3)) {
      set.update(o);
      for (const m of Object.values(alone)) m.update(o);
    }
    expect(set.count).toBe(200);
    expect(set.values()).toEqual(Object.fromEntries(Object.entries(alone).map(([k, m]) => [k, m.value()])));
  });

  it('reports only the modes asked for', () => {
    expect(metricSet({ metrics: [accuracyMetric] }).keys).toEqual(['accuracy']);
    expect(metricSet({ metrics: [accuracyMetric], cumulative: false, fading: 0.9 }).keys).toEqual(['accuracy_fading']);
  });

  it('refuses no metric, no mode, two metrics of one name, and bad window or fading values', () => {
    expect(() => metricSet({ metrics: [] })).toThrow('metricSet: option "metrics" must be a non-empty list of metric factories, got []');
    expect(() => metricSet({ metrics: [accuracyMetric], cumulative: false })).toThrow('metricSet: option "cumulative" must be true when neither window nor fading is given, got false');
    expect(() => metricSet({ metrics: [accuracyMetric, accuracyMetric] })).toThrow('metricSet: option "metrics" must be metrics with distinct names, got "accuracy"');
    expect(() => metricSet({ metrics: [accuracyMetric], window: 0 })).toThrow('windowMetric: option "n" must be an integer ≥ 1, got 0');
    expect(() => metricSet({ metrics: [accuracyMetric], fading: 1.5 })).toThrow('fadingMetric: option "alpha" must be a number in (0, 1), got 1.5');
  });
});
