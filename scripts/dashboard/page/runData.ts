/**
 * The page's copy of each run: the messages of protocol.ts folded into arrays the charts read.
 * A `run` message (re)starts a run's data (a reconnect sends the whole run again); steps, windows,
 * epochs and layer records that go back replace what the page had from there on.
 */
import type { DoneMessage, DriftMessage, EpochMessage, LayersMessage, RunMessage, WireMessage } from '../protocol.js';

export type StepColumns = {
  step: number[];
  epoch: (number | null)[];
  samples: (number | null)[];
  seconds: (number | null)[];
  loss: (number | null)[];
  accuracy: (number | null)[];
  lr: (number | null)[];
  gradNorm: (number | null)[];
  samplesPerSecond: (number | null)[];
};

export type WindowColumns = {
  seen: number[];
  windowAccuracy: (number | null)[];
  windowLoss: (number | null)[];
  cumulativeAccuracy: (number | null)[];
  cumulativeLoss: (number | null)[];
  kappa: (number | null)[];
};

export interface RunData {
  info: RunMessage;
  steps: StepColumns;
  windows: WindowColumns;
  epochs: EpochMessage[];
  layers: LayersMessage[];
  drifts: DriftMessage[];
  done: DoneMessage | null;
}

function newRun(info: RunMessage): RunData {
  return {
    info,
    steps: { step: [], epoch: [], samples: [], seconds: [], loss: [], accuracy: [], lr: [], gradNorm: [], samplesPerSecond: [] },
    windows: { seen: [], windowAccuracy: [], windowLoss: [], cumulativeAccuracy: [], cumulativeLoss: [], kappa: [] },
    epochs: [],
    layers: [],
    drifts: [],
    done: null,
  };
}

/** Append `incoming` columns to `kept` (same keys), first dropping kept points at or past the first new x. */
function appendColumns<C extends Record<string, (number | null)[]>>(kept: C, xKey: keyof C, incoming: Partial<Record<keyof C, readonly (number | null)[]>>): void {
  const xs = incoming[xKey];
  if (xs === undefined || xs.length === 0) return;
  const first = xs[0] ?? -Infinity;
  const keptX = kept[xKey];
  let n = keptX.length;
  while (n > 0 && (keptX[n - 1] ?? -Infinity) >= first) n--;
  for (const key of Object.keys(kept) as (keyof C)[]) {
    kept[key].length = n;
    const values = incoming[key];
    for (let i = 0; i < xs.length; i++) kept[key].push(values?.[i] ?? null);
  }
}

/** Fold one message into `runs`; returns false for a message of a run the page has not been told about. */
export function applyMessage(runs: RunData[], m: WireMessage): boolean {
  if (m.type === 'control') return true;
  if (m.type === 'run') {
    runs[m.run] = newRun(m);
    return true;
  }
  const r = runs[m.run];
  if (r === undefined) return false;
  switch (m.type) {
    case 'steps':
      appendColumns(r.steps, 'step', m);
      break;
    case 'window':
      appendColumns(r.windows, 'seen', m);
      break;
    case 'epoch':
      r.epochs = r.epochs.filter((e) => e.epoch < m.epoch);
      r.epochs.push(m);
      break;
    case 'layers':
      r.layers = r.layers.filter((l) => l.step < m.step);
      r.layers.push(m);
      break;
    case 'drift':
      r.drifts.push(m);
      break;
    case 'done':
      r.done = m;
      break;
  }
  return true;
}

/** The run's final test accuracy: its end's, else its last epoch's (null without test data). */
export function finalTestAccuracy(r: RunData): number | null {
  if (r.done !== null && r.done.testAccuracy !== null) return r.done.testAccuracy;
  for (let i = r.epochs.length - 1; i >= 0; i--) if (r.epochs[i].testAccuracy !== null) return r.epochs[i].testAccuracy;
  return null;
}
