/**
 * The `serve` section of `npm run bench`: `deltaflow serve --learn` under load from autocannon while
 * it learns. The server is the real CLI in its own process (one thread: Node's event loop), the load
 * generator runs in this one, and a learning client posts labelled rows all along (20 rows per
 * request, at LEARN_ROWS_PER_SECOND), so every figure is of a server that learns as it answers.
 *
 * Workloads: an MLP 8-32-16-2 on tabular rows (the size of an online-learning stream), and the
 * W1 MLP 784-128-64-10 on MNIST digits. Scenarios per workload:
 *   max-1    as many single-row /predict requests as 32 connections get answered (autocannon): predictions/s
 *   max-16   the same with 16 rows per request (clients that batch): predictions/s = 16 × requests/s
 *   rate-1k  1,000 single-row requests/s, one every millisecond, open loop: the latency percentiles
 *
 * NOTE: rate-1k is paced here, not by autocannon: autocannon's rate limit (`overallRate`) lets each
 * connection send its whole per-second budget back to back and then pause until the next second, so
 * "1,000 requests/s" arrives as one burst a second, and its coordinated-omission correction assumes
 * an interval of ceil(1 / rate) = 1 ms whatever the rate. The pacer below sends request i at
 * start + i ms on a pool of keep-alive connections and measures each latency from that scheduled
 * time, so a server (or client) that falls behind shows in the figures instead of hiding.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { dense } from '../../src/layers/dense.js';
import { relu } from '../../src/layers/activation.js';
import { saveModel } from '../../src/layers/modelFile.js';
import { sequential, type Model } from '../../src/layers/sequential.js';
import { createRng } from '../../src/ops/random.js';
import { metaToJson, type DataMeta } from '../commands/meta.js';
import type { Digits } from './data.js';
import { table } from './report.js';
import { fmt } from './stats.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));
/** Labelled rows per second the learning client posts during every scenario. */
export const LEARN_ROWS_PER_SECOND = 1000;
const LEARN_BATCH = 20;

export interface ServeScenario {
  readonly id: string;
  readonly connections: number;
  readonly rowsPerRequest: number;
  /** Requests per second asked for (all connections together); null: as many as answered. */
  readonly rate: number | null;
  readonly seconds: number;
  readonly requestsPerSecond: number;
  readonly predictionsPerSecond: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly errors: number;
  readonly non2xx: number;
  /** Rows the server learned during the scenario, per second. */
  readonly learnedRowsPerSecond: number;
  /** CPU seconds (user + system) the server process used during the scenario. */
  readonly serverCpuSeconds: number;
  /** Predictions per second of server CPU: what one core of its own would answer (null where /proc is missing). */
  readonly predictionsPerCpuSecond: number | null;
  /** The server's own p99 of /predict (request in → answer out), the upper edge of its histogram bucket, in ms. */
  readonly serverP99Ms: number | null;
  /** The machine's 1-minute load average before and after (other processes share its cores). */
  readonly loadAverage: readonly [number, number];
}

export interface ServeWorkload {
  readonly id: string;
  readonly label: string;
  readonly scenarios: ServeScenario[];
}

export interface ServeResult {
  readonly command: string;
  readonly learnRowsPerSecond: number;
  /**
   * The same loads against an empty Node http server (it answers `{}` to every request) in its own
   * process: the floor that Node's HTTP and this machine's scheduling put under every figure.
   */
  readonly baseline: { readonly max1: LoadFigures; readonly rate1k: LoadFigures; readonly loadAverage: readonly [number, number] };
  readonly workloads: ServeWorkload[];
}

const EMPTY_SERVER = `
const s = require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': 2 }); res.end('{}'); }); });
s.keepAliveTimeout = 5000;
s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;

interface Workload {
  readonly id: string;
  readonly label: string;
  readonly model: Model;
  readonly meta: DataMeta;
  /** Row i's features and label as a JSON object. */
  row(i: number): Record<string, number | string>;
}

function tabular(): Workload {
  const features = Array.from({ length: 8 }, (_, i) => `f${i}`);
  const rng = createRng(7);
  const rows = Array.from({ length: 4096 }, () => {
    const x = features.map(() => Number((2 * rng.next() - 1).toFixed(4)));
    return { x, label: x[0] + 0.5 * x[1] - x[2] > 0 ? '1' : '0' };
  });
  return {
    id: 'mlp-8-32-16-2',
    label: 'MLP 8-32-16-2, 8 features',
    model: sequential({ input: [8], seed: 1 }, dense({ units: 32 }), relu(), dense({ units: 16 }), relu(), dense({ units: 2 })),
    meta: { task: 'classify', loss: 'ce', label: ['label'], features, classes: ['0', '1'], classesAreIndices: true, shape: [8], scale: 1, normalize: null, targetNormalize: null },
    row: (i) => {
      const r = rows[i % rows.length];
      return { ...Object.fromEntries(features.map((f, j) => [f, r.x[j]])), label: r.label };
    },
  };
}

function mnist(digits: Digits): Workload {
  const features = Array.from({ length: 784 }, (_, i) => `p${i}`);
  return {
    id: 'mlp-784-128-64-10',
    label: 'MLP 784-128-64-10 (W1), MNIST rows',
    model: sequential({ input: [784], seed: 1 }, dense({ units: 128 }), relu(), dense({ units: 64 }), relu(), dense({ units: 10 })),
    meta: { task: 'classify', loss: 'ce', label: ['label'], features, classes: Array.from({ length: 10 }, (_, i) => String(i)), classesAreIndices: true, shape: [784], scale: 1 / 255, normalize: null, targetNormalize: null },
    row: (i) => {
      const k = i % digits.n;
      const px = digits.pixels.subarray(k * 784, (k + 1) * 784);
      return { ...Object.fromEntries(features.map((f, j) => [f, px[j]])), label: String(digits.labels[k]) };
    },
  };
}

interface Server {
  readonly url: string;
  readonly child: ChildProcess;
}

function startServer(argv: readonly string[]): Promise<Server> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s;
      const m = /listening on (http:\/\/\S+:\d+)/.exec(out);
      if (m !== null) resolve({ url: m[1], child });
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
  });
}

/** Posts LEARN_BATCH labelled rows every LEARN_BATCH / LEARN_ROWS_PER_SECOND seconds (one request in flight at most). */
function startLearning(url: string, w: Workload): { stop(): Promise<number> } {
  let next = 0;
  let learned = 0;
  let inFlight: Promise<void> | null = null;
  const timer = setInterval(() => {
    if (inFlight !== null) return;
    const rows = Array.from({ length: LEARN_BATCH }, () => w.row(next++));
    inFlight = fetch(`${url}/learn`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(rows) })
      .then(async (res) => {
        const body: unknown = await res.json();
        if (res.status === 200 && body !== null && typeof body === 'object' && 'learned' in body && typeof body.learned === 'number') learned += body.learned;
      })
      .catch(() => undefined)
      .finally(() => (inFlight = null));
  }, (1000 * LEARN_BATCH) / LEARN_ROWS_PER_SECOND);
  return {
    async stop() {
      clearInterval(timer);
      await inFlight;
      return learned;
    },
  };
}

export interface LoadFigures {
  readonly requestsPerSecond: number;
  readonly latencyMs: ServeScenario['latencyMs'];
  readonly errors: number;
  readonly non2xx: number;
}

const percentile = (sorted: readonly number[], q: number): number => Number((sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN).toFixed(2));

/** `rate` requests/s for `seconds`, request i sent at start + i / rate, latency counted from that time. */
function paced(url: string, nextBody: () => string, rate: number, seconds: number, connections: number): Promise<LoadFigures> {
  const target = new URL(`${url}/predict`);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const latencies: number[] = [];
  let sent = 0;
  let open = 0;
  let errors = 0;
  let non2xx = 0;
  const start = performance.now() + 10;
  return new Promise((resolve) => {
    const finish = (): void => {
      if (sent < total || open > 0) return;
      agent.destroy();
      const elapsed = (performance.now() - start) / 1000;
      latencies.sort((a, b) => a - b);
      const latencyMs = { p50: percentile(latencies, 0.5), p90: percentile(latencies, 0.9), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) };
      resolve({ requestsPerSecond: latencies.length / elapsed, latencyMs, errors, non2xx });
    };
    const fire = (scheduled: number): void => {
      open++;
      const body = nextBody();
      const req = request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            latencies.push(performance.now() - scheduled);
            if (res.statusCode !== 200) non2xx++;
            open--;
            finish();
          });
        },
      );
      req.on('error', () => {
        errors++;
        open--;
        finish();
      });
      req.end(body);
    };
    const tick = (): void => {
      const now = performance.now();
      while (sent < total && start + sent * interval <= now) fire(start + sent++ * interval);
      if (sent < total) setTimeout(tick, Math.max(0, start + sent * interval - performance.now()));
      else finish();
    };
    setTimeout(tick, 10);
  });
}

async function saturate(url: string, nextBody: () => string, connections: number, seconds: number): Promise<LoadFigures> {
  const result = await autocannon({
    url: `${url}/predict`,
    connections,
    duration: seconds,
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: nextBody() }) }],
  });
  return {
    requestsPerSecond: result.requests.average,
    latencyMs: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** User + system CPU seconds of process `pid` so far (Linux /proc; null elsewhere). */
function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  try {
    // Fields after the command name's closing parenthesis: utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** The cumulative /predict latency histogram of the server's /metrics: [upper edge in seconds, count]. */
async function predictHistogram(url: string): Promise<[number, number][]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: [number, number][] = [];
  for (const m of text.matchAll(/^deltaflow_http_request_duration_seconds_bucket\{route="\/predict",le="([^"]+)"\} (\d+)$/gm)) {
    out.push([m[1] === '+Inf' ? Infinity : Number(m[1]), Number(m[2])]);
  }
  return out;
}

/** The upper edge (ms) of the bucket holding the 99th percentile of the requests between two histograms. */
function p99Between(before: readonly [number, number][], after: readonly [number, number][]): number | null {
  const counts = after.map(([le, n], i) => [le, n - (before[i]?.[1] ?? 0)] as const);
  const total = counts.at(-1)?.[1] ?? 0;
  if (total === 0) return null;
  const edge = counts.find(([, n]) => n >= 0.99 * total)?.[0] ?? Infinity;
  return edge * 1000;
}

async function scenario(url: string, pid: number | undefined, w: Workload, s: { id: string; connections: number; rowsPerRequest: number; rate: number | null; seconds: number }): Promise<ServeScenario> {
  // Prediction bodies without the label, a few distinct ones cycled through.
  const bodies = Array.from({ length: 64 }, (_, b) =>
    JSON.stringify(
      Array.from({ length: s.rowsPerRequest }, (_, i) => {
        const { label: _label, ...features } = w.row(b * s.rowsPerRequest + i);
        return features;
      }),
    ),
  );
  let b = 0;
  const nextBody = (): string => bodies[b++ % bodies.length];
  const histogram = await predictHistogram(url);
  const load = loadavg()[0];
  const cpuBefore = cpuSeconds(pid);
  const learner = startLearning(url, w);
  const started = performance.now();
  const figures = s.rate === null ? await saturate(url, nextBody, s.connections, s.seconds) : await paced(url, nextBody, s.rate, s.seconds, s.connections);
  const learned = await learner.stop();
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuSeconds(pid);
  const serverCpuSeconds = cpuBefore === null || cpuAfter === null ? NaN : cpuAfter - cpuBefore;
  const predictions = figures.requestsPerSecond * s.rowsPerRequest;
  return {
    ...s,
    ...figures,
    predictionsPerSecond: predictions,
    learnedRowsPerSecond: learned / elapsed,
    serverCpuSeconds,
    predictionsPerCpuSecond: Number.isFinite(serverCpuSeconds) && serverCpuSeconds > 0 ? (predictions * elapsed) / serverCpuSeconds : null,
    serverP99Ms: p99Between(histogram, await predictHistogram(url)),
    loadAverage: [load, loadavg()[0]],
  };
}

/** Runs every workload's scenarios, each against a fresh `deltaflow serve --learn`. */
export async function benchServe(digits: Digits, options: { isSmoke: boolean; log: (s: string) => void }): Promise<ServeResult> {
  const seconds = options.isSmoke ? 1 : 8;
  const args = ['--learn', '--publish-every', '100', '--max-connections', '512'];
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-bench-serve-'));
  const workloads: ServeWorkload[] = [];
  const warm = options.isSmoke ? 0.5 : 2;
  let baseline: ServeResult['baseline'];
  const empty = await startServer(['-e', EMPTY_SERVER]);
  try {
    const load = loadavg()[0];
    const body = (): string => '[{"x": 1}]';
    await saturate(empty.url, body, 32, warm);
    const max1 = await saturate(empty.url, body, 32, seconds);
    const rate1k = await paced(empty.url, body, 1000, seconds, 64);
    baseline = { max1, rate1k, loadAverage: [load, loadavg()[0]] };
    options.log(`serve baseline (an empty Node server): ${fmt(max1.requestsPerSecond)} requests/s; at 1,000/s p99 ${rate1k.latencyMs.p99} ms`);
  } finally {
    empty.child.kill('SIGTERM');
  }
  try {
    for (const w of [tabular(), mnist(digits)]) {
      const file = join(dir, `${w.id}.json`);
      await saveModel(file, w.model, metaToJson(w.meta));
      const scenarios: ServeScenario[] = [];
      for (const s of [
        { id: 'max-1', connections: 32, rowsPerRequest: 1, rate: null, seconds },
        { id: 'max-16', connections: 32, rowsPerRequest: 16, rate: null, seconds },
        { id: 'rate-1k', connections: 64, rowsPerRequest: 1, rate: 1000, seconds },
      ]) {
        const server = await startServer([CLI, 'serve', '--model', file, '--port', '0', ...args]);
        try {
          // Warm-up: the JIT and the workspaces of the first batch sizes.
          await scenario(server.url, server.child.pid, w, { ...s, id: 'warm-up', seconds: warm });
          const r = await scenario(server.url, server.child.pid, w, s);
          options.log(
            `serve ${w.id} ${s.id}: ${fmt(r.predictionsPerSecond)} predictions/s (${r.predictionsPerCpuSecond === null ? '?' : fmt(r.predictionsPerCpuSecond)} per server CPU second), ` +
              `p99 ${r.latencyMs.p99} ms (server ≤ ${r.serverP99Ms ?? '?'} ms), ${fmt(r.learnedRowsPerSecond)} rows learned/s, load ${r.loadAverage.map((l) => l.toFixed(1)).join('→')}`,
          );
          scenarios.push(r);
        } finally {
          server.child.kill('SIGTERM');
        }
      }
      workloads.push({ id: w.id, label: w.label, scenarios });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { command: `deltaflow serve --model M ${args.join(' ')}; autocannon and the pacer in the bench process`, learnRowsPerSecond: LEARN_ROWS_PER_SECOND, baseline, workloads };
}

export function serveReport(r: ServeResult): string {
  const rows = r.workloads.flatMap((w) =>
    w.scenarios.map((s) => [
      w.label,
      s.rate === null ? `${s.connections} connections, ${s.rowsPerRequest} row${s.rowsPerRequest === 1 ? '' : 's'}/request, as fast as answered (autocannon)` : `${fmt(s.rate)} requests/s, one every ${fmt(1000 / s.rate)} ms (paced, open loop)`,
      fmt(s.predictionsPerSecond),
      fmt(s.requestsPerSecond),
      s.predictionsPerCpuSecond === null ? '' : fmt(s.predictionsPerCpuSecond),
      `${s.latencyMs.p50} / ${s.latencyMs.p90} / ${s.latencyMs.p99}`,
      s.serverP99Ms === null ? '' : `≤ ${s.serverP99Ms}`,
      fmt(s.learnedRowsPerSecond),
      String(s.errors + s.non2xx),
      s.loadAverage.map((l) => l.toFixed(1)).join(' → '),
    ]),
  );
  const { max1, rate1k } = r.baseline;
  const baseRow = (load: string, f: LoadFigures): string[] => [
    'an empty Node http server (baseline)',
    load,
    '',
    fmt(f.requestsPerSecond),
    '',
    `${f.latencyMs.p50} / ${f.latencyMs.p90} / ${f.latencyMs.p99}`,
    '',
    '',
    String(f.errors + f.non2xx),
    r.baseline.loadAverage.map((l) => l.toFixed(1)).join(' → '),
  ];
  rows.unshift(baseRow('32 connections, as fast as answered (autocannon)', max1), baseRow('1,000 requests/s (paced)', rate1k));
  return [
    `### deltaflow serve --learn under load (autocannon; a client posts ${fmt(r.learnRowsPerSecond)} labelled rows/s meanwhile)`,
    '',
    table(['model', 'load', 'predictions/s', 'requests/s', 'predictions per server CPU second', 'client latency p50 / p90 / p99 (ms)', 'server p99 (ms)', 'rows learned/s', 'errors', 'machine load avg'], rows),
  ].join('\n');
}
