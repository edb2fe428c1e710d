import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { generate } from '../../../../src/streams/sources/generators/generate.js';
import { generateRows } from '../../../../src/streams/sources/generators/generateRows.js';

describe('generate (Observable of Samples)', () => {
  it('emits one Sample per row: float32 attributes, one-hot target, label, origin as the CSV would have it', async () => {
    const options = { rows: 50, driftAt: [25], noise: 0.2, seed: 26, classes: 3 };
    const samples = await lastValueFrom(generate('rbf', options).pipe(toArray()));
    const rows = [...generateRows('rbf', options)];
    expect(samples).toHaveLength(50);
    samples.forEach((s, t) => {
      expect(s.x).toEqual(Float32Array.from(rows[t].x));
      expect(s.label).toBe(rows[t].label);
      expect(Array.from(s.target)).toEqual([0, 1, 2].map((c) => (c === rows[t].label ? 1 : 0)));
      expect(s.origin).toEqual({ source: 'rbf', line: t + 2, record: t, endOffset: t + 1 });
    });
  });

  it('each subscription replays the same stream, from row 0', async () => {
    const stream = generate('sea', { rows: 20, seed: 27 });
    const a = await lastValueFrom(stream.pipe(toArray()));
    const b = await lastValueFrom(stream.pipe(toArray()));
    expect(b).toEqual(a);
    expect(b[0].origin.record).toBe(0);
  });

  it('an endless stream stops when the subscriber has enough', async () => {
    const first = await lastValueFrom(generate('hyperplane', { seed: 28 }).pipe(take(1000), toArray()));
    expect(first).toHaveLength(1000);
    expect((await firstValueFrom(generate('hyperplane', { seed: 28 }))).x).toEqual(first[0].x);
  });

  it('checks its options when called, before any subscription', () => {
    expect(() => generate('sea', { noise: 2 })).toThrow('generate(sea): option "noise" must be a number in [0, 1], got 2');
  });
});
