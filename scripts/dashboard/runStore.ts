/**
 * What the dashboard server remembers of one run, so a page opened (or reloaded) at any time gets the
 * whole run so far: its `run` message, the step scalars, epochs, layer statistics, online windows,
 * drift markers and its end (protocol.ts).
 *
 * Memory is bounded: step scalars and online windows keep at most `maxPoints` points, layer
 * statistics at most `maxLayerRecords`; past that, every second kept point is dropped and from then
 * on only every second new one is kept (the stride doubles), so a long run keeps an even thinning of
 * its whole history. `add` returns what was kept of an event — what the server passes on to pages.
 *
 * Steps that go back (a resumed run appends to its stats.jsonl after the checkpoint's step, while the
 * file may hold later steps of the run that was stopped) replace what was kept from that step on.
 */
import type { DoneMessage, DriftMessage, EpochMessage, LayersMessage, RunEvent, RunMessage, StepsMessage, WindowMessage } from './protocol.js';

export interface RunStoreLimits {
  readonly maxPoints: number;
  readonly maxLayerRecords: number;
}

export const DEFAULT_LIMITS: RunStoreLimits = { maxPoints: 20_000, maxLayerRecords: 2_000 };

type Column = (number | null)[];
type Columns<K extends string> = Record<K, Column>;

function columnsOf<K extends string>(keys: readonly K[]): Columns<K> {
  const out = {} as Columns<K>;
  for (const k of keys) out[k] = [];
  return out;
}

/** Points over an increasing x (step, or rows seen) with named y columns of the same length, thinned past `max`. */
class Series<K extends string> {
  x: number[] = [];
  ys: Columns<K>;
  private stride = 1;
  private incoming = 0;

  constructor(
    private readonly keys: readonly K[],
    private readonly max: number,
  ) {
    this.ys = columnsOf(keys);
  }

  /** Keeps the points the stride lets in; returns them (null when none). A missing column reads as nulls. */
  add(x: readonly number[], ys: Readonly<Partial<Record<K, readonly (number | null)[]>>>): { x: number[]; ys: Columns<K> } | null {
    if (x.length === 0) return null;
    if (this.x.length > 0 && x[0] <= this.x[this.x.length - 1]) this.truncateFrom(x[0]);
    const taken: number[] = [];
    for (let i = 0; i < x.length; i++) if (this.incoming++ % this.stride === 0) taken.push(i);
    if (taken.length === 0) return null;
    const out = { x: taken.map((i) => x[i]), ys: columnsOf(this.keys) };
    this.x.push(...out.x);
    for (const k of this.keys) {
      const source = ys[k];
      out.ys[k] = taken.map((i) => source?.[i] ?? null);
      this.ys[k].push(...out.ys[k]);
    }
    if (this.x.length > this.max) {
      const even = <T>(_: T, i: number): boolean => i % 2 === 0;
      this.x = this.x.filter(even);
      for (const k of this.keys) this.ys[k] = this.ys[k].filter(even);
      this.stride *= 2;
    }
    return out;
  }

  private truncateFrom(from: number): void {
    let n = this.x.length;
    while (n > 0 && this.x[n - 1] >= from) n--;
    this.x.length = n;
    for (const k of this.keys) this.ys[k].length = n;
  }
}

const STEP_KEYS = ['epoch', 'samples', 'seconds', 'loss', 'accuracy', 'lr', 'gradNorm', 'samplesPerSecond'] as const;
type StepKey = (typeof STEP_KEYS)[number];
const WINDOW_KEYS = ['windowAccuracy', 'windowLoss', 'cumulativeAccuracy', 'cumulativeLoss', 'kappa'] as const;
type WindowKey = (typeof WINDOW_KEYS)[number];

const stepsMessage = (p: { x: number[]; ys: Columns<StepKey> }): StepsMessage => ({ type: 'steps', step: p.x, ...p.ys });
const windowMessage = (p: { x: number[]; ys: Columns<WindowKey> }): WindowMessage => ({ type: 'window', seen: p.x, ...p.ys });

export class RunStore {
  run: RunMessage;
  private readonly steps: Series<StepKey>;
  private readonly windows: Series<WindowKey>;
  private epochs: EpochMessage[] = [];
  private layers: LayersMessage[] = [];
  private layerStride = 1;
  private layersIncoming = 0;
  private drifts: DriftMessage[] = [];
  done: DoneMessage | null = null;

  constructor(
    run: RunMessage,
    private readonly limits: RunStoreLimits = DEFAULT_LIMITS,
  ) {
    this.run = run;
    this.steps = new Series<StepKey>(STEP_KEYS, limits.maxPoints);
    this.windows = new Series<WindowKey>(WINDOW_KEYS, limits.maxPoints);
  }

  /** Remember `event`; returns what was kept of it, to pass on (null: nothing new). */
  add(event: RunEvent): RunEvent | null {
    switch (event.type) {
      case 'run':
        this.run = event;
        return event;
      case 'steps': {
        const kept = this.steps.add(event.step, event);
        return kept === null ? null : stepsMessage(kept);
      }
      case 'window': {
        const kept = this.windows.add(event.seen, event);
        return kept === null ? null : windowMessage(kept);
      }
      case 'epoch':
        this.epochs = this.epochs.filter((e) => e.epoch < event.epoch);
        this.epochs.push(event);
        return event;
      case 'layers':
        return this.addLayers(event);
      case 'drift':
        if (this.drifts.length >= this.limits.maxPoints) return null;
        this.drifts.push(event);
        return event;
      case 'done':
        this.done = event;
        return event;
    }
  }

  private addLayers(event: LayersMessage): LayersMessage | null {
    const last = this.layers[this.layers.length - 1];
    if (last !== undefined && event.step <= last.step) this.layers = this.layers.filter((l) => l.step < event.step);
    if (this.layersIncoming++ % this.layerStride !== 0) return null;
    this.layers.push(event);
    if (this.layers.length > this.limits.maxLayerRecords) {
      this.layers = this.layers.filter((_, i) => i % 2 === 0);
      this.layerStride *= 2;
    }
    return event;
  }

  /** The run so far, as the messages a page opened now needs, in order. */
  snapshot(): RunEvent[] {
    const out: RunEvent[] = [this.run];
    if (this.steps.x.length > 0) out.push(stepsMessage(this.steps));
    if (this.windows.x.length > 0) out.push(windowMessage(this.windows));
    out.push(...this.epochs, ...this.layers, ...this.drifts);
    if (this.done !== null) out.push(this.done);
    return out;
  }

  /** Points kept: step scalars, online windows, layer records. */
  counts(): { steps: number; windows: number; layers: number; epochs: number } {
    return { steps: this.steps.x.length, windows: this.windows.x.length, layers: this.layers.length, epochs: this.epochs.length };
  }
}
