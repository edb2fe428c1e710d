/**
 * `npm run bench -- --only scaleout` and `--only hosts`: data parallelism over processes on Redis
 * against the same data parallelism over threads, measured end to end with the CLI.
 *
 * scaleout  On this machine, for LeNet and the MLP at batch 64 and 256: `deltaflow train --workers 2`
 *           (two threads: slice 0 on the main thread, slice 1 on a gradient thread) and `deltaflow
 *           train --redis URL --procs 2` (the coordinator computing slice 0, one worker process slice 1,
 *           on a loopback redis-server), passes alternated A, B, A, B… so a change in the
 *           machine's load hits both. A pass is five epochs over the first R MNIST digits; its figures
 *           are the second epoch's samples per second (the first includes the workers' start) and
 *           the fifth's (the steady state: the JIT is still compiling in the second). The
 *           report gives medians, the B/A ratios, the per-step time of each and where B's went
 *           (serialization, Redis round trips, waiting for the remote slices after its own, from
 *           workers.json), with the load average before and after.
 * hosts     Redis, the coordinator and two workers (--no-local-slice: the workers compute both slices,
 *           so every slice crosses the links) as four hosts: network namespaces joined by veth
 *           pairs to a bridge (iproute2; needs root). One-way delays of 0, 1 and 5 ms are added with
 *           netem where the kernel has it, else by a delaying TCP relay in Redis's namespace
 *           (delayRelay.ts), and the step time is measured for each. Namespaces, links and processes
 *           are removed at the end (by name for the namespaces it created, by PID for processes).
 *
 * The bytes a step moves are printed next to the times, so docs/scale-out.md's model can be checked.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureMnistCsv } from '../prepareData.js';
import { fmt, spread, type Spread } from './stats.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
const RELAY = fileURLToPath(new URL('./delayRelay.js', import.meta.url));
const MODELS = { lenet: ['--model', 'lenet', '--shape', '1,28,28'], mlp: ['--model', 'mlp'] } as const;
type ModelName = keyof typeof MODELS;

export interface ScaleOutCase {
  readonly model: ModelName;
  readonly batch: number;
  /** Samples per second of the second epoch, per pass. */
  readonly threads: Spread;
  readonly procs: Spread;
  readonly ratio: number;
  /** The same of the last epoch (ScaleOutResult.epochs): the steady state. */
  readonly steadyThreads: Spread;
  readonly steadyProcs: Spread;
  readonly steadyRatio: number;
  readonly stepMsThreads: number;
  readonly stepMsProcs: number;
  /** Per step of the --procs runs (medians over passes): coordinator serialization, Redis round trips, waiting for slices. */
  readonly serializeMs: number;
  readonly redisMs: number;
  readonly waitMs: number;
  /** Bytes the coordinator sent and received per step. */
  readonly bytesPerStep: number;
  readonly load: { readonly before: number; readonly after: number };
}

export interface HostsCase {
  readonly model: ModelName;
  readonly batch: number;
  /** One-way delay added on every host's link, ms. */
  readonly delayMs: number;
  readonly how: 'none' | 'netem' | 'relay';
  readonly stepMs: Spread;
  readonly waitMs: number;
}

export interface ScaleOutResult {
  readonly rows: number;
  /** Epochs of a loopback pass; the last one's rate is the steady state. */
  readonly epochs: number;
  readonly cases: ScaleOutCase[];
  readonly hosts: HostsCase[] | string | null;
}

interface Pass {
  readonly rate: number;
  readonly stepMs: number;
  readonly figures: Record<string, number> | null;
  readonly steps: number;
  /** Samples per second of the last epoch. */
  readonly steadyRate: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a !== null ? a.port : 0));
    });
  });
}

function ping(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection({ host, port });
    c.setTimeout(300, () => {
      c.destroy();
      resolve(false);
    });
    c.once('error', () => resolve(false));
    c.on('connect', () => c.write('PING\r\n'));
    c.on('data', (d) => {
      c.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
  });
}

/** A redis-server on loopback (or inside a namespace with `prefix`), stopped by PID. */
async function startRedis(dir: string, host: string, port: number, prefix: readonly string[] = []): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', host, '--dir', dir, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--logfile', join(dir, `redis-${port}.log`)];
  const child = prefix.length > 0 ? spawn(prefix[0], [...prefix.slice(1), 'redis-server', ...args], { stdio: 'ignore' }) : spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) break;
    if (prefix.length === 0 ? await ping(host, port) : await pingIn(prefix, host, port)) return child;
    await sleep(25);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server did not start on ${host}:${port}`);
}

/** PING from inside a namespace (the bench's own process is outside it). */
async function pingIn(prefix: readonly string[], host: string, port: number): Promise<boolean> {
  const r = spawnSync(prefix[0], [...prefix.slice(1), 'redis-cli', '-h', host, '-p', String(port), 'PING'], { encoding: 'utf8' });
  return r.stdout.trim() === 'PONG';
}

function stop(child: ChildProcess | null): Promise<void> {
  if (child === null || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const done = new Promise<void>((r) => child.once('exit', () => r()));
  process.kill(child.pid, 'SIGTERM');
  return done;
}

/** Run the CLI (optionally inside a namespace); resolves with its stdout once it exits. */
function cli(args: readonly string[], prefix: readonly string[] = []): { child: ChildProcess; done: Promise<string> } {
  const command = prefix.length > 0 ? prefix[0] : process.execPath;
  const full = prefix.length > 0 ? [...prefix.slice(1), process.execPath, CLI, ...args] : [CLI, ...args];
  const child = spawn(command, full, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const done = new Promise<string>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`deltaflow ${args.slice(0, 2).join(' ')} exited ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}`))));
  });
  return { child, done };
}

/** An epoch's rate and step time of a `train --json` output. */
function epochFigures(stdout: string, batch: number, epoch: number): { rate: number; stepMs: number; steps: number } {
  const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; epoch?: number; samples?: number; seconds?: number });
  const e = lines.find((l) => l.type === 'epoch' && l.epoch === epoch);
  if (e?.samples === undefined || e.seconds === undefined) throw new Error(`no epoch ${epoch} in the output`);
  const steps = Math.ceil(e.samples / batch);
  return { rate: e.samples / e.seconds, stepMs: (1000 * e.seconds) / steps, steps };
}
const epochTwo = (stdout: string, batch: number): { rate: number; stepMs: number; steps: number } => epochFigures(stdout, batch, 2);

/**
 * Epochs of a loopback pass: the second epoch is the headline figure (as before), the last one the
 * steady state — the second still pays the JIT's warm-up, which costs processes more than threads
 * (docs/scale-out.md).
 */
const LOOPBACK_EPOCHS = 5;

function trainArgs(data: string, model: ModelName, batch: number, out: string, epochs = 2): string[] {
  return ['train', '--data', data, '--classes', '10', '--scale', String(1 / 255), ...MODELS[model], '--epochs', String(epochs), '--batch', String(batch), '--shuffle', '0', '--lr-schedule', 'constant', '--json', '--out', out, '--force'];
}

async function pass(dir: string, data: string, model: ModelName, batch: number, redis: string | null, tag: string, epochs: number): Promise<Pass> {
  const out = join(dir, `run-${tag}`);
  const extra = redis === null ? ['--workers', '2'] : ['--redis', redis, '--procs', '2', '--job', `bench-${tag}`];
  const stdout = await cli([...trainArgs(data, model, batch, out, epochs), ...extra]).done;
  const e = epochTwo(stdout, batch);
  const steady = epochFigures(stdout, batch, epochs);
  let figures: Record<string, number> | null = null;
  if (redis !== null) {
    const w = JSON.parse(readFileSync(join(out, 'workers.json'), 'utf8')) as { coordinator: Record<string, number> };
    figures = w.coordinator;
  }
  return { rate: e.rate, stepMs: e.stepMs, figures, steps: e.steps, steadyRate: steady.rate };
}

const median = (xs: readonly number[]): number => spread(xs).median;

/** The loopback A/B comparison (see the file comment). */
async function loopback(dir: string, data: string, passes: number, epochs: number, isSmoke: boolean, log: (s: string) => void): Promise<ScaleOutCase[]> {
  const port = await freePort();
  const redis = await startRedis(dir, '127.0.0.1', port);
  const url = `redis://127.0.0.1:${port}`;
  const cases: ScaleOutCase[] = [];
  try {
    for (const model of ['lenet', 'mlp'] as const) {
      for (const batch of isSmoke ? [64] : [64, 256]) {
        const before = loadavg()[0];
        const a: Pass[] = [];
        const b: Pass[] = [];
        for (let i = 0; i < passes; i++) {
          a.push(await pass(dir, data, model, batch, null, `${model}-${batch}-t`, epochs));
          b.push(await pass(dir, data, model, batch, url, `${model}-${batch}-p`, epochs));
          log(`scaleout ${model} batch ${batch} pass ${i + 1}: threads ${fmt(a[i].rate)}/s, procs ${fmt(b[i].rate)}/s; epoch ${epochs}: ${fmt(a[i].steadyRate)}/s, ${fmt(b[i].steadyRate)}/s (load ${loadavg()[0].toFixed(2)})`);
        }
        const per = (k: string): number => median(b.map((p) => (p.figures === null ? NaN : (1000 * p.figures[k]) / p.figures.steps)));
        const threads = spread(a.map((p) => p.rate));
        const procs = spread(b.map((p) => p.rate));
        const steadyThreads = spread(a.map((p) => p.steadyRate));
        const steadyProcs = spread(b.map((p) => p.steadyRate));
        cases.push({
          model,
          batch,
          threads,
          procs,
          ratio: procs.median / threads.median,
          steadyThreads,
          steadyProcs,
          steadyRatio: steadyProcs.median / steadyThreads.median,
          stepMsThreads: median(a.map((p) => p.stepMs)),
          stepMsProcs: median(b.map((p) => p.stepMs)),
          serializeMs: per('serializeSeconds'),
          redisMs: per('redisSeconds'),
          waitMs: per('waitSeconds'),
          bytesPerStep: median(b.map((p) => (p.figures === null ? NaN : (p.figures.bytesSent + p.figures.bytesReceived) / p.figures.steps))),
          load: { before, after: loadavg()[0] },
        });
      }
    }
  } finally {
    await stop(redis);
  }
  return cases;
}

// ───────────────────────────── hosts: network namespaces ─────────────────────────────

const NS = ['df-redis', 'df-coord', 'df-w0', 'df-w1'] as const;
const BRIDGE = 'dfbr0';
const SUBNET = '10.213.77';
const ip = (args: readonly string[]): { ok: boolean; err: string } => {
  const r = spawnSync('ip', [...args], { encoding: 'utf8' });
  return { ok: r.status === 0, err: (r.stderr ?? '').trim() };
};
const inNs = (ns: string): string[] => ['ip', 'netns', 'exec', ns];

function removeHosts(): void {
  for (const ns of NS) ip(['netns', 'del', ns]);
  ip(['link', 'del', BRIDGE]);
}

/** Four namespaces on one bridge: df-redis 10.213.77.1, df-coord .2, df-w0 .3, df-w1 .4. Null when it cannot be done here, with the reason. */
function makeHosts(): string | null {
  removeHosts();
  const steps: string[][] = [['link', 'add', BRIDGE, 'type', 'bridge'], ['link', 'set', BRIDGE, 'up']];
  NS.forEach((ns, i) => {
    steps.push(['netns', 'add', ns]);
    steps.push(['link', 'add', `${ns}-h`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    steps.push(['link', 'set', `${ns}-h`, 'master', BRIDGE]);
    steps.push(['link', 'set', `${ns}-h`, 'up']);
    steps.push(['netns', 'exec', ns, 'ip', 'addr', 'add', `${SUBNET}.${i + 1}/24`, 'dev', 'eth0']);
    steps.push(['netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up']);
    steps.push(['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
  });
  for (const s of steps) {
    const r = ip(s);
    if (!r.ok) {
      removeHosts();
      return `ip ${s.join(' ')}: ${r.err}`;
    }
  }
  return null;
}

/** Add (or, with 0, remove) a netem delay on every namespace's link; false when the kernel has no netem. */
function netem(delayMs: number): boolean {
  for (const ns of NS) {
    spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root'], { stdio: 'ignore' });
    if (delayMs === 0) continue;
    const r = spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`], { encoding: 'utf8' });
    if (r.status !== 0) return false;
  }
  return true;
}

async function hosts(dir: string, data: string, passes: number, log: (s: string) => void): Promise<HostsCase[] | string> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'needs root (ip netns)';
  const why = makeHosts();
  if (why !== null) return `network namespaces cannot be made here: ${why}`;
  const procs: ChildProcess[] = [];
  const out: HostsCase[] = [];
  try {
    const redisHost = `${SUBNET}.1`;
    procs.push(await startRedis(dir, redisHost, 6379, inNs('df-redis')));
    const hasNetem = netem(1);
    netem(0);
    log(`hosts: namespaces up; netem ${hasNetem ? 'available' : 'not in this kernel: delays come from a TCP relay in df-redis'}`);
    let job = 0;
    for (const [model, batch] of [['lenet', 64], ['mlp', 64]] as const) {
      for (const delayMs of [0, 1, 5]) {
        let port = 6379;
        let how: HostsCase['how'] = 'none';
        let relay: ChildProcess | null = null;
        if (delayMs > 0 && hasNetem) {
          netem(delayMs);
          how = 'netem';
        } else if (delayMs > 0) {
          port = 6380;
          // Delay each direction by delayMs at Redis's end: every round trip gains 2 × delayMs, as with netem on both ends.
          relay = spawn('ip', ['netns', 'exec', 'df-redis', process.execPath, RELAY, '--listen', `${redisHost}:${port}`, '--to', `${redisHost}:6379`, '--delay', String(delayMs)], { stdio: 'ignore' });
          procs.push(relay);
          await sleep(500);
          how = 'relay';
        }
        const steps: number[] = [];
        const waits: number[] = [];
        for (let i = 0; i < passes; i++) {
          const name = `hosts-${job++}`;
          const url = `redis://${redisHost}:${port}`;
          const run = join(dir, name);
          const coord = cli([...trainArgs(data, model, batch, run), '--redis', url, '--procs', '2', '--no-local-slice', '--spawn', '0', '--job', name, '--wait-timeout', '60'], inNs('df-coord'));
          await sleep(300);
          const workers = ['df-w0', 'df-w1'].map((ns) => cli(['worker', '--redis', url, '--job', name, '--quiet'], inNs(ns)));
          const stdout = await coord.done;
          await Promise.all(workers.map((w) => w.done.catch(() => '')));
          steps.push(epochTwo(stdout, batch).stepMs);
          const f = (JSON.parse(readFileSync(join(run, 'workers.json'), 'utf8')) as { coordinator: Record<string, number> }).coordinator;
          waits.push((1000 * f.waitSeconds) / f.steps);
        }
        if (how === 'netem') netem(0);
        await stop(relay);
        const s = spread(steps);
        log(`hosts ${model} batch ${batch} delay ${delayMs} ms (${how}): ${fmt(s.median)} ms per step`);
        out.push({ model, batch, delayMs, how, stepMs: s, waitMs: median(waits) });
      }
    }
  } finally {
    for (const p of procs.reverse()) await stop(p);
    removeHosts();
  }
  return out;
}

export async function benchScaleOut(o: { readonly isSmoke: boolean; readonly passes: number; readonly isLoopback: boolean; readonly isHosts: boolean; readonly log: (s: string) => void }): Promise<ScaleOutResult> {
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-scaleout-'));
  try {
    const files = await ensureMnistCsv(join(dir, 'data'));
    // The whole 8,000-row training file: 31 steps an epoch at batch 256 (3,200 rows gave 13, which scattered).
    const rows = o.isSmoke ? 640 : 8000;
    const data = join(dir, 'digits.csv');
    writeFileSync(data, `${readFileSync(files.train, 'utf8').split('\n').slice(0, rows + 1).join('\n')}\n`);
    const passes = o.isSmoke ? 1 : Math.max(1, Math.min(o.passes, 5));
    const epochs = o.isSmoke ? 2 : LOOPBACK_EPOCHS;
    const cases = o.isLoopback ? await loopback(dir, data, passes, epochs, o.isSmoke, o.log) : [];
    const hostsResult = o.isHosts ? await hosts(dir, data, passes, o.log) : null;
    return { rows, epochs, cases, hosts: hostsResult };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function scaleOutReport(r: ScaleOutResult): string {
  const { epochs } = r;
  const lines = [`### scale-out: --procs 2 (Redis, loopback) vs --workers 2 (threads), ${r.rows} MNIST rows, 2nd epoch and (steady) epoch ${epochs}`];
  if (r.cases.length > 0) {
    lines.push(`| model | batch | threads samples/s | procs samples/s | ratio | epoch ${epochs}: threads / procs | ratio | ms/step threads | ms/step procs | serialize | Redis | waiting | kB/step | load before→after |`);
    lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const c of r.cases) {
      lines.push(
        `| ${c.model} | ${c.batch} | ${fmt(c.threads.median)} | ${fmt(c.procs.median)} | ${c.ratio.toFixed(2)} | ${fmt(c.steadyThreads.median)} / ${fmt(c.steadyProcs.median)} | ${c.steadyRatio.toFixed(2)} | ${fmt(c.stepMsThreads)} | ${fmt(c.stepMsProcs)} | ${fmt(c.serializeMs)} | ${fmt(c.redisMs)} | ${fmt(c.waitMs)} | ${fmt(c.bytesPerStep / 1000)} | ${c.load.before.toFixed(2)}→${c.load.after.toFixed(2)} |`,
      );
    }
    lines.push('', `(ms/step is the 2nd epoch's; serialize, Redis and waiting are per step over all ${epochs} epochs, from workers.json.)`);
  }
  if (typeof r.hosts === 'string') lines.push(`hosts: not measured (${r.hosts})`);
  else if (r.hosts !== null) {
    lines.push('', '### scale-out across hosts (network namespaces): step time by added one-way delay');
    lines.push('| model | batch | delay | how | ms/step | waiting ms/step |');
    lines.push('| --- | --- | --- | --- | --- | --- |');
    for (const h of r.hosts) lines.push(`| ${h.model} | ${h.batch} | ${h.delayMs} ms | ${h.how} | ${fmt(h.stepMs.median)} | ${fmt(h.waitMs)} |`);
  }
  return lines.join('\n');
}
