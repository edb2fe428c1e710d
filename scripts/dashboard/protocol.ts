/**
 * The dashboard's messages: what the server sends the page over server-sent events (`event: <type>`,
 * `data: <json>`), and — the same objects without `run`, one JSON object a line — what a run folder's
 * `stats.jsonl` holds (docs/dashboard.md). The page draws exactly these; a producer (train, online,
 * a replayed folder) only has to emit them.
 *
 * Numbers that are not finite are written as null (JSON has no NaN). Steps are the optimizer's
 * 1-based update counts; `seen` counts rows of an online stream.
 * No imports: the page (scripts/dashboard/page/) compiles this file too.
 */

/** A layer with parameters, as the dashboard lists it. */
export interface LayerInfo {
  /** The layer's index in the model (0-based, as `deltaflow inspect` numbers it). */
  readonly index: number;
  readonly kind: string;
  /** `conv2d 6×5×5`, `dense 120`… */
  readonly label: string;
  /** Parameter names, e.g. ['W', 'b']. */
  readonly params: readonly string[];
}

/** `run`: who the run is; first message of every run (and first line of stats.jsonl). */
export interface RunMessage {
  readonly type: 'run';
  /** Format of stats.jsonl. */
  readonly version: 1;
  /** The run folder (or a name for a run without one). */
  readonly name: string;
  readonly title: string;
  readonly kind: 'train' | 'online';
  /** The model summary, as `deltaflow inspect` prints it. */
  readonly summary: string;
  readonly layers: readonly LayerInfo[];
  /** The percentiles every distribution lists, e.g. TensorBoard's [0, 6.68, 15.87, 30.85, 50, 69.15, 84.13, 93.32, 100]. */
  readonly percentiles: readonly number[];
  /** Layer statistics are taken every this many steps. */
  readonly statsEvery: number;
}

/** `steps`: per-step scalars, as columns of equal length (a batch of consecutive steps). */
export interface StepsMessage {
  readonly type: 'steps';
  readonly step: readonly number[];
  readonly epoch: readonly (number | null)[];
  readonly samples: readonly (number | null)[];
  /** Wall-clock seconds since training started. */
  readonly seconds: readonly (number | null)[];
  readonly loss: readonly (number | null)[];
  readonly accuracy: readonly (number | null)[];
  readonly lr: readonly (number | null)[];
  /** Global L2 norm of the step's averaged gradients, before clipping. */
  readonly gradNorm: readonly (number | null)[];
  readonly samplesPerSecond: readonly (number | null)[];
}

/** `epoch`: an epoch's end, with its test figures when there is test data. */
export interface EpochMessage {
  readonly type: 'epoch';
  readonly epoch: number;
  /** The last step of the epoch. */
  readonly step: number;
  readonly trainLoss: number | null;
  readonly trainAccuracy: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
  readonly seconds: number;
}

/** A distribution of values: the run's percentiles (in RunMessage order), mean, std, and the non-finite count. */
export interface DistributionStat {
  readonly p: readonly (number | null)[];
  readonly mean: number | null;
  readonly std: number | null;
  readonly nonFinite: number;
}

/** One layer's statistics at a step. */
export interface LayerStat {
  readonly layer: number;
  /** Per parameter name: the parameter's values after the step's update. */
  readonly weights: Readonly<Record<string, DistributionStat>>;
  /** Per parameter name: the step's gradients, averaged over the batch (∂C/∂W, ∂C/∂b). */
  readonly grads: Readonly<Record<string, DistributionStat>>;
  /** The δ = ∂C/∂y arriving at the layer's output, over the batch. */
  readonly delta: DistributionStat | null;
}

/** `layers`: the statistics of every layer with parameters at one step (taken every `statsEvery` steps). */
export interface LayersMessage {
  readonly type: 'layers';
  readonly step: number;
  readonly layers: readonly LayerStat[];
}

/**
 * `window` (online runs): prequential metrics as columns over the rows seen. `kappa` (Cohen's κ of the
 * window) may be absent or hold nulls when the producer does not compute it.
 */
export interface WindowMessage {
  readonly type: 'window';
  readonly seen: readonly number[];
  readonly windowAccuracy: readonly (number | null)[];
  readonly windowLoss: readonly (number | null)[];
  readonly cumulativeAccuracy: readonly (number | null)[];
  readonly cumulativeLoss: readonly (number | null)[];
  readonly kappa?: readonly (number | null)[];
}

/** `drift` (online runs): a drift detector fired at row `seen`; drawn as a vertical marker. */
export interface DriftMessage {
  readonly type: 'drift';
  readonly seen: number;
  /** e.g. 'ADWIN', 'DDM', 'Page-Hinkley'. */
  readonly detector?: string;
  /** A short text shown with the marker. */
  readonly message?: string;
}

/** `done`: the run ended. */
export interface DoneMessage {
  readonly type: 'done';
  readonly status: 'done' | 'failed' | 'stopped';
  readonly steps: number;
  readonly seconds: number;
  readonly trainLoss: number | null;
  readonly testLoss: number | null;
  readonly testAccuracy: number | null;
  /** The error line of a failed run. */
  readonly error?: string;
}

/** `control`: the server's live settings (sent on connect and after a change). */
export interface ControlMessage {
  readonly type: 'control';
  /** Whether the settings can be changed (a live run; a replay cannot). */
  readonly isLive: boolean;
  readonly statsEvery: number;
}

/** Everything a run's producer emits (and stats.jsonl holds). */
export type RunEvent = RunMessage | StepsMessage | EpochMessage | LayersMessage | WindowMessage | DriftMessage | DoneMessage;

/** A message on the wire: a run's event with the run's index, or the server's control settings. */
export type WireMessage = (RunEvent & { readonly run: number }) | ControlMessage;

