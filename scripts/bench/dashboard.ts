/**
 * `npm run bench -- --only dashboard`: what the live dashboard costs training throughput.
 *
 * The workload is what `deltaflow train --dashboard` runs: LeNet-5 (the preset), batch 32, Adam,
 * one thread, one epoch over data/mnist-train.csv (8,000 rows) read by fromCsv per pass — reading
 * included, so the event loop turns as in a real run and the server really sends its events. Passes
 * alternate back to back (ABBA): plain `fit`, and `fit` with a live dashboard (the internals probe taking
 * layer statistics every `--stats-every` steps, default 10; step batches every 250 ms; the events
 * written to a stats.jsonl) and the page open in Debian's Chromium (an SSE client when Chromium is
 * missing). The overhead is 1 − the median over pairs of (dashboard samples/s ÷ plain samples/s);
 * since that ratio is only as steady as the machine, the report adds the dashboard's own time on the
 * training thread (its statistics, events, file and socket writes, in CPU time where they run) as a
 * share of the pass's CPU time — what it takes from training wherever the page is drawn.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Model } from '../../src/layers/sequential.js';
import { adam } from '../../src/ops/optimizers.js';
import { fromCsv } from '../../src/streams/sources/fromCsv.js';
import { fit } from '../../src/streams/training/fit.js';
import { softmaxCrossEntropy } from '../../src/streams/training/lossHead.js';
import { cpuMs } from '../dashboard/cpuTime.js';
import { DEFAULT_STATS_EVERY } from '../dashboard/dashboardOptions.js';
import { startDashboard, type LiveDashboard } from '../dashboard/startDashboard.js';
import { ensureMnistCsv } from '../prepareData.js';
import { buildPreset } from '../commands/models.js';
import { fmtSpread, spread } from './stats.js';

export interface DashboardBenchResult {
  readonly viewer: string;
  readonly statsEvery: number;
  readonly rows: number;
  /** samples/s of each pass, in the order run (plain, dashboard, plain, …). */
  readonly plain: readonly number[];
  readonly dashboard: readonly number[];
  /** dashboard ÷ plain, per pair. */
  readonly ratios: readonly number[];
  /** 1 − median(ratios). */
  readonly overhead: number;
  /** Per dashboard pass: the dashboard's own CPU time on the training thread ÷ the pass's CPU time (this process). */
  readonly threadShares: readonly number[];
  /** Per dashboard pass: the viewer's CPU time (all Chromium processes) ÷ the pass's wall time, in cores. */
  readonly viewerCores: readonly number[];
}

const lenet = (): ReturnType<typeof buildPreset> => buildPreset('lenet', { input: [1, 28, 28], outputs: 10, hidden: [], seed: 1 });

/** One epoch over the CSV, reporting each event to the dashboard as train.ts does; samples/s over the pass. */
async function passWithEvents(model: Model, csv: string, dash: LiveDashboard | null): Promise<{ rate: number; rows: number; threadShare: number; seconds: number }> {
  const start = performance.now();
  const cpuStart = cpuMs();
  const busyBefore = dash?.busyMs() ?? 0;
  let samples = 0;
  let lastStep = 0;
  await new Promise<void>((resolve, reject) => {
    fit(model, {
      trainSource: () => fromCsv(csv, { classes: 10, scale: 1 / 255, shape: [1, 28, 28] }),
      epochs: 1,
      batchSize: 32,
      loss: softmaxCrossEntropy(),
      optimizer: adam({ lr: 2e-3 }),
      ...(dash === null ? {} : { internals: dash.internals }),
    }).subscribe({
      next: (e) => {
        if (e.type === 'step') {
          samples = e.samples;
          lastStep = e.step;
          dash?.onStep(e);
        } else {
          dash?.onEpoch(e, lastStep);
        }
      },
      error: reject,
      complete: () => resolve(),
    });
  });
  const ms = performance.now() - start;
  return { rate: samples / (ms / 1000), rows: samples, seconds: ms / 1000, threadShare: ((dash?.busyMs() ?? 0) - busyBefore) / (cpuMs() - cpuStart) };
}

/** CPU milliseconds used so far by the processes whose command line mentions `marker` (Linux /proc). */
function processesCpuMs(marker: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
    } catch {
      // the process ended meanwhile
    }
  }
  return (ticks * 1000) / 100; // USER_HZ is 100 on Linux
}

interface Viewer {
  readonly name: string;
  /** CPU milliseconds the viewer has used so far (0 for the in-process SSE client, counted with training). */
  cpuMs(): number;
  close(): Promise<void>;
}

/** A page on the dashboard: Chromium when it is installed, else a plain SSE reader. */
async function openViewer(url: string): Promise<Viewer> {
  if (existsSync('/usr/bin/chromium')) {
    const { chromium } = await import('playwright-core');
    const profile = mkdtempSync(join(tmpdir(), 'deltaflow-bench-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
    const page = await context.newPage();
    await page.goto(url);
    return {
      name: 'the dashboard page in headless Chromium',
      cpuMs: () => processesCpuMs(profile),
      close: async () => {
        await context.close();
        rmSync(profile, { recursive: true, force: true });
      },
    };
  }
  const abort = new AbortController();
  const response = await fetch(`${url}events`, { signal: abort.signal });
  const reader = response.body?.getReader();
  void (async () => {
    try {
      for (;;) if ((await reader?.read())?.done !== false) break;
    } catch {
      // aborted
    }
  })();
  return { name: 'an SSE client (Chromium not installed)', cpuMs: () => 0, close: async () => abort.abort() };
}

/**
 * Alternate `passes` plain and dashboard passes.
 *
 * @example const r = await benchDashboard({ passes: 8, log: console.error }); dashboardReport(r);
 */
export async function benchDashboard(options: { readonly passes: number; readonly statsEvery?: number; readonly log: (line: string) => void }): Promise<DashboardBenchResult> {
  const statsEvery = options.statsEvery ?? DEFAULT_STATS_EVERY;
  const files = await ensureMnistCsv();
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-bench-dashboard-'));
  const plainModel = lenet().model;
  const choice = lenet();
  const dash = await startDashboard({
    flags: { dashboard: true, port: 0, host: '127.0.0.1', statsEvery },
    choice,
    name: 'bench',
    title: 'bench: LeNet, batch 32, adam',
    kind: 'train',
    statsPath: join(dir, 'stats.jsonl'),
    log: () => undefined,
  });
  const viewer = await openViewer(dash.url);
  const plain: number[] = [];
  const dashboard: number[] = [];
  const threadShares: number[] = [];
  const viewerCores: number[] = [];
  let rows = 0;
  try {
    // Warm-up: one of each (kernels, JIT, the page's first draw).
    await passWithEvents(plainModel, files.train, null);
    await passWithEvents(choice.model, files.train, dash);
    for (let i = 0; i < options.passes; i++) {
      // ABBA order, so a machine speeding up or slowing down over a pair favours neither side.
      const isPlainFirst = i % 2 === 0;
      const v0 = viewer.cpuMs();
      const first = await passWithEvents(isPlainFirst ? plainModel : choice.model, files.train, isPlainFirst ? null : dash);
      const v1 = viewer.cpuMs();
      const second = await passWithEvents(isPlainFirst ? choice.model : plainModel, files.train, isPlainFirst ? dash : null);
      const v2 = viewer.cpuMs();
      const [a, b] = isPlainFirst ? [first, second] : [second, first];
      // The viewer's CPU over the dashboard pass.
      viewerCores.push((isPlainFirst ? v2 - v1 : v1 - v0) / 1000 / b.seconds);
      plain.push(a.rate);
      dashboard.push(b.rate);
      threadShares.push(b.threadShare);
      rows = a.rows;
      options.log(`dashboard bench pair ${i + 1}/${options.passes}: plain ${a.rate.toFixed(0)} samples/s, with the dashboard ${b.rate.toFixed(0)} (${((b.rate / a.rate - 1) * 100).toFixed(1)} %; the dashboard's own time on the training thread ${(100 * b.threadShare).toFixed(2)} %)`);
    }
  } finally {
    await viewer.close();
    await dash.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const ratios = plain.map((p, i) => dashboard[i] / p);
  return { viewer: viewer.name, statsEvery, rows, plain, dashboard, ratios, overhead: 1 - spread(ratios).median, threadShares, viewerCores };
}

export function dashboardReport(r: DashboardBenchResult): string {
  const fmt = (xs: readonly number[]): string => fmtSpread(spread(xs));
  return [
    `### Dashboard overhead — LeNet-5, batch 32, Adam, 1 thread, ${r.rows} CSV rows a pass; layer statistics every ${r.statsEvery} steps; viewer: ${r.viewer}`,
    '',
    '| passes | samples/s median (min – max) |',
    '| --- | --- |',
    `| plain fit | ${fmt(r.plain)} |`,
    `| fit with the dashboard open | ${fmt(r.dashboard)} |`,
    '',
    `throughput overhead: ${(100 * r.overhead).toFixed(1)} % (1 − median of ${r.ratios.length} same-pair ratios; per pair: ${r.ratios.map((x) => `${((1 - x) * 100).toFixed(1)}`).join(', ')} %)`,
    `the page's CPU (${r.viewer}): ${(100 * spread(r.viewerCores).median).toFixed(1)} % of a core while the run trains (median; it competes with training only on a machine without a free core)`,
    `the dashboard's own CPU time in the training process (statistics, events, stats.jsonl, sockets): ${(100 * spread(r.threadShares).median).toFixed(2)} % of each pass's CPU time (median; max ${(100 * spread(r.threadShares).max).toFixed(2)} %)`,
  ].join('\n');
}
