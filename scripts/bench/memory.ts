/**
 * Memory figures: the process's peak RSS and heap, and whether a training step allocates in steady
 * state.
 *
 * Allocation per step: after warm-up steps, a full GC (gc() exposed at run time through
 * v8.setFlagsFromString, so no node flag is needed), then N steps, each with the heap's used size
 * read before and after (see measureStepAllocation), and the ArrayBuffer total (typed-array storage)
 * read around all N. GCs during the N steps are counted with a PerformanceObserver on 'gc' entries:
 * a step that allocates nothing causes none. A final gc() shows what stayed reachable (retained
 * bytes per step: a leak if not ~0).
 */
import type { HeapProfiler } from 'node:inspector';
import { Session } from 'node:inspector/promises';
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
  /** Where the allocations come from (top sites, innermost frame first). */
  readonly sites: readonly AllocationSite[];
}

export interface AllocationSite {
  /** Up to three frames, innermost first: `function file:line ← caller …`. */
  readonly site: string;
  readonly bytesPerStep: number;
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

interface Growth {
  /** Median over calls without a GC of the JS heap's growth across one call. */
  readonly heap: number;
  /** The same for the ArrayBuffer total (backing stores of typed arrays). */
  readonly arrayBuffers: number;
}

/** Per-call growth of `fn`, over calls during which no GC ran (a drop in either figure means one did). */
function medianGrowth(fn: () => void, calls: number): Growth {
  const heap: number[] = [];
  const buffers: number[] = [];
  for (let i = 0; i < calls; i++) {
    const m0 = process.memoryUsage();
    fn();
    const m1 = process.memoryUsage();
    const dh = m1.heapUsed - m0.heapUsed;
    const db = m1.arrayBuffers - m0.arrayBuffers;
    if (dh >= 0 && db >= 0) {
      heap.push(dh);
      buffers.push(db);
    }
  }
  const median = (xs: number[]): number => (xs.length > 0 ? [...xs].sort((a, b) => a - b)[xs.length >> 1] : NaN);
  return { heap: median(heap), arrayBuffers: median(buffers) };
}

/** Top allocation sites of `fn` (V8 sampling heap profiler, collected objects included), bytes per call. */
async function allocationSites(fn: () => void, calls: number, top: number): Promise<AllocationSite[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 512,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    for (let i = 0; i < calls; i++) fn();
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const bySite = new Map<string, number>();
    const walk = (node: ProfilerNode, frames: readonly string[]): void => {
      const f = node.callFrame;
      const here = [...frames, `${f.functionName || '(anonymous)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`];
      if (node.selfSize > 0) {
        const key = here.slice(-3).reverse().join(' ← ');
        bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
      }
      for (const c of node.children) walk(c, here);
    };
    walk(profile.head, []);
    return [...bySite]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([site, bytes]) => ({ site, bytesPerStep: bytes / calls }));
  } finally {
    session.disconnect();
  }
}

type ProfilerNode = HeapProfiler.SamplingHeapProfileNode;

/**
 * Measure what `step()` allocates: `warmSteps` untimed steps, then `steps` measured ones.
 *
 * Bytes per step = median over steps of the growth of heapUsed (JS objects) and of arrayBuffers
 * (typed-array storage) across one step, leaving out steps in which a GC ran (they show a drop),
 * minus the same figures for an empty function (the cost of reading them). Then the sampling heap
 * profiler names the sites that allocate most (`sites`).
 */
export async function measureStepAllocation(step: () => void, warmSteps: number, steps: number): Promise<StepAllocation> {
  for (let i = 0; i < warmSteps; i++) step();
  const empty = medianGrowth(() => undefined, 50);
  let gcs = 0;
  const observer = new PerformanceObserver((list) => {
    gcs += list.getEntries().length;
  });
  fullGc();
  await new Promise((resolve) => setImmediate(resolve));
  observer.observe({ entryTypes: ['gc'] });
  const before = process.memoryUsage();
  const perStep = medianGrowth(step, steps);
  // Let the observer receive the gc entries of the measured steps before counting them.
  await new Promise((resolve) => setTimeout(resolve, 20));
  const gcsDuringSteps = gcs;
  observer.disconnect();
  fullGc();
  const retained = process.memoryUsage();
  const sites = await allocationSites(step, Math.min(steps, 50), 5);
  return {
    steps,
    heapBytesPerStep: Math.max(0, perStep.heap - empty.heap),
    arrayBufferBytesPerStep: Math.max(0, perStep.arrayBuffers - empty.arrayBuffers),
    retainedBytesPerStep: Math.max(0, (retained.heapUsed + retained.arrayBuffers - before.heapUsed - before.arrayBuffers) / steps),
    gcsDuringSteps,
    sites,
  };
}
