import { from, lastValueFrom, take, tap, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { createRng } from '../../../src/ops/random.js';
import { shuffle, ShuffleState, type ShuffleSnapshot } from '../../../src/streams/training/shuffle.js';
import type { Sample } from '../../../src/streams/types.js';
import { points, sample } from '../samples.js';

const a = sample([1], 0, 2);
const b = sample([2], 0, 3);
const c = sample([3], 0, 4);
const d = sample([4], 0, 5);
const e = sample([5], 0, 6);

/** The order the documented algorithm gives: fill 3, then swap out rng.int(3), then Fisher–Yates and pop. */
function expectedOrder(seed: number, input: Sample[], size: number): Sample[] {
  const rng = createRng(seed);
  const resident: Sample[] = [];
  const out: Sample[] = [];
  for (const s of input) {
    if (resident.length < size) resident.push(s);
    else {
      const j = rng.int(size);
      out.push(resident[j]);
      resident[j] = s;
    }
  }
  for (let i = resident.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [resident[i], resident[j]] = [resident[j], resident[i]];
  }
  while (resident.length > 0) out.push(resident.pop() as Sample);
  return out;
}

describe('shuffle', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('window 3, seed 7: holds 3, swaps one out per arrival, flushes the rest at completion', () => {
    const [x, y, u, v, w] = expectedOrder(7, [a, b, c, d, e], 3);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a, b, c, d, e });
      const subs = '       ^----------!';
      const expected = '   -------x-y-(uvw|)';
      expectObservable(source.pipe(shuffle({ window: 3, seed: 7 }))).toBe(expected, { x, y, u, v, w });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('window 1 and window 0 pass samples through unchanged', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold('-a-b-c-|', { a, b, c });
      const expected = '   -a-b-c-|';
      expectObservable(source.pipe(shuffle({ window: 1, seed: 7 }))).toBe(expected, { a, b, c });
      expectObservable(source.pipe(shuffle({ window: 0, seed: 7 }))).toBe(expected, { a, b, c });
    });
  });

  it('early unsubscribe stops the source and emits nothing more', () => {
    const [x] = expectedOrder(7, [a, b, c, d, e], 3);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a, b, c, d, e });
      const unsub = '      --------!';
      const subs = '       ^-------!';
      const expected = '   -------x-';
      expectObservable(source.pipe(shuffle({ window: 3, seed: 7 })), unsub).toBe(expected, { x });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('forwards a source error without flushing the window', () => {
    const [x] = expectedOrder(7, [a, b, c, d], 3);
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-#', { a, b, c, d }, new Error('disk'));
      const subs = '       ^--------!';
      const expected = '   -------x-#';
      expectObservable(source.pipe(shuffle({ window: 3, seed: 7 }))).toBe(expected, { x }, new Error('disk'));
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('is a permutation of its input, the same for the same seed, different for another seed', async () => {
    const input = Array.from({ length: 200 }, (_, i) => sample([i], 0, i + 2));
    const run = (seed: number) => lastValueFrom(from(input).pipe(shuffle({ window: 50, seed }), toArray()));
    const first = await run(1);
    const again = await run(1);
    const other = await run(2);
    expect(first.map((s) => s.x[0]).sort((p, q) => p - q)).toEqual(input.map((s) => s.x[0]));
    expect(again).toEqual(first);
    expect(other.map((s) => s.x[0])).not.toEqual(first.map((s) => s.x[0]));
    expect(first.map((s) => s.x[0])).not.toEqual(input.map((s) => s.x[0]));
  });

  it('a snapshot taken during a downstream step resumes to the same order as an uninterrupted run', async () => {
    const input = Array.from({ length: 40 }, (_, i) => sample([i], 0, i + 2));
    const full = await lastValueFrom(from(input).pipe(shuffle({ window: 8, seed: 3 }), toArray()));
    // While the 12th sample is emitted, 20 have been read: 12 out, 8 in the window.
    const state = new ShuffleState();
    let snap: ShuffleSnapshot | null = null;
    let nSeen = 0;
    const head = await lastValueFrom(
      from(input).pipe(
        shuffle({ window: 8, seed: 3, state }),
        tap(() => {
          if (++nSeen === 12) snap = state.snapshot();
        }),
        take(12),
        toArray(),
      ),
    );
    expect(snap).not.toBeNull();
    const resumed = await lastValueFrom(from(input.slice(20)).pipe(shuffle({ window: 8, seed: 999, state: new ShuffleState(snap ?? undefined) }), toArray()));
    expect([...head, ...resumed]).toEqual(full);
  });

  it('a snapshot taken during the end-of-stream flush resumes without shuffling the rest again', async () => {
    const input = Array.from({ length: 20 }, (_, i) => sample([i], 0, i + 2));
    const full = await lastValueFrom(from(input).pipe(shuffle({ window: 8, seed: 3 }), toArray()));
    // 12 samples leave during the stream, 8 in the flush; the 15th emission is the flush's 3rd.
    const state = new ShuffleState();
    let snap: ShuffleSnapshot | null = null;
    let nSeen = 0;
    const head = await lastValueFrom(
      from(input).pipe(
        shuffle({ window: 8, seed: 3, state }),
        tap(() => {
          if (++nSeen === 15) snap = state.snapshot();
        }),
        take(15),
        toArray(),
      ),
    );
    expect(snap).toMatchObject({ isFlushing: true });
    expect((snap as ShuffleSnapshot | null)?.window).toHaveLength(5);
    const resumed = await lastValueFrom(from([] as Sample[]).pipe(shuffle({ window: 8, seed: 999, state: new ShuffleState(snap ?? undefined) }), toArray()));
    expect([...head, ...resumed]).toEqual(full);
  });

  it('a snapshot says whether it was taken before or during the flush', () => {
    const state = new ShuffleState();
    const snaps: (ShuffleSnapshot | null)[] = [];
    from([a, b, c, d]).pipe(shuffle({ window: 3, seed: 1, state }), tap(() => snaps.push(state.snapshot()))).subscribe();
    expect(snaps.map((s) => s?.isFlushing)).toEqual([false, true, true, true]);
  });

  it('fails when a source restored at its end emits another sample', async () => {
    const snap: ShuffleSnapshot = { window: [a, b], rng: createRng(1).state(), isFlushing: true };
    const run = lastValueFrom(from([c]).pipe(shuffle({ window: 3, seed: 1, state: new ShuffleState(snap) }), toArray()));
    await expect(run).rejects.toThrow('shuffle: restored from a snapshot taken at the end of the stream, but the source emitted another sample (data.csv:4)');
  });

  it('a long end-of-stream flush yields to the event loop between emissions, in the same order', async () => {
    // 40 samples at ~1 ms of downstream work each: the flush outlasts its time slice, so a callback
    // queued with setImmediate at its start runs before it ends (a signal handler would, too).
    const input = points(40, 11);
    const expected = expectedOrder(3, input, 64);
    const order: Sample[] = [];
    let emittedWhenTurnCame = -1;
    await new Promise<void>((resolve, reject) => {
      from(input)
        .pipe(shuffle({ window: 64, seed: 3 }))
        .subscribe({
          next: (s) => {
            if (order.length === 0) setImmediate(() => (emittedWhenTurnCame = order.length));
            order.push(s);
            const until = performance.now() + 1;
            while (performance.now() < until);
          },
          error: reject,
          complete: resolve,
        });
    });
    expect(order).toEqual(expected);
    expect(emittedWhenTurnCame).toBeGreaterThan(0);
    expect(emittedWhenTurnCame).toBeLessThan(input.length);
  });

  it('unsubscribing during a yielded flush stops it: nothing more is emitted', async () => {
    const emitted: Sample[] = [];
    const subscription = from(points(40, 12))
      .pipe(shuffle({ window: 64, seed: 3 }))
      .subscribe((s) => {
        emitted.push(s);
        const until = performance.now() + 1;
        while (performance.now() < until);
      });
    const atUnsubscribe = emitted.length;
    subscription.unsubscribe();
    await new Promise((r) => setTimeout(r, 30));
    expect(atUnsubscribe).toBeLessThan(40);
    expect(emitted.length).toBe(atUnsubscribe);
  });

  it('rejects a negative or fractional window', () => {
    expect(() => shuffle({ window: -1, seed: 1 })).toThrow('shuffle: window must be a non-negative integer, got -1');
    expect(() => shuffle({ window: 2.5, seed: 1 })).toThrow('shuffle: window must be a non-negative integer, got 2.5');
  });
});
