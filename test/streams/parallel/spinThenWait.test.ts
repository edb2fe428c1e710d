/**
 * spinThenWait and SpinBudget (src/streams/parallel/spinThenWait.ts): a change made by another thread
 * is seen while polling or, once the poll budget is spent, by a wake-up from Atomics.wait; a wait
 * with no change times out; the budget follows how long the waits last, within its bounds.
 */
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { SPIN_MS, SpinBudget, spinBudgetMs, spinThenWait, Waited } from '../../../src/streams/parallel/spinThenWait.js';

/** A thread that, `afterMs` after it starts, stores 1 in cell[0] and notifies (as a gradient worker or the main thread does). */
function storeLater(cell: Int32Array, afterMs: number): Promise<number> {
  const code = `
    const { workerData } = require('node:worker_threads');
    const cell = new Int32Array(workerData.sab);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, workerData.afterMs);
    Atomics.store(cell, 0, 1);
    Atomics.notify(cell, 0);`;
  const thread = new Worker(code, { eval: true, workerData: { sab: cell.buffer, afterMs } });
  return new Promise((resolve, reject) => {
    thread.once('error', reject);
    thread.once('exit', resolve);
  });
}

describe('spinThenWait', () => {
  it('a value that already changed is seen without waiting', () => {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    cell[0] = 3;
    expect(spinThenWait(cell, 0, 2, 1000, 1000)).toBe(Waited.polled);
  });

  it('sees a change made by another thread while it polls', async () => {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const exited = storeLater(cell, 20);
    // polls for up to 60 s, so only a missed change could make it sleep
    expect(spinThenWait(cell, 0, 0, 60_000, 60_000)).toBe(Waited.polled);
    expect(await exited).toBe(0);
  });

  it('after its poll budget, sleeps and is woken by the notify', async () => {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const exited = storeLater(cell, 300);
    const t0 = performance.now();
    expect(spinThenWait(cell, 0, 0, 1, 60_000)).toBe(Waited.slept);
    // woken by the store's notify, not by the 60 s limit
    expect(performance.now() - t0).toBeLessThan(30_000);
    expect(await exited).toBe(0);
  });

  it('with no change, times out after the poll and the wait', () => {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    const t0 = performance.now();
    expect(spinThenWait(cell, 0, 0, 20, 30)).toBe(Waited.timedOut);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(49);
    expect(spinThenWait(cell, 0, 0, 0, 0)).toBe(Waited.timedOut);
  });
});

describe('SpinBudget', () => {
  it('drops to a quarter after a wait longer than its maximum, down to its floor; doubles after a shorter one, up to the maximum', () => {
    const budget = new SpinBudget(1);
    expect(budget.ms).toBe(1);
    budget.record(5);
    expect(budget.ms).toBe(0.25);
    budget.record(1.5);
    expect(budget.ms).toBe(0.0625);
    for (let i = 0; i < 20; i++) budget.record(100);
    expect(budget.ms).toBe(SpinBudget.FLOOR_MS);
    // a wait of 0.3 ms: polling 1 ms would have caught it, though the floor's poll did not
    budget.record(0.3);
    expect(budget.ms).toBe(2 * SpinBudget.FLOOR_MS);
    for (let i = 0; i < 20; i++) budget.record(1);
    expect(budget.ms).toBe(1);
  });

  it('a budget of 0 never polls', () => {
    const budget = new SpinBudget(0);
    budget.record(0.1);
    budget.record(100);
    expect(budget.ms).toBe(0);
  });

  it('spinBudgetMs polls only when every thread has a core', () => {
    expect(spinBudgetMs(2, 2)).toBe(SPIN_MS);
    expect(spinBudgetMs(3, 2)).toBe(0);
    expect(spinBudgetMs(4, 8)).toBe(SPIN_MS);
  });
});
