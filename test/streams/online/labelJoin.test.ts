import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LabelJoin, type LabelJoinCounters } from '../../../src/streams/online/labelJoin.js';

const zero: LabelJoinCounters = { predicted: 0, labelled: 0, duplicateIds: 0, unknownIds: 0, duplicateLabels: 0, expired: 0, neverLabelled: 0 };

describe('LabelJoin', () => {
  it('maxWait 2: a label 2 arrivals late joins, 3 arrivals late the item has expired (hand-computed)', () => {
    const join = new LabelJoin<string>({ maxWait: 2 });
    // arrival 0: a recorded at t=0
    expect(join.predicted('a', 'A')).toBe(true);
    expect(join.tick()).toEqual([]); // now 1, a waited 1
    // arrival 1: b at t=1
    expect(join.predicted('b', 'B')).toBe(true);
    expect(join.tick()).toEqual([]); // now 2, a waited 2 (= maxWait, still waiting)
    // arrival 2: c at t=2; the label of a arrives (2 arrivals late): joined
    expect(join.predicted('c', 'C')).toBe(true);
    expect(join.labelled('a')).toBe('A');
    expect(join.tick()).toEqual([]); // now 3: a forgotten (it was labelled), b waited 2
    // arrival 3: no prediction of its own; b has waited 3 > 2 at this tick
    expect(join.tick()).toEqual(['B']); // now 4
    expect(join.labelled('b')).toBeNull(); // expired → unknown id
    expect(join.pending).toBe(1);
    expect(join.drain()).toEqual(['C']);
    expect(join.counters).toEqual({ ...zero, predicted: 3, labelled: 1, unknownIds: 1, expired: 1, neverLabelled: 1 });
    expect(join.pending).toBe(0);
  });

  it('maxWait 0: the label must come before the next tick', () => {
    const join = new LabelJoin<number>({ maxWait: 0 });
    join.predicted('x', 1);
    expect(join.labelled('x')).toBe(1);
    join.predicted('y', 2);
    expect(join.tick()).toEqual([2]);
    expect(join.labelled('y')).toBeNull();
    expect(join.counters).toEqual({ ...zero, predicted: 2, labelled: 1, expired: 1, unknownIds: 1 });
  });

  it('a delay of N rows (label of row i revealed at arrival i + N) joins every row with maxWait N and none with N − 1', () => {
    const run = (maxWait: number, delay: number, rows: number): LabelJoinCounters => {
      const join = new LabelJoin<number>({ maxWait });
      const joined: number[] = [];
      for (let i = 0; i < rows; i++) {
        join.predicted(`r${i}`, i);
        if (i - delay >= 0) {
          const p = join.labelled(`r${i - delay}`);
          if (p !== null) joined.push(p);
        }
        join.tick();
      }
      join.drain();
      if (maxWait >= delay) expect(joined).toEqual(Array.from({ length: rows - delay }, (_, i) => i));
      return join.counters;
    };
    expect(run(3, 3, 10)).toEqual({ ...zero, predicted: 10, labelled: 7, neverLabelled: 3 });
    // With maxWait 2 each row expires at the tick before its label: 10 − 2 expire by the end… and 2 are left.
    expect(run(2, 3, 10)).toEqual({ ...zero, predicted: 10, expired: 8, unknownIds: 7, neverLabelled: 2 });
  });

  it('duplicates: a waiting id is refused, a second label is a duplicate label, an unseen id is unknown', () => {
    const join = new LabelJoin<string>({ maxWait: 5 });
    expect(join.predicted('a', 'first')).toBe(true);
    expect(join.predicted('a', 'second')).toBe(false);
    expect(join.labelled('a')).toBe('first');
    expect(join.labelled('a')).toBeNull();
    expect(join.labelled('zzz')).toBeNull();
    expect(join.counters).toEqual({ ...zero, predicted: 1, labelled: 1, duplicateIds: 1, duplicateLabels: 1, unknownIds: 1 });
  });

  it('an id may be used again once labelled; its old queue entry does not expire the new one', () => {
    const join = new LabelJoin<string>({ maxWait: 1 });
    join.predicted('a', 'A1'); // t=0
    expect(join.labelled('a')).toBe('A1');
    join.tick(); // now 1
    expect(join.predicted('a', 'A2')).toBe(true); // t=1
    expect(join.tick()).toEqual([]); // now 2: the t=0 entry is dropped, A2 waited 1
    expect(join.isWaiting('a')).toBe(true);
    expect(join.tick()).toEqual(['A2']); // now 3: A2 waited 2 > 1
    expect(join.counters).toEqual({ ...zero, predicted: 2, labelled: 1, expired: 1 });
  });

  it('checkIds: the first id already waiting or repeated, counted, nothing recorded', () => {
    const join = new LabelJoin<number>({ maxWait: 10 });
    join.predicted('a', 0);
    expect(join.checkIds(['b', 'c', 'd'])).toBe(-1);
    expect(join.checkIds(['b', 'a', 'c'])).toBe(1);
    expect(join.checkIds(['b', 'c', 'b'])).toBe(2);
    expect(join.pending).toBe(1);
    expect(join.isWaiting('b')).toBe(false);
    expect(join.counters.duplicateIds).toBe(2);
  });

  it('rejects a negative or fractional maxWait', () => {
    expect(() => new LabelJoin({ maxWait: -1 })).toThrow('LabelJoin: maxWait must be a non-negative integer (arrivals), got -1');
    expect(() => new LabelJoin({ maxWait: 1.5 })).toThrow('LabelJoin: maxWait must be a non-negative integer (arrivals), got 1.5');
  });

  it('memory stays bounded by maxWait however few labels come, and the books always balance', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 20 }),
        fc.array(fc.record({ predict: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }), labels: fc.array(fc.integer({ min: 0, max: 60 }), { maxLength: 3 }) }), { maxLength: 300 }),
        (maxWait, arrivals) => {
          const join = new LabelJoin<number>({ maxWait });
          // A slow model of the join: id → arrival time while waiting.
          const waiting = new Map<string, number>();
          let now = 0;
          for (const a of arrivals) {
            if (a.predict !== undefined) {
              const id = `r${a.predict}`;
              const isNew = !waiting.has(id);
              expect(join.predicted(id, now)).toBe(isNew);
              if (isNew) waiting.set(id, now);
            }
            for (const l of a.labels) {
              const id = `r${l}`;
              const t = waiting.get(id);
              expect(join.labelled(id)).toBe(t ?? null);
              waiting.delete(id);
            }
            now++;
            const expired = [...waiting].filter(([, t]) => now - t > maxWait);
            expired.forEach(([id]) => waiting.delete(id));
            expect(join.tick()).toEqual(expired.map(([, t]) => t).sort((x, y) => x - y));
            expect(join.pending).toBe(waiting.size);
            expect(join.pending).toBeLessThanOrEqual(maxWait + 1);
          }
          const c = join.counters;
          expect(c.predicted).toBe(c.labelled + c.expired + join.pending);
          expect(join.drain().length).toBe(waiting.size);
        },
      ),
      { numRuns: 300 },
    );
  });
});
