/**
 * The end-to-end section of the bench: the same CSV file to a trained model — deltaflow's CLI
 * (`deltaflow train`, a fresh process per pass, as a user runs it) against PyTorch + pandas
 * (torch_e2e.py) — beside deltaflow's in-memory throughput with the same settings, so the cost of
 * reading from CSV shows as a ratio.
 *
 *   data      `rows` MNIST digits as CSV (label + 784 integer pixels; bench/csvIngest.ts), one file
 *   job       one epoch, batch 64, plain SGD lr 0.05, file order (`--shuffle 0`), W1 (the mlp preset
 *             784-128-64-10) and W2 (the lenet preset), `--workers` 1 and 2 (PyTorch: 1 and 2 threads)
 *   systems   cli-Nw           deltaflow train (CSV parsed on its own thread: --csv-thread auto)
 *             cli-Nw-inline    the same with --csv-thread off (parsing on the training thread)
 *             torch-Nt         pandas.read_csv + PyTorch, N threads (OpenBLAS 1)
 *             memory-Nw        deltaflow's train() on the digits held in memory, 40,000 samples per
 *                              pass (bench/deltaflowRunner.ts, one warm process)
 *
 * Schedule: `passes` rounds; in each round every system of a workload runs once, the order rotated
 * by one each round, so slow and fast phases of a shared machine spread over all of them. A rate is
 * samples ÷ seconds of reading and training: the CLI's own figure (its `--json` epoch line: the
 * epoch's wall time, CSV reading included; start-up, set-up and the writing of the run folder
 * excluded), PyTorch's read + train time; the process wall time (all included) is kept too. Ratios
 * are medians of same-round ratios.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { machineBusySeconds } from './cpuLoad.js';
import type { Digits } from './data.js';
import { DeltaflowRunner } from './deltaflowRunner.js';
import { table } from './report.js';
import { fmt, fmtSpread, spread, type Spread } from './stats.js';
import { PYTHON, benchScript } from './systems.js';
import { BATCH, LEARNING_RATE, type WorkloadId } from './workloads.js';

export interface EndToEndOptions {
  readonly file: string;
  readonly rows: number;
  readonly passes: number;
  readonly workers: readonly number[];
  readonly workloads: readonly WorkloadId[];
  /** Why PyTorch cannot run, or null. */
  readonly torchReason: string | null;
  readonly hasTorch: boolean;
  readonly digits: Digits;
  readonly hasWasm: boolean;
  readonly log: (line: string) => void;
}

/** One pass of one system. */
export interface EndToEndPass {
  readonly round: number;
  /** samples ÷ seconds of reading + training. */
  readonly samplesPerSecond: number;
  /** Wall seconds of the process, start-up included (null for the in-memory runs). */
  readonly wallSeconds: number | null;
  /** Of PyTorch: the seconds of pandas.read_csv and the conversion to tensors. */
  readonly readSeconds?: number;
  /** Cores the whole machine kept busy meanwhile (/proc/stat), when known. */
  readonly machineCores: number | null;
  readonly loadAverage: number;
}

export interface EndToEndSystem {
  readonly id: string;
  readonly label: string;
  readonly workers: number;
  status: 'ok' | 'failed' | 'skipped';
  reason?: string;
  readonly passes: EndToEndPass[];
  samplesPerSecond?: Spread;
  wallSeconds?: Spread;
}

export interface EndToEndWorkload {
  readonly workload: WorkloadId;
  readonly systems: EndToEndSystem[];
  /** Same-round ratios of rates: `a ÷ b` keyed `a/b`. */
  readonly ratios: Record<string, Spread>;
}

export interface EndToEndResult {
  readonly rows: number;
  readonly bytes: number;
  readonly workloads: EndToEndWorkload[];
  readonly loadAverage: { readonly start: number; readonly end: number };
}

/** What one child process reported. */
interface ChildRun {
  readonly samples: number;
  readonly seconds: number;
  readonly wallSeconds: number;
  readonly readSeconds?: number;
}

function cliPath(): string {
  const p = fileURLToPath(new URL('../cli.js', import.meta.url));
  if (!existsSync(p)) throw new Error(`${p} not found: the end-to-end bench runs the built CLI (npm run build)`);
  return p;
}

/** Runs a process to its end; resolves with its stdout, rejects with the tail of its stderr. */
function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<{ stdout: string; wallSeconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      const wallSeconds = (performance.now() - t0) / 1000;
      if (code === 0) resolve({ stdout, wallSeconds });
      else reject(new Error(`${command} exited with ${code}: ${stderr.trim().split('\n').slice(-2).join(' / ')}`));
    });
  });
}

/** The arguments of `deltaflow train` for the job (see the file comment). */
export function trainArgs(workload: WorkloadId, file: string, workers: number, out: string, isInline: boolean): string[] {
  return [
    'train', '--data', file, '--classes', '10', '--scale', '1/255',
    '--model', workload === 'W1' ? 'mlp' : 'lenet', ...(workload === 'W1' ? ['--hidden', '128,64'] : ['--shape', '1,28,28']),
    '--epochs', '1', '--batch', String(BATCH), '--optimizer', 'sgd', '--lr', String(LEARNING_RATE), '--lr-schedule', 'constant',
    '--shuffle', '0', '--workers', String(workers), '--json', '--out', out, ...(isInline ? ['--csv-thread', 'off'] : []),
  ];
}

/** The samples and seconds of a `--json` line of deltaflow train: the done line, or (`type` epoch) the epoch lines summed. */
export function jsonLineTotals(stdout: string, type: 'done' | 'epoch'): { samples: number; seconds: number } {
  const lines = stdout.split('\n').filter((l) => l.startsWith('{') && l.includes(`"type":"${type}"`));
  if (lines.length === 0) throw new Error(`no ${type} line in the output of deltaflow train: ${stdout.slice(-200)}`);
  let samples = 0;
  let seconds = 0;
  for (const line of type === 'done' ? lines.slice(-1) : lines) {
    const doc: unknown = JSON.parse(line);
    const get = (k: string): number => {
      const v = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>)[k] : undefined;
      if (typeof v !== 'number') throw new Error(`deltaflow train's ${type} line has no number "${k}": ${line}`);
      return v;
    };
    samples += get('samples');
    seconds += get('seconds');
  }
  return { samples, seconds };
}

async function runCli(workload: WorkloadId, file: string, workers: number, isInline: boolean): Promise<ChildRun> {
  const out = mkdtempSync(join(tmpdir(), 'deltaflow-e2e-run-'));
  try {
    const r = await run(process.execPath, [cliPath(), ...trainArgs(workload, file, workers, join(out, 'run'), isInline)], process.env);
    return { ...jsonLineTotals(r.stdout, 'epoch'), wallSeconds: r.wallSeconds };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

async function runTorch(workload: WorkloadId, file: string, threads: number): Promise<ChildRun> {
  const env = { ...process.env, OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = await run(PYTHON, [benchScript('torch_e2e.py'), '--data', file, '--workload', workload, '--threads', String(threads), '--batch', String(BATCH), '--lr', String(LEARNING_RATE)], env);
  const line = r.stdout.split('\n').find((l) => l.startsWith('@@ '));
  if (line === undefined) throw new Error(`torch_e2e.py printed no result: ${r.stdout.slice(-200)}`);
  const m = JSON.parse(line.slice(3)) as { readSeconds?: number; trainSeconds?: number; samples?: number; error?: string };
  if (m.error !== undefined || m.readSeconds === undefined || m.trainSeconds === undefined || m.samples === undefined) throw new Error(`torch_e2e.py: ${m.error ?? line}`);
  return { samples: m.samples, seconds: m.readSeconds + m.trainSeconds, readSeconds: m.readSeconds, wallSeconds: r.wallSeconds };
}

interface Plan {
  readonly system: EndToEndSystem;
  readonly pass: () => Promise<ChildRun>;
  readonly close?: () => Promise<void>;
}

async function plansOf(workload: WorkloadId, o: EndToEndOptions): Promise<Plan[]> {
  const plans: Plan[] = [];
  const sys = (id: string, label: string, workers: number): EndToEndSystem => ({ id, label, workers, status: 'ok', passes: [] });
  for (const w of o.workers) {
    plans.push({ system: sys(`cli-${w}w`, `deltaflow train, --workers ${w}`, w), pass: () => runCli(workload, o.file, w, false) });
    plans.push({ system: sys(`cli-${w}w-inline`, `deltaflow train, --workers ${w} --csv-thread off`, w), pass: () => runCli(workload, o.file, w, true) });
    const torch = sys(`torch-${w}t`, `PyTorch + pandas, ${w} thread${w > 1 ? 's' : ''}`, w);
    if (!o.hasTorch) {
      torch.status = 'skipped';
      torch.reason = o.torchReason ?? 'not asked for';
      plans.push({ system: torch, pass: () => Promise.reject(new Error('skipped')) });
    } else {
      plans.push({ system: torch, pass: () => runTorch(workload, o.file, w) });
    }
    const memory = new DeltaflowRunner({ workload, digits: o.digits, workers: w, hasWasm: o.hasWasm });
    await memory.start();
    // Warm: the CLI compiles afresh each pass, but its steady state is what the in-memory rate is compared with.
    await memory.run(Math.ceil(o.rows / BATCH / 4));
    plans.push({
      system: sys(`memory-${w}w`, `deltaflow train() in memory, workers ${w}`, w),
      pass: async () => {
        const r = await memory.run(Math.ceil(o.rows / BATCH));
        return { samples: r.samples, seconds: r.seconds, wallSeconds: NaN };
      },
      close: () => memory.close(),
    });
  }
  return plans;
}

/** Same-round ratios `a ÷ b` of two systems' rates. */
function roundRatio(a: EndToEndSystem | undefined, b: EndToEndSystem | undefined): Spread | null {
  if (a === undefined || b === undefined) return null;
  const pairs = a.passes.flatMap((p) => {
    const q = b.passes.find((x) => x.round === p.round);
    return q === undefined ? [] : [p.samplesPerSecond / q.samplesPerSecond];
  });
  return pairs.length === 0 ? null : spread(pairs);
}

async function benchOne(workload: WorkloadId, o: EndToEndOptions): Promise<EndToEndWorkload> {
  const plans = await plansOf(workload, o);
  const live = plans.filter((p) => p.system.status === 'ok');
  for (let round = 0; round < o.passes; round++) {
    const order = live.map((_, i) => live[(i + round) % live.length]);
    for (const p of order) {
      if (p.system.status !== 'ok') continue;
      const busy0 = machineBusySeconds();
      const t0 = performance.now();
      try {
        const r = await p.pass();
        const wall = (performance.now() - t0) / 1000;
        const busy1 = machineBusySeconds();
        const rate = r.samples / r.seconds;
        p.system.passes.push({
          round,
          samplesPerSecond: rate,
          wallSeconds: Number.isFinite(r.wallSeconds) ? r.wallSeconds : null,
          ...(r.readSeconds === undefined ? {} : { readSeconds: r.readSeconds }),
          machineCores: busy0 === null || busy1 === null ? null : (busy1 - busy0) / wall,
          loadAverage: loadavg()[0],
        });
        o.log(`e2e ${workload} round ${round}: ${p.system.id} ${rate.toFixed(0)} samples/s${Number.isFinite(r.wallSeconds) ? ` (process ${r.wallSeconds.toFixed(2)} s)` : ''}`);
      } catch (e) {
        p.system.status = 'failed';
        p.system.reason = e instanceof Error ? e.message : String(e);
        o.log(`e2e ${workload} ${p.system.id}: failed: ${p.system.reason}`);
      }
    }
  }
  for (const p of plans) await p.close?.().catch(() => undefined);
  const systems = plans.map((p) => p.system);
  for (const s of systems) {
    if (s.passes.length === 0) continue;
    s.samplesPerSecond = spread(s.passes.map((p) => p.samplesPerSecond));
    const walls = s.passes.flatMap((p) => (p.wallSeconds === null ? [] : [p.wallSeconds]));
    if (walls.length > 0) s.wallSeconds = spread(walls);
  }
  const byId = (id: string): EndToEndSystem | undefined => systems.find((s) => s.id === id && s.passes.length > 0);
  const ratios: Record<string, Spread> = {};
  const add = (a: string, b: string): void => {
    const r = roundRatio(byId(a), byId(b));
    if (r !== null) ratios[`${a}/${b}`] = r;
  };
  for (const w of o.workers) {
    add(`cli-${w}w`, `memory-${w}w`);
    add(`cli-${w}w-inline`, `memory-${w}w`);
    add(`cli-${w}w`, `cli-${w}w-inline`);
    add(`cli-${w}w`, `torch-${w}t`);
  }
  for (const w of o.workers.filter((w) => w > 1)) {
    add(`cli-${w}w`, 'cli-1w');
    add(`memory-${w}w`, 'memory-1w');
  }
  return { workload, systems, ratios };
}

/** Runs the section on `o.file` (written by the caller: bench/csvIngest.ts writeDigitsCsv). */
export async function benchEndToEnd(o: EndToEndOptions, bytes: number): Promise<EndToEndResult> {
  const start = loadavg()[0];
  const out: EndToEndWorkload[] = [];
  for (const w of o.workloads) out.push(await benchOne(w, o));
  return { rows: o.rows, bytes, workloads: out, loadAverage: { start, end: loadavg()[0] } };
}

const RATIO_NAMES: Readonly<Record<string, string>> = {
  memory: 'in memory',
  inline: '--csv-thread off',
};

function ratioLabel(key: string): string {
  const [a, b] = key.split('/');
  const name = (id: string): string => {
    const m = /^(cli|memory|torch)-(\d+)[wt](-inline)?$/.exec(id);
    if (m === null) return id;
    const n = m[2];
    if (m[1] === 'torch') return `PyTorch ${n}t`;
    if (m[1] === 'memory') return `${RATIO_NAMES.memory} ${n}w`;
    return `CLI ${n}w${m[3] === undefined ? '' : ` ${RATIO_NAMES.inline}`}`;
  };
  return `${name(a)} ÷ ${name(b)}`;
}

export function endToEndReport(r: EndToEndResult): string {
  const parts = [`### End to end: ${r.rows.toLocaleString('en-US')} MNIST rows from CSV (${fmt(r.bytes / 1e6)} MB), one epoch, batch 64, SGD, file order (load average ${r.loadAverage.start.toFixed(2)} → ${r.loadAverage.end.toFixed(2)})`];
  for (const w of r.workloads) {
    const rows = w.systems.map((s) => {
      if (s.samplesPerSecond === undefined) return [s.label, `**${s.status}**: ${s.reason ?? ''}`, '', '', ''];
      const cores = spread(s.passes.flatMap((p) => (p.machineCores === null ? [] : [p.machineCores])));
      const read = spread(s.passes.flatMap((p) => (p.readSeconds === undefined ? [] : [p.readSeconds])));
      return [
        s.label + (s.status === 'ok' ? '' : ` (${s.status}: ${s.reason ?? ''})`),
        fmtSpread(s.samplesPerSecond),
        s.wallSeconds === undefined ? '' : fmtSpread(s.wallSeconds) + (read.n > 0 ? ` (read_csv ${fmt(read.median)})` : ''),
        cores.n > 0 ? fmt(cores.median) : '',
        String(s.passes.length),
      ];
    });
    const ratioRows = Object.entries(w.ratios).map(([k, v]) => [ratioLabel(k), fmtSpread(v)]);
    parts.push(
      '',
      `#### ${w.workload === 'W1' ? 'W1 MLP 784-128-64-10' : 'W2 LeNet-5'}`,
      '',
      table(['system', 'samples/s, reading + training, median (min – max)', 'process wall s', 'machine cores busy', 'passes'], rows),
      '',
      table(['same-round ratio', 'median (min – max)'], ratioRows),
    );
  }
  return parts.join('\n');
}
