import { describe, expect, it } from 'vitest';
import { macroF1Metric } from '../../../../src/streams/online/metrics/macroF1Metric.js';
import { windowMetric } from '../../../../src/streams/online/metrics/windowMetric.js';

describe('macroF1Metric', () => {
  it('River\'s example: truths 0,1,2,2,2 and predictions 0,0,2,2,1 give 1, 1/3, 5/9, 5/9, 22/45', () => {
    // After 5: F1_0 = 2·1/(2+1) = 2/3, F1_1 = 0 (never predicted right), F1_2 = 2·2/(2+3) = 4/5;
    // (2/3 + 0 + 4/5) / 3 = 22/45. After 2: F1_0 = 2/3, F1_1 = 0, class 2 not seen yet: 1/3.
    const m = macroF1Metric();
    const truths = [0, 1, 2, 2, 2];
    const predicted = [0, 0, 2, 2, 1];
    const got = truths.map((truth, i) => (m.update({ predicted: predicted[i], truth }), m.value()));
    const want = [1, 1 / 3, 5 / 9, 5 / 9, 22 / 45];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i], 14));
  });

  it('classes never seen do not count; a class only predicted counts with F1 0', () => {
    const m = macroF1Metric();
    m.update({ predicted: 5, truth: 5 });
    expect(m.value()).toBe(1);
    m.update({ predicted: 7, truth: 5 });
    // F1_5 = 2·1/(1 + 2) = 2/3, F1_7 = 0 (predicted, never true); classes 0–4 and 6 never seen.
    expect(m.value()).toBeCloseTo(1 / 3, 15);
  });

  it('in a window, a class that left it no longer counts', () => {
    const m = windowMetric(macroF1Metric, 2);
    m.update({ predicted: 1, truth: 0 });
    m.update({ predicted: 0, truth: 0 });
    m.update({ predicted: 0, truth: 0 });
    expect(m.value()).toBe(1);
  });

  it('is null before any observation; one class only, always right, is 1', () => {
    const m = macroF1Metric();
    expect(m.value()).toBeNull();
    for (let i = 0; i < 3; i++) m.update({ predicted: 0, truth: 0 });
    expect(m.value()).toBe(1);
  });
});
