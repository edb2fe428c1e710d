/**
 * The gradient pool's wait (parallelBackprop.ts, gradientWorker.ts): until `cell[index]` differs from
 * `seen`, poll it for up to `spinMs`, then block in Atomics.wait for up to `waitMs` more.
 *
 * Why poll first: a step of a small network lasts well under a millisecond, and waking a thread
 * blocked in Atomics.wait goes through the kernel (a futex wake, then a reschedule), which costs tens
 * to hundreds of microseconds per hand-over — each step hands over twice (the main thread wakes the
 * workers, the workers wake the main thread). A thread that is still polling when the value changes
 * sees it within a few hundred nanoseconds, and Atomics.notify then finds nobody asleep. Polling
 * burns the core it runs on, so it is bounded by `spinMs`, and the pool polls at all only when every
 * thread has a core of its own (see `spinBudgetMs`).
 *
 *   Waited.polled    the value changed while polling
 *   Waited.slept     it changed while (or just before) sleeping in Atomics.wait
 *   Waited.timedOut  `spinMs + waitMs` passed without a change (a spurious wake-up with the value
 *                    unchanged counts as a time-out: the caller loops)
 *
 * SpinBudget adapts `spinMs` to how long the waits last, so a busy machine does not pay for polls that
 * never see the value change.
 */

import { availableParallelism } from 'node:os';

/** How long a pool thread polls before it sleeps, in ms: long enough to cover the main thread's work between two steps. */
export const SPIN_MS = 0.5;

/**
 * The poll budget for a pool of `threads` threads (the main thread and its workers): SPIN_MS when
 * each has a core of its own, else 0 — a polling thread on a shared core only delays the one it waits for.
 */
export function spinBudgetMs(threads: number, cores = availableParallelism()): number {
  return threads <= cores ? SPIN_MS : 0;
}

/** How a wait ended: the value changed while polling, or after sleeping, or not at all. */
export const Waited = { polled: 0, slept: 1, timedOut: 2 } as const;
export type Waited = (typeof Waited)[keyof typeof Waited];

/** Poll `cell[index]` while it equals `seen`, for up to `spinMs`, then Atomics.wait up to `waitMs`; says how it ended. */
export function spinThenWait(cell: Int32Array, index: number, seen: number, spinMs: number, waitMs: number): Waited {
  if (Atomics.load(cell, index) !== seen) return Waited.polled;
  if (spinMs > 0) {
    const end = performance.now() + spinMs;
    for (let polls = 1; ; polls++) {
      if (Atomics.load(cell, index) !== seen) return Waited.polled;
      // the clock is read once in 64 polls: a poll is a few ns, a clock read some tens
      if ((polls & 63) === 0 && performance.now() >= end) break;
    }
  }
  Atomics.wait(cell, index, seen, waitMs);
  return Atomics.load(cell, index) !== seen ? Waited.slept : Waited.timedOut;
}

/**
 * A waiter's poll budget that follows how long its waits last. After a wait that took `elapsedMs`:
 * within `maxMs` (a poll of the full budget would have seen the change), the budget doubles, up to
 * `maxMs`; longer (the machine is busy and the other thread waits for a core, or the work between
 * steps outlasts the budget), polling only burnt a core that the other thread may have needed, and
 * the budget drops to a quarter, down to `FLOOR_MS`. So on a busy machine, where a good share of the
 * waits are long, it stays near the floor and the waiter sleeps at once, as it would without
 * polling; a few quick waits in a row bring the full budget back when the machine quietens.
 */
export class SpinBudget {
  static readonly FLOOR_MS = 0.02;
  ms: number;
  constructor(readonly maxMs: number) {
    this.ms = maxMs;
  }

  /** Record that a wait (polled with `this.ms`, then slept as needed) saw the change after `elapsedMs`. */
  record(elapsedMs: number): void {
    if (this.maxMs <= 0) return;
    this.ms = elapsedMs <= this.maxMs ? Math.min(this.maxMs, 2 * this.ms) : Math.max(SpinBudget.FLOOR_MS, this.ms / 4);
  }
}
