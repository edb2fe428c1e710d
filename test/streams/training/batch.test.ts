import { from, lastValueFrom, toArray } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { sealBuffer } from '../../../src/ops/sealedBuffers.js';
import { batch } from '../../../src/streams/training/batch.js';
import type { Batch, Sample } from '../../../src/streams/types.js';
import { sample } from '../samples.js';

const a = sample([1, 2], 0, 2);
const b = sample([3, 4], 1, 3);
const c = sample([5, 6], 1, 4);
const d = sample([7, 8], 0, 5);
const e = sample([9, 10], 1, 6);

function packed(samples: Sample[]): Batch {
  return {
    x: { data: Float32Array.from(samples.flatMap((s) => [...s.x])), shape: [samples.length, 2] },
    target: { data: Float32Array.from(samples.flatMap((s) => [...s.target])), shape: [samples.length, 2] },
    labels: Int32Array.from(samples.map((s) => s.label)),
    m: samples.length,
    origins: samples.map((s) => s.origin),
  };
}

describe('batch', () => {
  let scheduler: TestScheduler;
  beforeEach(() => {
    scheduler = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  it('size 2 over 5 samples: two full batches, then the partial batch of 1 at completion', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a, b, c, d, e });
      const subs = '       ^----------!';
      const expected = '   ---x---y---(z|)';
      expectObservable(source.pipe(batch(2))).toBe(expected, { x: packed([a, b]), y: packed([c, d]), z: packed([e]) });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('an empty source gives no batch', () => {
    scheduler.run(({ cold, expectObservable }) => {
      const source = cold<Sample>('---|');
      const expected = '   ---|';
      expectObservable(source.pipe(batch(2))).toBe(expected);
    });
  });

  it('early unsubscribe drops the pending samples and unsubscribes the source', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-d-e-|', { a, b, c, d, e });
      const unsub = '      ------!';
      const subs = '       ^-----!';
      const expected = '   ---x---';
      expectObservable(source.pipe(batch(2)), unsub).toBe(expected, { x: packed([a, b]) });
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('forwards a source error; the pending partial batch is not emitted', () => {
    scheduler.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-a-b-c-#', { a, b, c }, new Error('EIO'));
      const subs = '       ^------!';
      const expected = '   ---x---#';
      expectObservable(source.pipe(batch(2))).toBe(expected, { x: packed([a, b]) }, new Error('EIO'));
      expectSubscriptions(source.subscriptions).toBe(subs);
    });
  });

  it('a row with the wrong feature count errors with its file:line', async () => {
    const bad = sample([1, 2, 3], 0, 9);
    await expect(lastValueFrom(from([a, bad]).pipe(batch(2)))).rejects.toThrow(
      'batch: row at data.csv:9: expected shape [2] (2 features), got 3 features',
    );
  });

  it('regression rows (label -1) give labels null; mixing them with classes is an error naming the row', async () => {
    const r1 = sample([1, 2], -1, 2, 1);
    const r2 = sample([3, 4], -1, 3, 1);
    const [only] = await lastValueFrom(from([r1, r2]).pipe(batch(4), toArray()));
    expect(only.labels).toBeNull();
    expect(only.m).toBe(2);
    const c1 = sample([1, 2], 0, 4, 1);
    await expect(lastValueFrom(from([r1, c1]).pipe(batch(2)))).rejects.toThrow(
      'batch: row at data.csv:4 has label 0, but the batch started with regression rows (label -1)',
    );
  });

  it('shape option gives image batches [m, c, h, w]', async () => {
    const img = sample([1, 2, 3, 4], 0, 2);
    const [only] = await lastValueFrom(from([img, img]).pipe(batch(8, { shape: [1, 2, 2] }), toArray()));
    expect(only.x.shape).toEqual([2, 1, 2, 2]);
  });

  it('batches are fresh arrays (holding one is safe)', async () => {
    const all = await lastValueFrom(from([a, b, c, d]).pipe(batch(2), toArray()));
    expect(all[0].x.data).not.toBe(all[1].x.data);
    expect(Array.from(all[0].x.data)).toEqual([1, 2, 3, 4]);
  });

  it('rows that are views of shared blocks (in order, out of order, across blocks) pack exactly as owned rows', async () => {
    // Two blocks of 5 rows × 3 features; the rows come in runs, with a gap, a step back and a switch of block.
    const blocks = [0, 1].map((k) => Float32Array.from({ length: 15 }, (_, i) => 100 * k + i));
    const targets = [0, 1].map((k) => Float32Array.from({ length: 10 }, (_, i) => 10 * k + i));
    const order: [number, number][] = [[0, 0], [0, 1], [0, 2], [0, 4], [1, 0], [1, 1], [0, 3], [1, 2], [1, 3], [1, 4]];
    const views: Sample[] = order.map(([k, r], i) => ({
      x: blocks[k].subarray(3 * r, 3 * r + 3),
      target: targets[k].subarray(2 * r, 2 * r + 2),
      label: (k + r) % 2,
      origin: { source: 'blocks', line: i + 2, record: i, endOffset: 0 },
    }));
    const owned = views.map((s) => ({ ...s, x: s.x.slice(), target: s.target.slice() }));
    for (const size of [1, 3, 4, 10]) {
      const got = await lastValueFrom(from(views).pipe(batch(size), toArray()));
      const want = await lastValueFrom(from(owned).pipe(batch(size), toArray()));
      expect(got).toEqual(want);
      expect(Array.from(got[0].x.data.subarray(0, 3))).toEqual([0, 1, 2]);
    }
  });

  it('a batch whose rows lie one after another in a sealed block is a view of it; views of any other buffer are copied', async () => {
    const rowsOf = (x: Float32Array, t: Float32Array): Sample[] =>
      [0, 1, 2, 3].map((r) => ({ x: x.subarray(3 * r, 3 * r + 3), target: t.subarray(2 * r, 2 * r + 2), label: r % 2, origin: { source: 'b', line: r + 2, record: r, endOffset: 0 } }));
    const x = Float32Array.from({ length: 12 }, (_, i) => i);
    const t = Float32Array.from({ length: 8 }, (_, i) => i % 2);
    const owned = rowsOf(x.slice(), t.slice());

    // Not sealed (a user's array): copies, so writing the array later leaves the batch as it was.
    const user = Float32Array.from(x);
    const copied = await lastValueFrom(from(rowsOf(user, t.slice())).pipe(batch(2), toArray()));
    user.fill(-1);
    expect(copied).toEqual(await lastValueFrom(from(owned).pipe(batch(2), toArray())));

    // Sealed: batches of contiguous rows are views (same buffer, no copy) with the same values.
    const block = Float32Array.from(x);
    const targets = Float32Array.from(t);
    sealBuffer(block.buffer);
    sealBuffer(targets.buffer);
    for (const size of [1, 2, 4]) {
      const got = await lastValueFrom(from(rowsOf(block, targets)).pipe(batch(size), toArray()));
      expect(got).toEqual(await lastValueFrom(from(owned).pipe(batch(size), toArray())));
      for (const [k, b] of got.entries()) {
        expect(b.x.data.buffer).toBe(block.buffer);
        expect(b.x.data.byteOffset).toBe(4 * 3 * size * k);
        expect(b.target.data.buffer).toBe(targets.buffer);
      }
    }
    // Out of order, or from two blocks: copied, values unchanged.
    const rows = rowsOf(block, targets);
    const shuffled = [rows[1], rows[0], rows[2], rows[3]];
    const [first] = await lastValueFrom(from(shuffled).pipe(batch(4), toArray()));
    expect(first.x.data.buffer).not.toBe(block.buffer);
    expect(Array.from(first.x.data.subarray(0, 6))).toEqual([3, 4, 5, 0, 1, 2]);
  });

  it('rejects size 0', () => {
    expect(() => batch(0)).toThrow('batch: size must be a positive integer, got 0');
  });
});
