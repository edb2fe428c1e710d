/**
 * Faults of a distributed run, each ending bitwise equal to the uninterrupted single-process run
 * (`--workers 2`): a worker SIGKILLed mid-step (its heartbeat lapses, its slice is recomputed by
 * another worker, a new local worker is started), the coordinator SIGKILLed and resumed from the
 * version committed in Redis, Redis itself killed and restarted (AOF), and a stale worker — paused
 * while holding a result, so its slice went elsewhere — whose late result is ignored. Kills and
 * pauses go by PID, at random steps.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { runCli, tempDir } from './cliHelpers.js';
import { readRun, sameResult } from './resumeHelpers.js';
import { barsCsv, isRunning, readWorkers, TRAIN_FLAGS, until, watchRun } from './scaleOutHelpers.js';

const REDIS = process.env.DELTAFLOW_TEST_REDIS_URL ?? '';
const FAST = ['--heartbeat-ms', '300', '--wait-timeout', '20', '--json', '--json-steps'];
let dir = '';
let reference = '';
const random = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));

beforeAll(async () => {
  dir = tempDir();
  writeFileSync(join(dir, 'bars.csv'), barsCsv(400, 11));
  const r = await runCli(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--workers', '2', '--out', 'ref', '--quiet'], { cwd: dir });
  expect(r.stderr).toBe('');
  reference = join(dir, 'ref');
});

describe('distributed faults end bitwise equal to an uninterrupted run', () => {
  it('a worker SIGKILLed mid-step: its slice is recomputed elsewhere and a new local worker starts', async () => {
    const run = watchRun(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--job', 'kill-worker', '--out', 'kw', '--force', ...FAST], {
      cwd: dir,
      env: { DELTAFLOW_WORKER_DELAY_MS: '80' },
    });
    const killed: number[] = [];
    // The coordinator computes slice 0, one worker process slice 1: killed, its slice waits for the
    // replacement. The second victim is chosen once the first one's replacement has joined.
    for (const at of [random(2, 6), 0]) {
      await until(() => run.steps() >= at && run.workerPids().length >= 1 + killed.length, 30_000, `step ${at} with ${1 + killed.length} workers joined`);
      await new Promise((r) => setTimeout(r, random(0, 80)));
      const live = run.workerPids().filter((p) => !killed.includes(p) && isRunning(p));
      const victim = live[random(0, live.length - 1)];
      process.kill(victim, 'SIGKILL');
      killed.push(victim);
    }
    const end = await run.done;
    expect(end.code, end.stderr).toBe(0);
    expect(sameResult(readRun(join(dir, 'kw')), readRun(reference))).toBe(true);
    const figures = readWorkers(join(dir, 'kw'));
    expect(figures.coordinator.restarts).toBe(2);
    expect(figures.coordinator.reassigned).toBeGreaterThanOrEqual(1);
    expect(end.stderr).toMatch(/missed its heartbeat/);
  }, 120_000);

  it('the coordinator SIGKILLed three times, each time resumed with --resume from the version committed in Redis', async () => {
    const args = ['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--job', 'kill-coordinator', ...FAST];
    let first = true;
    let kills = 0;
    for (;;) {
      const run = watchRun([...args, ...(first ? ['--out', 'kc', '--force'] : ['--resume', 'kc'])], { cwd: dir, env: { DELTAFLOW_WORKER_DELAY_MS: '5' } });
      first = false;
      if (kills < 3) {
        const at = run.steps() + random(2, 6);
        const hit = await until(() => run.steps() >= at, 30_000, `step ${at}`).then(() => true, () => false);
        if (hit && run.child.pid !== undefined && run.child.exitCode === null) {
          process.kill(run.child.pid, 'SIGKILL');
          kills++;
          const pids = run.workerPids();
          await run.done;
          // The local workers end with their coordinator (IPC channel).
          await until(() => pids.every((p) => !isRunning(p)), 10_000, 'the local workers to exit');
          continue;
        }
      }
      const end = await run.done;
      expect(end.code, end.stderr).toBe(0);
      break;
    }
    expect(kills).toBe(3);
    const resumed = readRun(join(dir, 'kc'));
    const full = readRun(reference);
    expect(resumed.model.equals(full.model)).toBe(true);
    expect(resumed.summary).toEqual(full.summary);
    // A SIGKILL loses the metrics rows not yet flushed (the resume warns); every row kept is the uninterrupted run's.
    const fullRows = new Set(full.metrics.split('\n'));
    expect(resumed.metrics.split('\n').every((row) => fullRows.has(row))).toBe(true);
  }, 240_000);

  describe('on its own Redis (AOF)', () => {
    let redis: RedisServer;
    beforeAll(async () => {
      redis = await startRedis({ appendonly: true });
    });
    afterAll(async () => {
      await redis.stop();
    });

    it('Redis SIGKILLed mid-run and restarted: coordinator and workers reconnect and the job goes on', async () => {
      const run = watchRun(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', redis.url, '--procs', '2', '--job', 'restart', '--out', 'rr', '--force', ...FAST], {
        cwd: dir,
        env: { DELTAFLOW_WORKER_DELAY_MS: '10' },
      });
      await until(() => run.steps() >= random(3, 15), 30_000, 'a few steps');
      await redis.kill();
      await new Promise((r) => setTimeout(r, random(100, 500)));
      await redis.restart();
      // A run that does not finish is killed (by PID) after 90 s, so its stderr shows why.
      const guard = setTimeout(() => run.child.pid !== undefined && process.kill(run.child.pid, 'SIGKILL'), 90_000);
      const end = await run.done;
      clearTimeout(guard);
      expect(end.code, end.stderr).toBe(0);
      expect(end.stderr).toMatch(/reconnected to Redis/);
      expect(sameResult(readRun(join(dir, 'rr')), readRun(reference))).toBe(true);
      expect(readWorkers(join(dir, 'rr')).coordinator.reconnects).toBeGreaterThanOrEqual(1);
    }, 120_000);
  });

  it('a worker paused while holding a result: its slice goes to the other worker, and its late result is ignored as stale', async () => {
    // Two worker processes compute the two slices (--no-local-slice): one local worker holding each
    // result for 30 ms, one joined by hand that holds every result for 300 ms.
    const run = watchRun(['train', '--data', 'bars.csv', ...TRAIN_FLAGS, '--redis', REDIS, '--procs', '2', '--no-local-slice', '--spawn', '1', '--job', 'stale', '--out', 'st', '--force', ...FAST], {
      cwd: dir,
      env: { DELTAFLOW_WORKER_DELAY_MS: '30' },
    });
    await until(() => /coordinating job stale/.test(run.stderr()), 20_000, 'the coordinator');
    const slow = watchRun(['worker', '--redis', REDIS, '--job', 'stale', '--wait-timeout', '20'], { cwd: dir, env: { DELTAFLOW_WORKER_DELAY_MS: '300' } });
    const pid = slow.child.pid ?? -1;
    const at = random(2, 5);
    await until(() => (slow.stderr().match(/holding the result/g) ?? []).length >= at, 30_000, `the slow worker's result ${at}`);
    process.kill(pid, 'SIGSTOP');
    // Paused past its heartbeat TTL (300 ms): the coordinator gives its slice to the other worker.
    await until(() => /slice \d of step \d+ goes to worker/.test(run.stderr()), 10_000, 'the reassignment');
    process.kill(pid, 'SIGCONT');
    // Its late result reaches the coordinator, which ignores it and tells it to join again.
    await until(() => /the coordinator dropped it/.test(slow.stderr()), 20_000, 'the stale result to be dropped');
    const end = await run.done;
    await slow.done;
    expect(end.code, end.stderr).toBe(0);
    expect(readRun(join(dir, 'st')).model.equals(readRun(reference).model)).toBe(true);
    const figures = readWorkers(join(dir, 'st'));
    expect(figures.coordinator.staleResults).toBeGreaterThanOrEqual(1);
    expect(figures.coordinator.reassigned).toBeGreaterThanOrEqual(1);
  }, 120_000);
});
