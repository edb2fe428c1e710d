/**
 * Memory figures: the process's peak RSS and heap, and whether a training step allocates in steady
 * state.
 *
 * Allocation per step: after warm-up steps, a full GC (gc() exposed at run time through
 * v8.setFlagsFromString, so no node flag is needed), then N steps with heapUsed and arrayBuffers read
 * before and after. If no GC ran during the N steps (counted with a PerformanceObserver on 'gc'
 * entries), the growth divided by N is the bytes each step allocates — JS heap objects and
 * ArrayBuffers (typed-array storage) separately. A final gc() then shows what stayed reachable
 * (retained bytes per step: a leak if not ~0).
 */
import { PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface StepAllocation {
  readonly steps: number;
  /** JS heap bytes allocated per step (valid when gcsDuringSteps is 0). */
  readonly heapBytesPerStep: number;
  /** ArrayBuffer bytes allocated per step (typed-array storage). */
  readonly arrayBufferBytesPerStep: number;
  /** Heap + ArrayBuffer bytes still reachable after a full GC, per step. */
  readonly retainedBytesPerStep: number;
  readonly gcsDuringSteps: number;
}

export interface ProcessMemory {
  /** process.resourceUsage().maxRSS, in bytes (Node reports kilobytes). */
  readonly peakRssBytes: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly arrayBuffersBytes: number;
  readonly externalBytes: number;
}

let gcFn: (() => void) | null = null;

/** The V8 gc() function, made available without --expose-gc. */
export function fullGc(): void {
  if (gcFn === null) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
}

export function processMemory(): ProcessMemory {
  const m = process.memoryUsage();
  return {
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    rssBytes: m.rss,
    heapUsedBytes: m.heapUsed,
    heapTotalBytes: m.heapTotal,
    arrayBuffersBytes: m.arrayBuffers,
    externalBytes: m.external,
  };
}

/** Measure what `step()` allocates: `warmSteps` untimed steps, then `steps` measured ones. */
export async function measureStepAllocation(step: () => void, warmSteps: number, steps: number): Promise<StepAllocation> {
  for (let i = 0; i < warmSteps; i++) step();
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage();
  for (let i = 0; i < steps; i++) step();
  const after = process.memoryUsage();
  // Let the observer receive the gc entries of the measured steps before counting them.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gcsDuringSteps = gcs;
  observer.disconnect();
  fullGc();
  const retained = process.memoryUsage();
  return {
    steps,
    heapBytesPerStep: Math.max(0, (after.heapUsed - before.heapUsed) / steps),
    arrayBufferBytesPerStep: Math.max(0, (after.arrayBuffers - before.arrayBuffers) / steps),
    retainedBytesPerStep: Math.max(0, (retained.heapUsed + retained.arrayBuffers - before.heapUsed - before.arrayBuffers) / steps),
    gcsDuringSteps,
  };
}
