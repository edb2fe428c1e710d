/**
 * The live dashboard of one run, as `train --dashboard` and `online --dashboard` use it: a server
 * (server.ts) over one RunStore, the layer statistics probe (layerStats.ts), and the run folder's
 * stats.jsonl (statsFile.ts). The command hands it its events through a narrow interface:
 *
 *   const dash = await startDashboard({ flags, choice, name, title, kind: 'train', statsPath, log });
 *   fit(model, { …, internals: dash.internals });
 *   dash.onStep(e);  dash.onEpoch(e, lastStep);  …  await dash.finish({ status: 'done', … });  await dash.close();
 *
 * Rates: step scalars are buffered and sent (and written) as one `steps` batch every 250 ms, so a
 * fast run costs the page a few messages a second; layer statistics are taken every `--stats-every`
 * steps (a page may change it, POST /api/control). Nothing here blocks the training thread: the
 * server writes to sockets, the file is an append stream.
 */
import type { EpochEvent } from '../../src/streams/training/fit.js';
import type { StepMetrics } from '../../src/streams/training/applyOptimizer.js';
import type { Internals } from '../../src/streams/training/internals.js';
import type { PrequentialMetrics } from '../../src/streams/online/prequential.js';
import { summary } from '../commands/inspect.js';
import type { ModelChoice } from '../commands/models.js';
import type { DashboardFlags } from './dashboardOptions.js';
import { cpuMs } from './cpuTime.js';
import { layerStatsProbe } from './layerStats.js';
import type { DoneMessage, DriftMessage, RunEvent, RunMessage, StepsMessage, WindowMessage } from './protocol.js';
import { RunStore } from './runStore.js';
import { startDashboardServer } from './server.js';
import { openStatsFile, type StatsWriter } from './statsFile.js';

const FLUSH_MS = 250;

export interface StartDashboardOptions {
  readonly flags: DashboardFlags;
  readonly choice: ModelChoice;
  /** The run folder, or a name. */
  readonly name: string;
  readonly title: string;
  readonly kind: 'train' | 'online';
  /** Where to keep the run's events (the run folder's stats.jsonl); null: nowhere. */
  readonly statsPath: string | null;
  /** Updates already applied (a resumed run). */
  readonly startStep?: number;
  /** One line for the user (stderr). */
  readonly log: (line: string) => void;
}

/** An online run's windowed metrics; `kappa` when the run computes it. */
export type OnlineWindow = PrequentialMetrics & { readonly kappa?: number | null };

export interface LiveDashboard {
  readonly url: string;
  /** Pass to fit / train / prequential as `internals`. */
  readonly internals: Internals;
  /** A training step's metrics (fit's step events). */
  onStep(e: StepMetrics): void;
  /** An epoch's end; `step` is its last step. */
  onEpoch(e: EpochEvent, step: number): void;
  /** An online run's prequential metrics after each update. */
  onWindow(m: OnlineWindow): void;
  /** A drift detection of an online run. */
  onDrift(d: Omit<DriftMessage, 'type'>): void;
  /** The run's end: sent to the pages and written, before close(). */
  finish(done: Omit<DoneMessage, 'type'>): void;
  /** Flush, close the file and the server (open pages keep what they drew). */
  close(): Promise<void>;
  /** CPU milliseconds the dashboard has used on this (the training) thread: statistics, events, file and sockets. */
  busyMs(): number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };

function emptySteps(): Mutable<StepsMessage> {
  return { type: 'steps', step: [], epoch: [], samples: [], seconds: [], loss: [], accuracy: [], lr: [], gradNorm: [], samplesPerSecond: [] };
}

function emptyWindows(): Mutable<WindowMessage> & { kappa: (number | null)[] } {
  return { type: 'window', seen: [], windowAccuracy: [], windowLoss: [], cumulativeAccuracy: [], cumulativeLoss: [], kappa: [] };
}

/**
 * Start the dashboard of a run and print its URL.
 *
 * @example const dash = await startDashboard({ flags, choice, name: run.dir, title, kind: 'train', statsPath: join(run.dir, 'stats.jsonl'), log });
 */
export async function startDashboard(options: StartDashboardOptions): Promise<LiveDashboard> {
  const { flags, choice } = options;
  const probe = layerStatsProbe(choice.model, flags.statsEvery, options.startStep ?? 0);
  const run: RunMessage = {
    type: 'run',
    version: 1,
    name: options.name,
    title: options.title,
    kind: options.kind,
    summary: summary(choice),
    layers: probe.layers,
    percentiles: probe.percentiles,
    statsEvery: flags.statsEvery,
  };
  const store = new RunStore(run);
  const control = { statsEvery: flags.statsEvery };
  const server = await startDashboardServer({
    host: flags.host,
    port: flags.port,
    token: flags.token ?? null,
    stores: [store],
    control,
    onControl: (c) => {
      probe.every = c.statsEvery;
    },
  }).catch((e: unknown) => {
    probe.close();
    const code = e instanceof Error && 'code' in e ? e.code : undefined;
    if (code === 'EADDRINUSE') throw new Error(`dashboard: port ${flags.port} is in use; pass --port N (0 picks a free one)`);
    throw e;
  });
  const file: StatsWriter | null = options.statsPath === null ? null : openStatsFile(options.statsPath);

  let emitMs = 0;
  const emit = (event: RunEvent): void => {
    const t0 = cpuMs();
    file?.write(event);
    const kept = store.add(event);
    if (kept !== null) server.send(0, kept);
    emitMs += cpuMs() - t0;
  };
  emit(run);

  const start = performance.now();
  let steps = emptySteps();
  let windows = emptyWindows();
  let queued: RunEvent[] = [];
  let updates = options.startStep ?? 0;
  const flush = (): void => {
    if (steps.step.length > 0) {
      const batch = steps;
      steps = emptySteps();
      emit(batch);
    }
    if (windows.seen.length > 0) {
      const batch = windows;
      windows = emptyWindows();
      emit(batch);
    }
    const events = queued;
    queued = [];
    for (const e of events) emit(e);
  };
  const timer = setInterval(flush, FLUSH_MS);
  timer.unref();
  options.log(`dashboard: ${server.url} (layer statistics every ${flags.statsEvery} steps${file === null ? '' : `, kept in ${file.path}`})`);

  let isClosed = false;
  return {
    url: server.url,
    internals: probe.internals,
    onStep(e) {
      steps.step.push(e.step);
      steps.epoch.push(e.epoch ?? null);
      steps.samples.push(e.samples);
      steps.seconds.push((performance.now() - start) / 1000);
      steps.loss.push(e.loss);
      steps.accuracy.push(e.accuracy);
      steps.lr.push(e.lr);
      steps.gradNorm.push(e.gradNorm);
      steps.samplesPerSecond.push(e.samplesPerSecond);
      updates = e.step;
      const layers = probe.takeStep(e.step);
      if (layers !== null) queued.push(layers);
    },
    onEpoch(e, step) {
      flush();
      emit({
        type: 'epoch', epoch: e.epoch, step, trainLoss: e.trainLoss, trainAccuracy: e.trainAccuracy,
        testLoss: e.test?.loss ?? null, testAccuracy: e.test?.accuracy ?? null, seconds: (performance.now() - start) / 1000,
      });
    },
    onWindow(m) {
      windows.seen.push(m.seen);
      windows.windowAccuracy.push(m.windowAccuracy);
      windows.windowLoss.push(m.windowLoss);
      windows.cumulativeAccuracy.push(m.cumulativeAccuracy);
      windows.cumulativeLoss.push(m.cumulativeLoss);
      windows.kappa.push(m.kappa ?? null);
      updates++;
      const layers = probe.takeStep(updates);
      if (layers !== null) queued.push(layers);
    },
    onDrift(d) {
      queued.push({ type: 'drift', ...d });
    },
    finish(done) {
      flush();
      emit({ type: 'done', ...done });
    },
    busyMs: () => emitMs + probe.busyMs,
    async close() {
      if (isClosed) return;
      isClosed = true;
      clearInterval(timer);
      flush();
      probe.close();
      await Promise.all([file?.close(), server.close()]);
    },
  };
}
