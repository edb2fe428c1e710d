/**
 * The kill test (RELIABILITY.md #37, #38, #44): `deltaflow train` is SIGKILLed again and again — after
 * a seeded random number of steps, and (every 4th time) while a checkpoint is being written, between
 * the fsynced temp file and its rename — and restarted each time as a supervisor would: with
 * `--resume RUN` alone once a checkpoint exists (the run's options come from it), or with one command
 * repeated, `--resume-or-start`, from before the first checkpoint. It must end with
 * model.json byte-identical to an uninterrupted run's, the same metrics.csv (timing aside), the same
 * rejected.csv and the same counters: every row trained exactly once per epoch,
 * `rowsTrained + rowsSkipped == dataRows`.
 *
 * The negative controls prove the test has teeth: with the shuffle generator left out of the
 * checkpoints, or the position kept in a separate non-atomic file, the same comparison must FAIL.
 *
 * Runs the built CLI (dist/): build first (`npm test` does).
 */
import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, tempDir } from '../../cli/cliHelpers.js';
import { hasCheckpoint, readRun, runKillable, sameResult, tempFiles, writeKillData, type KillPlan, type RunResult } from '../../cli/resumeHelpers.js';

const ROWS = 4000;
const PAUSE_MS = '300';

const baseArgs = (): string[] => [
  'train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '16', '--epochs', '3', '--batch', '16', '--shuffle', '64',
  '--seed', '1', '--lr', '0.05', '--optimizer', 'sgd', '--on-bad-row', 'skip', '--checkpoint-every', '7', '--json', '--json-steps', '--workers', '1',
];

interface LoopResult {
  readonly kills: number;
  /** Kills that left a `ckpt-*.tmp` behind: a checkpoint write was in progress (targeted or by chance). */
  readonly killsDuringWrite: number;
  /** Kills sent on purpose while a temp file of the run existed (`onTempIn`). */
  readonly killsTargeted: number;
  readonly cycles: number;
  /** Starts with no checkpoint to resume from (the first, and any after a kill before the first checkpoint landed). */
  readonly freshStarts: number;
  /** Temp files the kills left in the checkpoint directory, counted right after each kill. */
  readonly tempFilesLeft: number;
  /** Interrupted writes the next starts reported cleaning up. */
  readonly tempFilesRemoved: number;
  /** Starts whose cleanup report did not name exactly the temp files the previous kill left (should be none). */
  readonly cleanupMismatches: readonly string[];
  /** Temp files in the checkpoint directory after the final run (should be none). */
  readonly tempFilesAtEnd: readonly string[];
  readonly result: RunResult;
}

const REMOVED = /removed (\S+), left by an interrupted checkpoint write/g;

/**
 * Train into `out`, killing as `schedule(cycle)` says, and restart — with --resume once a checkpoint
 * exists, as a supervisor would — until a run exits 0 (the last cycle is never killed).
 *
 * The bookkeeping of interrupted writes is exact: the temp files in the checkpoint directory are
 * listed right after each kill (the process is gone, so the list is final), and the next start —
 * fresh or resumed — must report removing exactly those. A random kill may land in a write too
 * (the writes are not paused then, but an fsync takes a while): it counts as a kill during a write.
 */
/**
 * How a supervisor restarts the run: `resume-only` gives `--resume RUN` and nothing else once a
 * checkpoint exists (the stored options continue the run), and the full command with `--force` before
 * that; `resume-or-start` repeats one command, the full options with `--resume-or-start`.
 */
type Restart = 'resume-only' | 'resume-or-start';

function restartArgs(restart: Restart, out: string, isResume: boolean): string[] {
  if (restart === 'resume-or-start') return [...baseArgs(), '--out', out, '--resume-or-start'];
  return isResume ? ['train', '--resume', out] : [...baseArgs(), '--out', out, '--force'];
}

async function killLoop(cwd: string, out: string, schedule: (cycle: number) => KillPlan, maxKills: number, env: Record<string, string> = {}, restart: Restart = 'resume-only'): Promise<LoopResult> {
  const checkpointDir = join(cwd, out, 'checkpoints');
  let kills = 0;
  let killsDuringWrite = 0;
  let killsTargeted = 0;
  let tempFilesLeft = 0;
  let tempFilesRemoved = 0;
  let freshStarts = 0;
  const cleanupMismatches: string[] = [];
  for (let cycle = 0; ; cycle++) {
    const isResume = hasCheckpoint(checkpointDir);
    if (!isResume) freshStarts++;
    const stale = tempFiles(checkpointDir);
    const args = restartArgs(restart, out, isResume);
    const kill = kills < maxKills ? schedule(cycle) : undefined;
    const pause: Record<string, string> = kill?.onTempIn !== undefined ? { DELTAFLOW_CKPT_PAUSE_MS: PAUSE_MS } : {};
    const r = await runKillable(args, { cwd, env: { ...env, ...pause }, kill });
    const removed = [...r.stderr.matchAll(REMOVED)].map((m) => basename(m[1])).sort();
    tempFilesRemoved += removed.length;
    if (removed.join(' ') !== stale.join(' ')) cleanupMismatches.push(`cycle ${cycle}: left [${stale.join(' ')}], reported removed [${removed.join(' ')}]`);
    const left = r.signal === 'SIGKILL' ? tempFiles(checkpointDir) : [];
    if (process.env.KILL_DEBUG === '1') {
      process.stdout.write(`cycle ${cycle} resume=${isResume} kill=${JSON.stringify(kill)} → code ${r.code} ${r.signal} steps ${r.steps} targeted ${r.isKilledDuringWrite} left [${left.join(' ')}] stderr: ${r.stderr.trim()}\n`);
    }
    if (r.code === 0) {
      const result = readRun(join(cwd, out));
      return { kills, killsDuringWrite, killsTargeted, cycles: cycle + 1, freshStarts, tempFilesLeft, tempFilesRemoved, cleanupMismatches, tempFilesAtEnd: tempFiles(checkpointDir), result };
    }
    if (r.signal !== 'SIGKILL') throw new Error(`cycle ${cycle} ended with code ${r.code}: ${r.stderr}`);
    kills++;
    tempFilesLeft += left.length;
    if (left.length > 0) killsDuringWrite++;
    if (r.isKilledDuringWrite) killsTargeted++;
  }
}

describe('kill test: repeated SIGKILL and --resume', () => {
  let cwd = '';
  let full: RunResult;
  let started = 0;

  beforeAll(async () => {
    started = performance.now();
    cwd = tempDir();
    mkdirSync(cwd, { recursive: true });
    writeKillData(join(cwd, 'data.csv'), ROWS, 5);
    const r = await runKillable([...baseArgs(), '--out', 'full'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    full = readRun(join(cwd, 'full'));
  }, 60_000);

  it('the uninterrupted run trained every good row once per epoch and skipped the bad ones', () => {
    expect(full.samplesTrained).toBe(3 * ROWS);
    expect(full.summary).toMatchObject({ rowsTrained: ROWS, rowsSkipped: 5, dataRows: ROWS + 5, epochs: 3 });
    expect(full.summary.rowsTrained + full.summary.rowsSkipped).toBe(full.summary.dataRows);
    // rejected.csv: its header and the 5 bad rows, once each (later epochs meet them again).
    expect(full.rejected?.trimEnd().split('\n').length).toBe(1 + 5);
  });

  it('≥ 10 SIGKILLs (≥ 2 during a checkpoint write), each resumed: model.json byte-identical, same metrics and counters', async () => {
    const u = rng(2024);
    const schedule = (cycle: number): KillPlan => (cycle % 4 === 3 ? { onTempIn: join('killed', 'checkpoints') } : { afterSteps: 20 + Math.floor(u() * 80) });
    const loop = await killLoop(cwd, 'killed', schedule, 14);
    const seconds = (performance.now() - started) / 1000;
    process.stdout.write(
      `kill test: ${loop.kills} SIGKILLs (${loop.killsDuringWrite} during a checkpoint write, ${loop.killsTargeted} of them targeted; ` +
        `${loop.tempFilesLeft} temp files left, ${loop.tempFilesRemoved} cleaned by the next start), ${loop.cycles} runs, ${seconds.toFixed(1)} s so far\n`,
    );
    expect(loop.kills).toBeGreaterThanOrEqual(10);
    expect(loop.killsDuringWrite).toBeGreaterThanOrEqual(2);
    expect(loop.cleanupMismatches).toEqual([]);
    expect(loop.tempFilesRemoved).toBe(loop.tempFilesLeft);
    expect(loop.tempFilesLeft).toBeGreaterThanOrEqual(loop.killsDuringWrite);
    expect(loop.tempFilesAtEnd).toEqual([]);
    expect(loop.result.model.equals(full.model)).toBe(true);
    expect(loop.result.metrics).toBe(full.metrics);
    // The resumes truncate rejected.csv to the rows their checkpoint covers and append: the same file.
    expect(loop.result.rejected).toBe(full.rejected);
    expect(loop.result.summary).toEqual(full.summary);
    expect(loop.result.samplesTrained).toBe(3 * ROWS);
    expect(loop.result.summary.rowsTrained + loop.result.summary.rowsSkipped).toBe(loop.result.summary.dataRows);
  }, 120_000);

  it('the same with one command repeated (--resume-or-start), from before any checkpoint exists', async () => {
    // The first kill lands in the first checkpoint's write, so none exists yet and the second start is a fresh one.
    const u = rng(77);
    const schedule = (cycle: number): KillPlan => (cycle % 3 === 0 ? { onTempIn: join('supervised', 'checkpoints') } : { afterSteps: 20 + Math.floor(u() * 80) });
    const loop = await killLoop(cwd, 'supervised', schedule, 6, {}, 'resume-or-start');
    expect(loop.kills).toBe(6);
    expect(loop.freshStarts).toBeGreaterThanOrEqual(2);
    expect(loop.cleanupMismatches).toEqual([]);
    expect(loop.tempFilesAtEnd).toEqual([]);
    expect(loop.result.model.equals(full.model)).toBe(true);
    expect(loop.result.metrics).toBe(full.metrics);
    expect(loop.result.rejected).toBe(full.rejected);
    expect(loop.result.summary).toEqual(full.summary);
  }, 120_000);

  for (const fault of ['omit-rng', 'position-file'] as const) {
    it(`negative control ${fault}: the same kills make the comparison fail`, async () => {
      // Kills during writes, where a position outside the checkpoint runs ahead of the state it belongs to.
      const schedule = (cycle: number): KillPlan => (cycle % 2 === 0 ? { onTempIn: join(fault, 'checkpoints') } : { afterSteps: 40 });
      const loop = await killLoop(cwd, fault, schedule, 4, { DELTAFLOW_CKPT_FAULT: fault });
      expect(loop.kills).toBe(4);
      // The first kill lands in the first write (no checkpoint yet): the next start is a fresh run, which cleans up too.
      expect(loop.cleanupMismatches).toEqual([]);
      expect(sameResult(loop.result, full)).toBe(false);
      expect(loop.result.model.equals(full.model)).toBe(false);
      // A position ahead of its state skips the rows in between: fewer samples trained over the run.
      if (fault === 'position-file') expect(loop.result.samplesTrained).toBeLessThan(full.samplesTrained);
    }, 60_000);
  }
});
