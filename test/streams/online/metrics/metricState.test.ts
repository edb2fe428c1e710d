/**
 * Restorable metric state: every built-in metric, cumulative, over a window and faded, snapshotted at
 * some point, restored into a fresh metric set (after a JSON round trip, as a checkpoint header keeps
 * it) and fed the rest of the stream, gives the uninterrupted set's values bit for bit; a state that
 * does not fit is refused naming the field, and a metric without snapshot() names itself.
 */
import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import type { ClassObservation, Metric, MetricState } from '../../../../src/streams/online/metrics/metric.js';
import { metricSet } from '../../../../src/streams/online/metrics/metricSet.js';
import { windowMetric } from '../../../../src/streams/online/metrics/windowMetric.js';
import { CLASSIFICATION_CASES, REGRESSION_CASES } from './cases.js';
import { classStream, regressionStream } from './reference.js';

/** Feed `obs`, snapshotting after `cut` of them and going on in a restored twin; both sets' values at every later step. */
function resumedAndFull<O>(make: () => ReturnType<typeof metricSet<O>>, obs: readonly O[], cut: number): { full: unknown[]; resumed: unknown[] } {
  const full = make();
  const first = make();
  const fullValues: unknown[] = [];
  const resumedValues: unknown[] = [];
  obs.forEach((o, i) => {
    full.update(o);
    if (i < cut) first.update(o);
    if (i >= cut) fullValues.push(full.values());
  });
  const state = JSON.parse(JSON.stringify(first.snapshot())) as MetricState;
  const twin = make();
  twin.restore(state);
  expect(twin.count).toBe(cut);
  for (const o of obs.slice(cut)) {
    twin.update(o);
    resumedValues.push(twin.values());
  }
  return { full: fullValues, resumed: resumedValues };
}

describe('metric snapshots', () => {
  for (const cut of [0, 1, 37, 250, 499]) {
    it(`classification metrics (cumulative, window 40, fading 0.97) restored after ${cut} of 500 observations continue bit for bit`, () => {
      const make = () => metricSet<ClassObservation>({ metrics: CLASSIFICATION_CASES.map(([, f]) => f), window: 40, fading: 0.97 });
      const { full, resumed } = resumedAndFull(make, classStream(7, 500, 4), cut);
      expect(resumed).toEqual(full);
    });
    it(`regression metrics (cumulative, window 40, fading 0.97) restored after ${cut} of 500 observations continue bit for bit`, () => {
      const make = () => metricSet({ metrics: REGRESSION_CASES.map(([, f]) => f), window: 40, fading: 0.97 });
      const { full, resumed } = resumedAndFull(make, regressionStream(8, 500), cut);
      expect(resumed).toEqual(full);
    });
  }

  it('a window snapshot after its sums were rebuilt keeps the arrivals since the rebuild (the next rebuild falls where it did)', () => {
    const m = windowMetric(accuracyMetric, 5);
    const obs = classStream(3, 12, 2);
    obs.slice(0, 7).forEach((o) => m.update(o));
    const state = m.snapshot?.();
    expect(state).toMatchObject({ sinceRebuild: 2 });
    expect((state as { contributions: number[] }).contributions).toHaveLength(5);
  });

  it('a state of another metric or with a bad field is refused, naming it', () => {
    const kappa = metricSet<ClassObservation>({ metrics: [CLASSIFICATION_CASES[1][1]] });
    const accuracy = metricSet<ClassObservation>({ metrics: [accuracyMetric] });
    expect(() => accuracy.restore(kappa.snapshot())).toThrow('metric metricSet: cannot restore state: the state holds kappa, this set accuracy');
    expect(() => accuracy.restore({ count: 1, metrics: { accuracy: { W: 1, hits: true } } })).toThrow('metric accuracy: cannot restore state: hits must be a finite number');
    expect(() => accuracy.restore({ count: 1, metrics: { accuracy: { W: 1, hits: 1, extra: 2 } } })).toThrow('metric accuracy: cannot restore state: extra is not a field of this metric (fields: W, hits)');
  });

  it("a user's metric without snapshot() makes the set's snapshot an error naming it", () => {
    const hits = (): Metric<ClassObservation> => {
      let n = 0;
      return { name: 'hits', update: (o) => void (n += o.predicted === o.truth ? 1 : 0), value: () => n };
    };
    const set = metricSet<ClassObservation>({ metrics: [accuracyMetric, hits] });
    set.update({ predicted: 1, truth: 1 });
    expect(() => set.snapshot()).toThrow(/^metric hits: cannot take its state: it has no snapshot\(\)/);
  });
});
