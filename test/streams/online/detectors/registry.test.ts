/**
 * The detector spec grammar (src/streams/online/detectors/registry.ts) and the range check of every
 * parameter of every detector, with the exact one-line messages users see.
 */
import { describe, expect, it } from 'vitest';
import { OptionError } from '../../../../src/layers/options.js';
import { Adwin } from '../../../../src/streams/online/detectors/adwin.js';
import { Ddm } from '../../../../src/streams/online/detectors/ddm.js';
import { Eddm } from '../../../../src/streams/online/detectors/eddm.js';
import { HddmA } from '../../../../src/streams/online/detectors/hddmA.js';
import { Kswin } from '../../../../src/streams/online/detectors/kswin.js';
import { PageHinkley } from '../../../../src/streams/online/detectors/pageHinkley.js';
import { detectorNames, parseDetector } from '../../../../src/streams/online/detectors/registry.js';

describe('parseDetector', () => {
  it('a bare name gives the defaults of the papers and MOA', () => {
    expect(parseDetector('adwin')().params).toEqual({ delta: 0.002, clock: 32, maxBuckets: 5, minWindowLength: 5, gracePeriod: 10 });
    expect(parseDetector('ph')().params).toEqual({ minInstances: 30, delta: 0.005, lambda: 50, alpha: 0.9999 });
    expect(parseDetector('ddm')().params).toEqual({ minInstances: 30, driftLevel: 3, warningLevel: 2 });
    expect(parseDetector('eddm')().params).toEqual({ alpha: 0.95, beta: 0.9, minErrors: 30, minInstances: 30 });
    expect(parseDetector('hddm-a')().params).toEqual({ driftConfidence: 0.001, warningConfidence: 0.005, twoSided: false });
    expect(parseDetector('kswin')().params).toEqual({ alpha: 0.005, statSize: 30, windowSize: 100, seed: 0 });
  });

  it('names map to their classes; ph and page-hinkley are one detector; case and spaces do not matter', () => {
    expect(parseDetector('adwin')()).toBeInstanceOf(Adwin);
    expect(parseDetector('ph')()).toBeInstanceOf(PageHinkley);
    expect(parseDetector('Page-Hinkley')()).toBeInstanceOf(PageHinkley);
    expect(parseDetector('ddm')()).toBeInstanceOf(Ddm);
    expect(parseDetector('eddm')()).toBeInstanceOf(Eddm);
    expect(parseDetector('HDDM-A')()).toBeInstanceOf(HddmA);
    expect(parseDetector(' kswin : seed = 3 ')().params.seed).toBe(3);
    expect(detectorNames).toEqual(['adwin', 'page-hinkley', 'ddm', 'eddm', 'hddm-a', 'kswin', 'ph']);
  });

  it('KEY=VALUE pairs set parameters: numbers in decimal or exponent form, booleans', () => {
    expect(parseDetector('adwin:delta=0.01')().params.delta).toBe(0.01);
    expect(parseDetector('ph:lambda=50:delta=0.005')().params).toMatchObject({ lambda: 50, delta: 0.005 });
    expect(parseDetector('hddm-a:driftConfidence=1e-4:twoSided=true')().params).toMatchObject({ driftConfidence: 0.0001, twoSided: true });
  });

  it('every call of the factory is a fresh detector with the same parameters', () => {
    const make = parseDetector('adwin:clock=1');
    const a = make();
    const b = make();
    expect(a).not.toBe(b);
    a.update(1);
    expect(b.snapshot()).toEqual(parseDetector('adwin:clock=1')().snapshot());
  });

  const specErrors: [string, string][] = [
    ['', 'detector: empty spec (expected NAME[:KEY=VALUE]…, NAME one of adwin, page-hinkley, ddm, eddm, hddm-a, kswin, ph)'],
    ['foo', 'detector: unknown detector "foo" (known: adwin, page-hinkley, ddm, eddm, hddm-a, kswin, ph)'],
    ['constructor', 'detector: unknown detector "constructor" (known: adwin, page-hinkley, ddm, eddm, hddm-a, kswin, ph)'],
    ['adwin:delta', 'detector adwin: expected KEY=VALUE after ":", got "delta"'],
    ['adwin:=3', 'detector adwin: expected KEY=VALUE after ":", got "=3"'],
    ['adwin:delta=0.1:delta=0.2', 'detector adwin: delta is given twice'],
    ['adwin:foo=1', 'detector adwin: unknown option "foo" (known: delta, clock, maxBuckets, minWindowLength, gracePeriod)'],
    ['adwin:__proto__=1', 'detector adwin: unknown option "__proto__" (known: delta, clock, maxBuckets, minWindowLength, gracePeriod)'],
    ['adwin:delta=abc', 'detector adwin: delta must be a number in (0, 1), got "abc"'],
    ['adwin:delta=0x10', 'detector adwin: delta must be a number in (0, 1), got "0x10"'],
    ['adwin:delta=true', 'detector adwin: delta must be a number in (0, 1), got true'],
    ['hddm-a:twoSided=1', 'detector hddm-a: twoSided must be true or false, got 1'],
  ];
  for (const [spec, message] of specErrors) {
    it(`"${spec}" fails at parse time: ${message}`, () => {
      expect(() => parseDetector(spec)).toThrow(message);
    });
  }

  it('the error is an OptionError carrying the option and the value', () => {
    let caught: unknown;
    try {
      parseDetector('adwin:delta=2');
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(OptionError);
    expect(caught).toMatchObject({ where: 'detector adwin', option: 'delta', rule: 'in (0, 1)', value: 2, message: 'detector adwin: delta must be in (0, 1), got 2' });
  });
});

describe('every detector parameter is range-checked, in code and in specs alike', () => {
  const rangeErrors: [string, string][] = [
    ['adwin:delta=2', 'detector adwin: delta must be in (0, 1), got 2'],
    ['adwin:delta=0', 'detector adwin: delta must be in (0, 1), got 0'],
    ['adwin:clock=0.5', 'detector adwin: clock must be an integer ≥ 1, got 0.5'],
    ['adwin:maxBuckets=1001', 'detector adwin: maxBuckets must be an integer in [1, 1000], got 1001'],
    ['adwin:minWindowLength=0', 'detector adwin: minWindowLength must be an integer ≥ 1, got 0'],
    ['adwin:gracePeriod=-1', 'detector adwin: gracePeriod must be an integer ≥ 0, got -1'],
    ['ph:minInstances=-1', 'detector page-hinkley: minInstances must be an integer ≥ 0, got -1'],
    ['ph:delta=-0.1', 'detector page-hinkley: delta must be ≥ 0, got -0.1'],
    ['ph:lambda=0', 'detector page-hinkley: lambda must be > 0, got 0'],
    ['ph:alpha=0', 'detector page-hinkley: alpha must be in (0, 1], got 0'],
    ['ph:alpha=1.5', 'detector page-hinkley: alpha must be in (0, 1], got 1.5'],
    ['ddm:minInstances=0', 'detector ddm: minInstances must be an integer ≥ 1, got 0'],
    ['ddm:driftLevel=0', 'detector ddm: driftLevel must be > 0, got 0'],
    ['ddm:warningLevel=0', 'detector ddm: warningLevel must be in (0, driftLevel = 3], got 0'],
    ['ddm:warningLevel=4', 'detector ddm: warningLevel must be in (0, driftLevel = 3], got 4'],
    ['ddm:driftLevel=5:warningLevel=4', ''],
    ['eddm:alpha=1', 'detector eddm: alpha must be in (0, 1), got 1'],
    ['eddm:beta=0.96', 'detector eddm: beta must be in (0, alpha = 0.95], got 0.96'],
    ['eddm:beta=0', 'detector eddm: beta must be in (0, alpha = 0.95], got 0'],
    ['eddm:minErrors=-1', 'detector eddm: minErrors must be an integer ≥ 0, got -1'],
    ['eddm:minInstances=1.5', 'detector eddm: minInstances must be an integer ≥ 0, got 1.5'],
    ['hddm-a:driftConfidence=0', 'detector hddm-a: driftConfidence must be in (0, 1), got 0'],
    ['hddm-a:driftConfidence=1', 'detector hddm-a: driftConfidence must be in (0, 1), got 1'],
    ['hddm-a:warningConfidence=0.0005', 'detector hddm-a: warningConfidence must be in [driftConfidence = 0.001, 1), got 0.0005'],
    ['hddm-a:warningConfidence=1', 'detector hddm-a: warningConfidence must be in [driftConfidence = 0.001, 1), got 1'],
    ['kswin:alpha=0', 'detector kswin: alpha must be in (0, 1), got 0'],
    ['kswin:statSize=0', 'detector kswin: statSize must be an integer in [1, 100000], got 0'],
    ['kswin:windowSize=59', 'detector kswin: windowSize must be an integer in [2·statSize = 60, 1000000], got 59'],
    ['kswin:statSize=10:windowSize=19', 'detector kswin: windowSize must be an integer in [2·statSize = 20, 1000000], got 19'],
    ['kswin:windowSize=1000001', 'detector kswin: windowSize must be an integer in [2·statSize = 60, 1000000], got 1000001'],
    ['kswin:seed=1.5', 'detector kswin: seed must be an integer in [-9007199254740991, 9007199254740991], got 1.5'],
  ];
  for (const [spec, message] of rangeErrors) {
    if (message === '') {
      it(`"${spec}" is accepted (a bound that depends on another parameter follows it)`, () => {
        expect(() => parseDetector(spec)).not.toThrow();
      });
    } else {
      it(`"${spec}": ${message}`, () => {
        expect(() => parseDetector(spec)).toThrow(message);
      });
    }
  }

  it('constructors give the same messages as specs', () => {
    expect(() => new Adwin({ delta: 2 })).toThrow('detector adwin: delta must be in (0, 1), got 2');
    expect(() => new Kswin({ statSize: 60 })).toThrow('detector kswin: windowSize must be an integer in [2·statSize = 120, 1000000], got 100');
    expect(() => new Ddm({ driftLevel: Infinity })).toThrow('detector ddm: driftLevel must be a number > 0, got Infinity');
    expect(() => new PageHinkley({ lambda: NaN })).toThrow('detector page-hinkley: lambda must be a number > 0, got NaN');
  });

  it('options that are not an object, and unknown options given in code, are rejected', () => {
    expect(() => new Adwin(JSON.parse('5'))).toThrow('detector adwin: options must be an object, got 5');
    expect(() => new Eddm(JSON.parse('{"gamma": 1}'))).toThrow('detector eddm: unknown option "gamma" (known: alpha, beta, minErrors, minInstances)');
  });
});
