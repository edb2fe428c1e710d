import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { detectDrift, type DriftObservation } from '../../../src/streams/online/detectDrift.js';
import { DriftInputError } from '../../../src/streams/online/detectors/detector.js';
import { PageHinkley } from '../../../src/streams/online/detectors/pageHinkley.js';

/** Page-Hinkley with λ 1, δ 0, α 1, testing from the first value: 0, 0, 4 is a drift on the 4 (m = 8/3 > 1). */
const tinyPh = (): PageHinkley => new PageHinkley({ minInstances: 0, lambda: 1, delta: 0, alpha: 1 });

const seen = (index: number, value: number, drift = false): DriftObservation => ({ index, value, warning: false, drift });

describe('detectDrift', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('emits one observation per value, with its index, and the drift where the detector signals it', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-a-b-a-|', { a: 0, b: 4 });
      const subs = '       ^--------!';
      const expected = '   -w-x-y-z-|';
      expectObservable(source.pipe(detectDrift(tinyPh))).toBe(expected, { w: seen(0, 0), x: seen(1, 0), y: seen(2, 4, true), z: seen(3, 0) });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('with a factory, every subscription gets its own detector and counts from 0', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a-a-b-|', { a: 0, b: 4 });
      const detected = source.pipe(detectDrift(tinyPh));
      const first = '      -w-x-y-|';
      const lateSub = '    ---^--------';
      const second = '     ----w-x-y-|';
      const values = { w: seen(0, 0), x: seen(1, 0), y: seen(2, 4, true) };
      expectObservable(detected).toBe(first, values);
      expectObservable(detected, lateSub).toBe(second, values);
    });
  });

  it('with an instance, a later subscription continues that detector (its state is the caller\'s), counting from 0', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const ph = tinyPh();
      const zeros = cold('-a-a-|', { a: 0 });
      const jump = cold('  -b-|', { b: 4 });
      expectObservable(zeros.pipe(detectDrift(ph))).toBe('-w-x-|', { w: seen(0, 0), x: seen(1, 0) });
      expectObservable(jump.pipe(detectDrift(ph)), '------^---').toBe('-------y-|', { y: seen(0, 4, true) });
    });
  });

  it('with an instance, a second subscription while the first is active is an error, not a shared window', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a-a-a-|', { a: 0 });
      const detected = source.pipe(detectDrift(tinyPh()));
      const overlapping = '--^------';
      expectObservable(detected).toBe('-w-x-y-|', { w: seen(0, 0), x: seen(1, 0), y: seen(2, 0) });
      expectObservable(detected, overlapping).toBe(
        '--#',
        undefined,
        new Error('detectDrift: this page-hinkley detector already serves another subscription; pass a factory (() => detector) for one per subscription'),
      );
    });
  });

  it('early unsubscribe unsubscribes the source', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-a-b-|', { a: 0, b: 4 });
      const unsub = '      ----!';
      const subs = '       ^---!';
      const expected = '   -w-x-';
      expectObservable(source.pipe(detectDrift(tinyPh)), unsub).toBe(expected, { w: seen(0, 0), x: seen(1, 0) });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('forwards a source error', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-#', { a: 0 }, new Error('EIO'));
      const subs = '       ^--!';
      const expected = '   -w-#';
      expectObservable(source.pipe(detectDrift(tinyPh))).toBe(expected, { w: seen(0, 0) }, new Error('EIO'));
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('a value the detector cannot take errors the stream with a DriftInputError naming the index, and unsubscribes the source', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-a-n-a-|', { a: 0, n: NaN });
      const subs = '       ^----!';
      const expected = '   -w-x-#';
      const error = new DriftInputError('page-hinkley', 'a finite number', NaN, 2);
      expect(error.message).toBe('detector page-hinkley: input 2 must be a finite number, got NaN');
      expectObservable(source.pipe(detectDrift(tinyPh))).toBe(expected, { w: seen(0, 0), x: seen(1, 0) }, error);
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });
});
