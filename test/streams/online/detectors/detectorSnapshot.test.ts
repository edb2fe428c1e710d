/**
 * Snapshots of every detector (src/streams/online/detectors/detectorSnapshot.ts): a snapshot taken
 * anywhere, written as JSON and read back, continues exactly as the detector it came from; a snapshot
 * that does not fit is refused with a message naming the field.
 */
import { describe, expect, it } from 'vitest';
import { Adwin } from '../../../../src/streams/online/detectors/adwin.js';
import { Ddm } from '../../../../src/streams/online/detectors/ddm.js';
import type { DetectorSnapshot, DriftDetector } from '../../../../src/streams/online/detectors/detector.js';
import { Kswin } from '../../../../src/streams/online/detectors/kswin.js';
import { parseDetector, restoreDetector } from '../../../../src/streams/online/detectors/registry.js';
import { bernoulli, ramp, uniform } from './driftStreams.js';

const SPECS = ['adwin', 'adwin:clock=1:maxBuckets=2', 'ph:lambda=20', 'ddm', 'eddm', 'hddm-a:twoSided=true', 'kswin:seed=3', 'kswin:statSize=5:windowSize=12:alpha=0.05'];

/** 0/1 errors on the ramp for every detector; every third row a real value in [0, 1) for those that take them. */
function streamFor(spec: string): number[] {
  const errors = bernoulli(7, 3000, ramp);
  if (spec.startsWith('ddm') || spec.startsWith('eddm')) return errors;
  const reals = uniform(8, 3000);
  return errors.map((e, t) => (t % 3 === 0 ? reals[t] : e));
}

function roundTrip(snapshot: DetectorSnapshot): DetectorSnapshot {
  return JSON.parse(JSON.stringify(snapshot));
}

function run(detector: DriftDetector, values: readonly number[]): string {
  return values.map((x) => {
    const s = detector.update(x);
    return s.drift ? 'D' : s.warning ? 'w' : '.';
  }).join('');
}

describe('detector snapshots continue bit for bit', () => {
  for (const spec of SPECS) {
    it(`${spec}: snapshots at rows 1, 517, 1003 and 2222, through JSON, continue with the same signals and the same state`, () => {
      const values = streamFor(spec);
      const whole = parseDetector(spec)();
      const signals = run(whole, values);
      expect(signals).toMatch(/D/);
      for (const at of [1, 517, 1003, 2222]) {
        const first = parseDetector(spec)();
        const head = run(first, values.slice(0, at));
        const copy = restoreDetector(roundTrip(first.snapshot()));
        const intoExisting = parseDetector(spec)();
        intoExisting.restore(roundTrip(first.snapshot()));
        const tail = values.slice(at);
        expect(head + run(copy, tail)).toBe(signals);
        expect(head + run(intoExisting, tail)).toBe(signals);
        expect(copy.snapshot()).toEqual(whole.snapshot());
        expect(intoExisting.snapshot()).toEqual(whole.snapshot());
      }
    });
  }

  it('a snapshot is a copy: updating the detector afterwards does not change it', () => {
    const adwin = new Adwin();
    const snapshot = adwin.snapshot();
    const frozen = JSON.stringify(snapshot);
    for (let i = 0; i < 100; i++) adwin.update(i % 2);
    expect(JSON.stringify(snapshot)).toBe(frozen);
  });
});

describe('a snapshot that does not fit is refused, naming the field', () => {
  const ddm = (): DetectorSnapshot => {
    const d = new Ddm();
    for (let i = 0; i < 50; i++) d.update(i % 4 === 0 ? 1 : 0);
    return roundTrip(d.snapshot());
  };
  const withState = (snapshot: DetectorSnapshot, state: Record<string, unknown>): DetectorSnapshot => JSON.parse(JSON.stringify({ ...snapshot, state }));

  it('another detector\'s snapshot', () => {
    expect(() => new Adwin().restore(ddm())).toThrow('detector adwin: cannot restore snapshot: detector is "ddm", expected "adwin"');
  });

  it('a snapshot taken with other parameters', () => {
    expect(() => new Ddm({ driftLevel: 4 }).restore(ddm())).toThrow(
      'detector ddm: cannot restore snapshot: params {"minInstances":30,"driftLevel":3,"warningLevel":2} differ from this detector\'s {"minInstances":30,"driftLevel":4,"warningLevel":2}',
    );
  });

  it('a field of the wrong type, a missing field, an extra field, an impossible count', () => {
    const s = ddm();
    expect(() => new Ddm().restore(withState(s, { ...s.state, t: 'x' }))).toThrow('detector ddm: cannot restore snapshot: state.t must be a finite number, got "x"');
    const { psMin: _dropped, ...missing } = s.state;
    expect(() => new Ddm().restore(withState(s, missing))).toThrow('detector ddm: cannot restore snapshot: state.psMin must be a finite number, got undefined');
    expect(() => new Ddm().restore(withState(s, { ...s.state, extra: 1 }))).toThrow('detector ddm: cannot restore snapshot: state.extra is not a field of this detector (fields: t, errors, pMin, sMin, psMin)');
    expect(() => new Ddm().restore(withState(s, { ...s.state, errors: 51 }))).toThrow('detector ddm: cannot restore snapshot: state.errors must be an integer in [0, t = 50], got 51');
  });

  it('ADWIN buckets that do not add up to the width, and a non-number in an array', () => {
    const adwin = new Adwin();
    for (let i = 0; i < 100; i++) adwin.update(i % 3 === 0 ? 1 : 0);
    const s = roundTrip(adwin.snapshot());
    expect(() => new Adwin().restore(withState(s, { ...s.state, width: 99 }))).toThrow('detector adwin: cannot restore snapshot: state.width must equal the values in the buckets (100), got 99');
    const totals = [...(s.state.totals as number[])];
    expect(() => new Adwin().restore(withState(s, { ...s.state, totals: [...totals.slice(0, 3), null, ...totals.slice(4)] }))).toThrow(
      'detector adwin: cannot restore snapshot: state.totals [3] must be a finite number, got null',
    );
  });

  it('a KSWIN generator state that is not four uint32 words', () => {
    const s = roundTrip(new Kswin().snapshot());
    expect(() => new Kswin().restore(withState(s, { ...s.state, rng: [1, 2, 3] }))).toThrow('detector kswin: cannot restore snapshot: state.rng must be 4 uint32 integers, got [1, 2, 3]');
  });

  it('restoreDetector of an unknown detector name', () => {
    expect(() => restoreDetector({ detector: 'cusum', params: {}, state: {} })).toThrow('detector: unknown detector "cusum"');
  });
});
