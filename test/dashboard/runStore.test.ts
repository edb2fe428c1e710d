/**
 * The server's memory of a run (scripts/dashboard/runStore.ts) and the run folder's stats.jsonl
 * (statsFile.ts): bounded by thinning, steps that go back replace what followed, the snapshot a new
 * page gets, compact numbers, and a file read back with its torn last line ignored.
 */
import { describe, expect, it } from 'vitest';
import type { RunMessage, StepsMessage } from '../../scripts/dashboard/protocol.js';
import { RunStore } from '../../scripts/dashboard/runStore.js';
import { compactJson, parseStatsFile } from '../../scripts/dashboard/statsFile.js';

const RUN: RunMessage = { type: 'run', version: 1, name: 'r', title: 't', kind: 'train', summary: '', layers: [], percentiles: [50], statsEvery: 1 };

function steps(from: number, to: number): StepsMessage {
  const step = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  const col = step.map((s) => s / 10);
  return { type: 'steps', step, epoch: step.map(() => 1), samples: step, seconds: col, loss: col, accuracy: col, lr: col, gradNorm: col, samplesPerSecond: col };
}

const keptSteps = (store: RunStore): number[] => {
  const m = store.snapshot().find((e) => e.type === 'steps');
  return m?.type === 'steps' ? [...m.step] : [];
};

describe('RunStore', () => {
  it('keeps every point up to the limit, then every second one (old and new alike)', () => {
    const store = new RunStore(RUN, { maxPoints: 8, maxLayerRecords: 4 });
    expect(store.add(steps(1, 8))).toMatchObject({ step: [1, 2, 3, 4, 5, 6, 7, 8] });
    const kept = store.add(steps(9, 12));
    expect(kept).toMatchObject({ step: [9, 10, 11, 12] });
    expect(keptSteps(store)).toEqual([1, 3, 5, 7, 9, 11]);
    // The stride is now 2: of 13..16 only every second one is kept and passed on.
    expect(store.add(steps(13, 16))).toMatchObject({ step: [13, 15] });
    expect(store.counts().steps).toBe(8);
  });

  it('steps that go back (a resumed run) replace the kept ones from there on', () => {
    const store = new RunStore(RUN);
    store.add(steps(1, 10));
    store.add({ type: 'epoch', epoch: 1, step: 10, trainLoss: 1, trainAccuracy: null, testLoss: null, testAccuracy: null, seconds: 1 });
    store.add({ type: 'layers', step: 10, layers: [] });
    store.add(steps(7, 8));
    store.add({ type: 'layers', step: 8, layers: [] });
    store.add({ type: 'epoch', epoch: 1, step: 8, trainLoss: 2, trainAccuracy: null, testLoss: null, testAccuracy: null, seconds: 1 });
    expect(keptSteps(store)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(store.snapshot().map((e) => e.type)).toEqual(['run', 'steps', 'epoch', 'layers']);
    expect(store.snapshot()).toContainEqual(expect.objectContaining({ type: 'epoch', trainLoss: 2 }));
  });

  it('a missing column (online κ) reads as nulls', () => {
    const store = new RunStore({ ...RUN, kind: 'online' });
    store.add({ type: 'window', seen: [1, 2], windowAccuracy: [1, 0.5], windowLoss: [0, 1], cumulativeAccuracy: [1, 0.5], cumulativeLoss: [0, 1] });
    expect(store.snapshot()[1]).toMatchObject({ type: 'window', seen: [1, 2], kappa: [null, null] });
  });
});

describe('stats.jsonl', () => {
  it('writes 7 significant digits, integers as they are, non-finite numbers as null', () => {
    expect(compactJson({ a: 0.123456789, b: 123456789, c: NaN, d: -Infinity, e: [1e-12 / 3] })).toBe('{"a":0.1234568,"b":123456789,"c":null,"d":null,"e":[3.333333e-13]}');
  });

  it('reads the events back, ignoring a torn last line, and names a bad line by file:line', () => {
    const good = `${compactJson(RUN)}\n${compactJson(steps(1, 2))}\n`;
    expect(parseStatsFile(`${good}{"type":"ste`, 'stats.jsonl').map((e) => e.type)).toEqual(['run', 'steps']);
    expect(() => parseStatsFile(`${good}{"type":"ste\n${good}`, 'runs/a/stats.jsonl')).toThrow('runs/a/stats.jsonl:3: not a JSON line');
    expect(() => parseStatsFile(`${good}{"type":"nope"}\n`, 's')).toThrow('s:3: not a dashboard event (expected an object whose "type" is one of run, steps, epoch, layers, window, drift, done)');
    expect(() => parseStatsFile(`${compactJson(steps(1, 2))}\n`, 's')).toThrow('s:1: the first line must be the "run" event, got "steps"');
    expect(() => parseStatsFile('', 's')).toThrow('s: empty (no "run" line)');
  });
});
