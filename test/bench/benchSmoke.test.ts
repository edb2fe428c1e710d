/**
 * The bench end to end in its seconds-long mode: `node dist/scripts/bench.js --smoke --json --no-peers`
 * (built by `pretest`; the serve section in a run of its own) must print one JSON document with every section's figures present and finite.
 * No timing thresholds: speed is what `npm run bench` reports, not what a test asserts.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import type { BenchResult } from '../../scripts/bench.js';
import type { Spread } from '../../scripts/bench/stats.js';

const BENCH = fileURLToPath(new URL('../../dist/scripts/bench.js', import.meta.url));


function runBench(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BENCH, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function expectPositive(x: unknown, what: string): void {
  expect(typeof x, what).toBe('number');
  expect(Number.isFinite(x) && (x as number) > 0, `${what} = ${String(x)}`).toBe(true);
}

function expectSpread(s: Spread | undefined, what: string): void {
  expect(s, what).toBeDefined();
  if (s === undefined) return;
  expectPositive(s.min, `${what}.min`);
  expectPositive(s.median, `${what}.median`);
  expectPositive(s.max, `${what}.max`);
  expect(s.min <= s.median && s.median <= s.max, `${what}: min ≤ median ≤ max`).toBe(true);
}

describe('npm run bench --smoke --json --no-peers', () => {
  let doc: BenchResult;

  beforeAll(() => {
    const r = runBench(['--smoke', '--json', '--no-peers', '--only', 'w1,w2,csv,mem']);
    expect(r.status, r.stderr).toBe(0);
    doc = JSON.parse(r.stdout) as BenchResult;
  });

  test('meta names the run: Node version, options, WASM kernels flag', () => {
    expect(doc.meta.node).toBe(process.version);
    expect(doc.meta.options.isSmoke).toBe(true);
    expect(doc.meta.options.peers).toEqual([]);
    expect(typeof doc.meta.wasmKernels).toBe('boolean');
  });

  test('W1 and W2: deltaflow trained ≥ 3 timed passes with positive samples/s and GFLOP/s, no peer rows', () => {
    expect(doc.training.map((w) => w.workload)).toEqual(['W1', 'W2']);
    for (const w of doc.training) {
      expect(w.flopsPerSample).toBe(w.workload === 'W1' ? 454_400 : 1_517_040);
      expect(w.systems.map((s) => s.id)).toEqual(['deltaflow-1w']);
      const s = w.systems[0];
      expect(s.status, s.reason).toBe('ok');
      expect(s.rates.length).toBeGreaterThanOrEqual(3);
      expectSpread(s.samplesPerSecond, `${w.workload} samples/s`);
      expectPositive(s.gflops, `${w.workload} GFLOP/s`);
      expect(Number.isFinite(s.lastLoss), `${w.workload} last loss`).toBe(true);
    }
  });

  test('every group has the probe before and after it', () => {
    for (const w of doc.training) {
      expect(w.groups.length).toBeGreaterThanOrEqual(3);
      for (const g of w.groups) {
        expectPositive(g.probeBefore, 'probe before');
        expectPositive(g.probeAfter, 'probe after');
      }
    }
  });

  test('CSV: both fromCsv engines and the csv-parse baseline read every row, with rows/s and MB/s', () => {
    const csv = doc.csv;
    expect(csv).toBeDefined();
    if (csv === undefined) return;
    expect(csv.rows).toBe(doc.meta.options.csvRows);
    expectPositive(csv.bytes, 'csv bytes');
    const ids = csv.readers.map((r) => r.id);
    expect(ids).toEqual(expect.arrayContaining(['deltaflow-fast', 'deltaflow-csv-parse', 'csv-parse']));
    for (const r of csv.readers) {
      expect(r.status, `${r.id}: ${r.reason}`).toBe('ok');
      expectSpread(r.rows, `${r.id} rows/s`);
      expectPositive(r.mbPerSecond, `${r.id} MB/s`);
    }
  });

  test('memory: peak RSS and heap are positive, per-step allocation figures are finite for W1 and W2', () => {
    expectPositive(doc.memory?.peakRssBytes, 'peak RSS');
    expectPositive(doc.memory?.heapUsedBytes, 'heap used');
    for (const w of ['W1', 'W2']) {
      const s = doc.steadyState[w];
      expectPositive(s.steps, `${w} steps`);
      for (const k of ['heapBytesPerStep', 'arrayBufferBytesPerStep', 'retainedBytesPerStep'] as const) {
        expect(Number.isFinite(s[k]) && s[k] >= 0, `${w} ${k} = ${s[k]}`).toBe(true);
      }
      expect(Array.isArray(s.sites)).toBe(true);
    }
  });
});

describe('npm run bench --smoke: serve', () => {
  test('serve: both MLPs under load while learning, each scenario with predictions/s, latency percentiles, rows learned and no errors', () => {
    const r = runBench(['--smoke', '--json', '--only', 'serve']);
    expect(r.status, r.stderr).toBe(0);
    const serve = (JSON.parse(r.stdout) as BenchResult).serve;
    expect(serve?.workloads.map((w) => w.id)).toEqual(['mlp-8-32-16-2', 'mlp-784-128-64-10']);
    expectPositive(serve?.baseline.max1.requestsPerSecond, 'baseline requests/s');
    expectPositive(serve?.baseline.rate1k.latencyMs.p99, 'baseline p99 at 1,000/s');
    for (const w of serve?.workloads ?? []) {
      expect(w.scenarios.map((s) => s.id)).toEqual(['max-1', 'max-16', 'rate-1k']);
      for (const s of w.scenarios) {
        expectPositive(s.predictionsPerSecond, `${w.id} ${s.id} predictions/s`);
        expect(s.predictionsPerSecond).toBeCloseTo(s.requestsPerSecond * s.rowsPerRequest, 6);
        expect(s.latencyMs.p50 <= s.latencyMs.p99 && s.latencyMs.p99 <= s.latencyMs.max, `${w.id} ${s.id} latency order`).toBe(true);
        expectPositive(s.learnedRowsPerSecond, `${w.id} ${s.id} rows learned/s`);
        expect(s.errors + s.non2xx, `${w.id} ${s.id} errors`).toBe(0);
        expectPositive(s.predictionsPerCpuSecond, `${w.id} ${s.id} predictions per server CPU second`);
      }
    }
  });
});

describe('npm run bench --smoke: end to end, the default job, the workers grid', () => {
  let doc: BenchResult;

  beforeAll(() => {
    const r = runBench(['--smoke', '--json', '--no-peers', '--only', 'e2e,job,workers', '--passes', '2']);
    expect(r.status, r.stderr).toBe(0);
    doc = JSON.parse(r.stdout) as BenchResult;
  }, 120_000);

  test('e2e: the CLI with and without its parser thread and train() in memory ran every pass on both workloads, PyTorch listed as skipped', () => {
    const e2e = doc.endToEnd;
    expect(e2e?.rows).toBe(doc.meta.options.e2eRows);
    expectPositive(e2e?.bytes, 'e2e CSV bytes');
    expect(Number.isFinite(e2e?.loadAverage.start) && Number.isFinite(e2e?.loadAverage.end)).toBe(true);
    expect(e2e?.workloads.map((w) => w.workload)).toEqual(['W1', 'W2']);
    for (const w of e2e?.workloads ?? []) {
      expect(w.systems.map((s) => s.id)).toEqual(['cli-1w', 'cli-1w-inline', 'torch-1t', 'memory-1w']);
      for (const s of w.systems) {
        if (s.id === 'torch-1t') {
          expect(s.status).toBe('skipped');
          continue;
        }
        expect(s.status, `${w.workload} ${s.id}: ${s.reason}`).toBe('ok');
        expect(s.passes.map((p) => p.round)).toEqual([0, 1]);
        expectSpread(s.samplesPerSecond, `${w.workload} ${s.id} samples/s`);
        if (s.id.startsWith('cli')) expectSpread(s.wallSeconds, `${w.workload} ${s.id} process seconds`);
      }
      for (const key of ['cli-1w/memory-1w', 'cli-1w-inline/memory-1w', 'cli-1w/cli-1w-inline']) expectSpread(w.ratios[key], `${w.workload} ${key}`);
    }
  });

  test('job: the default job (1 epoch in the smoke run) with and without the parser thread, its training time and test accuracy', () => {
    const job = doc.defaultJob;
    expect(job?.epochs).toBe(1);
    expect(job?.variants.map((v) => v.id)).toEqual(['default', 'inline']);
    for (const v of job?.variants ?? []) {
      expect(v.status, `${v.id}: ${v.reason}`).toBe('ok');
      expect(v.passes).toHaveLength(2);
      expectSpread(v.seconds, `${v.id} training seconds`);
      expectSpread(v.wallSeconds, `${v.id} process seconds`);
      for (const p of v.passes) {
        expect(p.samples).toBe(8000);
        expect(p.testAccuracy !== null && p.testAccuracy > 0.5 && p.testAccuracy <= 1, `${v.id} test accuracy ${p.testAccuracy}`).toBe(true);
      }
    }
    expectSpread(job?.threadRatio, 'thread ratio');
  });

  test('workers: W1 at batch 64 and W2 at batch 32, 1 and 2 workers with rates, ratios and the default\'s choice', () => {
    const grid = doc.workersGrid ?? [];
    expect(grid.map((g) => [g.model, g.batch])).toEqual([['W1 mlp 784-128-64-10', 64], ['W2 lenet', 32]]);
    for (const g of grid) {
      expectSpread(g.oneWorker, `${g.model} 1 worker`);
      expectSpread(g.twoWorkers, `${g.model} 2 workers`);
      expectSpread(g.ratio, `${g.model} ratio`);
      expect(g.oneWorker.n).toBe(2);
    }
    // The default's choice on 2 cores: a slice of 32 rows holds 15 MFLOP and 133 FLOP per parameter (W1), 24 MFLOP (W2).
    expect(grid.map((g) => g.chosen)).toEqual([2, 2]);
    expect(grid[0].sliceFlopsPerParam).toBeCloseTo((32 * 454_400) / 109_386, 6);
  });
});

describe('npm run bench --smoke: online', () => {
  test('online: batch-1 prequential speed in process and through the CLI, both learning the same stream to the same accuracy', () => {
    const r = runBench(['--smoke', '--json', '--only', 'online']);
    expect(r.status, r.stderr).toBe(0);
    const online = (JSON.parse(r.stdout) as BenchResult).online;
    expect(online?.systems.map((s) => s.name)).toEqual(['deltaflow evaluateOnline (in process)', 'deltaflow online (CLI, CSV, start-up included)']);
    for (const s of online?.systems ?? []) {
      expectPositive(s.rowsPerSecond.median, `${s.name} rows/s`);
      // A drifting hyperplane with 5 % noise: an MLP that learns is well above guessing.
      expect(s.accuracy, s.name).toBeGreaterThan(0.6);
    }
    // The same model, seed and stream: the library and the command line learn identically.
    expect(online?.systems[1].accuracy).toBe(online?.systems[0].accuracy);
  });
});

describe('bench flags', () => {
  test('an unknown --only section is a usage error (exit 2) naming the valid ones', () => {
    const r = runBench(['--smoke', '--only', 'w3']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('bench: --only: unknown "w3" (expected some of w1,w2,csv,mem,serve,online,dashboard,e2e,job,workers,scaleout,hosts)\n');
  });

  test('an unknown flag is one line naming it (exit 2), not a stack trace', () => {
    const r = runBench(['--bogus']);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("bench: Unknown option '--bogus' (the flags: --help)\n");
  });

  test('--help prints every flag and runs nothing', () => {
    const r = runBench(['--help']);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('');
    for (const flag of ['--json', '--smoke', '--only', '--passes', '--no-peers', '--peers', '--workers', '--no-wasm', '--e2e-rows', '--big-csv', '--sink', '-h, --help']) {
      expect(r.stdout).toContain(`  ${flag}`);
    }
    expect(r.stdout).not.toContain('##');
  });
});
