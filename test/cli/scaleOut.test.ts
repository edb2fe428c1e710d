/**
 * `deltaflow train --redis URL --procs N`: the model equals the single-process `--workers N`, byte for
 * byte, with the same run folder; every misuse is one line on stderr and a non-zero exit, never a hang.
 * These runs use the suite's shared Redis (DELTAFLOW_TEST_REDIS_URL).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from './cliHelpers.js';
import { readRun } from './resumeHelpers.js';
import { barsCsv, readWorkers, TRAIN_FLAGS, until, watchRun } from './scaleOutHelpers.js';

const REDIS = process.env.DELTAFLOW_TEST_REDIS_URL ?? '';
let dir = '';
let reference = '';

beforeAll(async () => {
  dir = tempDir();
  writeFileSync(join(dir, 'bars.csv'), barsCsv(400, 11));
  const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--workers', '2', '--out', 'ref', '--quiet'], { cwd: dir });
  expect(r.stderr).toBe('');
  reference = join(dir, 'ref');
});

describe('train --redis --procs', () => {
  it('writes the model.json of --workers 2 byte for byte, with the same metrics and summary, and per-worker figures', async () => {
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--job', 'equal-2', '--out', 'dist', '--force', '--checkpoint-every', '5'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const a = readRun(reference);
    const b = readRun(join(dir, 'dist'));
    expect(b.model.equals(a.model)).toBe(true);
    expect(b.metrics).toBe(a.metrics);
    expect(b.summary).toEqual(a.summary);
    const figures = readWorkers(join(dir, 'dist'));
    // The coordinator computes slice 0 itself (as --workers 2 does on its main thread); of the two
    // worker processes it starts, one computes slice 1 and the other stands by as a spare.
    expect(figures.workers).toHaveLength(2);
    const busy = figures.workers.filter((w) => w.rows > 0);
    expect(busy).toHaveLength(1);
    expect(figures.workers.find((w) => w.rows === 0)?.steps).toBe(0);
    // Two epochs of 400 rows: 13 steps of 32 rows each (the last has 16), split in two slices of 16 (the last: 8 and 8).
    expect(busy[0].rows).toBe(400);
    expect(figures.coordinator.localRows).toBe(400);
    expect(busy[0].steps).toBe(26);
    expect(figures.coordinator.steps).toBe(26);
    expect(figures.coordinator.staleResults).toBe(0);
    expect(figures.coordinator.computeSeconds).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/worker \S+ \(pid \d+\): 26 slices, 400 rows, /);
    expect(r.stderr).toMatch(/ms computing its own slice \(400 rows\)/);
    // The run folder's checkpoint files are written too (--checkpoint-every), as in a single-process run.
    expect(readFileSync(join(dir, 'dist', 'summary.json'), 'utf8')).toMatch(/"status": "done"/);
  });

  it('with --no-local-slice two worker processes compute both slices, to the same bytes', async () => {
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--no-local-slice', '--job', 'equal-2r', '--out', 'dist-r', '--force'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const a = readRun(reference);
    const b = readRun(join(dir, 'dist-r'));
    expect(b.model.equals(a.model)).toBe(true);
    expect(b.metrics).toBe(a.metrics);
    const figures = readWorkers(join(dir, 'dist-r'));
    expect(figures.workers).toHaveLength(2);
    expect(figures.workers.map((w) => w.rows).reduce((x, y) => x + y, 0)).toBe(800);
    expect(figures.workers.every((w) => w.steps === 26)).toBe(true);
    expect(figures.coordinator.localRows).toBe(0);
    expect(figures.coordinator.computeSeconds).toBe(0);
  });

  it('with --procs 3 equals --workers 3 (slices of ⌈32/3⌉ = 11 rows, the last one of 10)', async () => {
    const w = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--epochs', '1', '--workers', '3', '--out', 'ref3', '--quiet'], { cwd: dir });
    expect(w.code, w.stderr).toBe(0);
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--epochs', '1', '--redis', REDIS, '--procs', '3', '--job', 'equal-3', '--out', 'dist3', '--force', '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'dist3', 'model.json')).equals(readFileSync(join(dir, 'ref3', 'model.json')))).toBe(true);
  });
});

describe('train --redis: misuse is one line, never a hang', () => {
  const oneLine = (stderr: string): string => {
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  it('a URL that is not redis://', async () => {
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', 'http://127.0.0.1:6379', '--procs', '2', '--out', 'bad-url', '--quiet'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe('deltaflow: "http://127.0.0.1:6379" is not a Redis URL: it does not start with redis://; expected redis://HOST:PORT/STREAM (e.g. redis://127.0.0.1:6379/rows)');
  });

  it('a Redis nobody listens at', async () => {
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', 'redis://127.0.0.1:1', '--procs', '2', '--out', 'unreachable', '--quiet'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toMatch(/^deltaflow: cannot reach Redis at 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  it('--procs 0, and --procs without --redis', async () => {
    const zero = await runCli(['train', '--data', 'bars.csv', '--redis', REDIS, '--procs', '0', '--out', 'zero'], { cwd: dir });
    expect(zero.code).toBe(1);
    expect(oneLine(zero.stderr)).toBe("deltaflow: option '--procs <n>' argument '0' is invalid. expected at least 1 worker process (a positive integer).");
    const alone = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--procs', '2', '--out', 'alone', '--quiet'], { cwd: dir });
    expect(alone.code).toBe(1);
    expect(oneLine(alone.stderr)).toBe('deltaflow: --procs, --job and --spawn need --redis redis://HOST:PORT (the Redis that coordinates the worker processes)');
    const noSlice = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--no-local-slice', '--out', 'alone', '--quiet'], { cwd: dir });
    expect(noSlice.code).toBe(1);
    expect(oneLine(noSlice.stderr)).toBe('deltaflow: --no-local-slice needs --redis redis://HOST:PORT and --procs N');
  });

  it('waiting for workers that never join times out, saying so', async () => {
    // --procs 3: the coordinator computes slice 0, so it waits for two workers.
    const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '3', '--spawn', '0', '--wait-timeout', '1', '--job', 'nobody', '--out', 'nobody', '--quiet'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`deltaflow: waited 1 s for 2 workers to join job nobody; 0 joined (start more with: deltaflow worker --redis ${REDIS} --job nobody)`);
    const one = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--spawn', '0', '--wait-timeout', '1', '--job', 'nobody', '--out', 'nobody1', '--quiet'], { cwd: dir });
    expect(one.code).toBe(1);
    expect(oneLine(one.stderr)).toBe(`deltaflow: waited 1 s for 1 worker to join job nobody; 0 joined (start more with: deltaflow worker --redis ${REDIS} --job nobody)`);
  });

  it('a job name in use by a live coordinator is refused; a worker whose kernels differ is refused naming the field', async () => {
    // No local workers: it waits for two to join, holding the job's lease.
    const live = watchRun(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--spawn', '0', '--wait-timeout', '30', '--job', 'busy', '--out', 'busy', '--force'], { cwd: dir });
    try {
      await until(() => /coordinating job busy/.test(live.stderr()), 20_000, 'the coordinator to start');
      const second = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--job', 'busy', '--out', 'busy2', '--quiet'], { cwd: dir });
      expect(second.code).toBe(1);
      expect(oneLine(second.stderr)).toMatch(/^deltaflow: job busy is in use by a live coordinator \(\S+\): stop it first, or choose another --job$/);
      // A worker without WebAssembly computes with the TypeScript kernels, which sum in another order.
      const odd = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        const c = spawn(process.execPath, ['--no-expose-wasm', CLI, 'worker', '--redis', REDIS, '--job', 'busy', '--wait-timeout', '10', '--quiet'], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
        let stderr = '';
        c.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
        c.on('close', (code) => resolve({ code, stderr }));
      });
      expect(odd.code).toBe(1);
      expect(oneLine(odd.stderr)).toBe('deltaflow: job busy refused this worker: kernels.conv differs (the job has wasm, the worker typescript)');
      await until(() => /refused worker/.test(live.stderr()), 5000, 'the coordinator to report the refusal');
    } finally {
      if (live.child.pid !== undefined) process.kill(live.child.pid, 'SIGKILL');
      await live.done;
    }
  });
});
