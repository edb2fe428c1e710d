/**
 * Helpers for the checkpoint/resume tests of the CLI: a data set with a few bad rows, a training run
 * that can be killed at a chosen step line or while a checkpoint is being written, and comparisons of
 * two run folders (model.json bytes, metrics.csv without its timing column, rejected.csv, summary.json counters).
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, rng } from './cliHelpers.js';

/**
 * `f0..f11,label`: three noisy classes in 12 features, n good rows plus 5 bad rows (skipped and counted
 * with --on-bad-row skip) at fixed places. Rows are ~90 bytes, so a 64 KiB read holds ~700 of them:
 * training runs in bursts of ~45 steps between reads, and checkpoint writes land in between.
 */
export function writeKillData(path: string, n: number, seed: number): { good: number; bad: number } {
  const u = rng(seed);
  const header = [...Array.from({ length: 12 }, (_, i) => `f${i}`), 'label'];
  const lines = [header.join(',')];
  const good = (k: number): string[] => Array.from({ length: 12 }, (_, i) => ((i % 3 === k ? 1 : 0) + 0.8 * u()).toFixed(4));
  const badRows = new Map<number, string>([
    [100, [...good(1).slice(0, 11), 'abc', '1'].join(',')],
    [777, good(2).join(',')],
    [1500, [...good(0).slice(0, 11), '', '0'].join(',')],
    [2222, [...good(1), '7'].join(',')],
    [n - 1, ['0x10', ...good(1).slice(1), '1'].join(',')],
  ]);
  for (let i = 0; i < n; i++) {
    const bad = badRows.get(i);
    if (bad !== undefined) lines.push(bad);
    const k = i % 3;
    lines.push([...good(k), String(k)].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
  return { good: n, bad: [...badRows.keys()].filter((i) => i < n).length };
}

export interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** Step lines seen before the run ended. */
  readonly steps: number;
  /** Killed by `onTempIn`: SIGKILL sent while a `ckpt-*.tmp` of this run existed (see `tempFiles` for what it left). */
  readonly isKilledDuringWrite: boolean;
}

export interface KillPlan {
  /** SIGKILL after this many step lines. */
  readonly afterSteps?: number;
  /**
   * SIGKILL as soon as a temp checkpoint file of THIS run appears in this directory: looked for once
   * the run has printed a step line (a run removes stale temp files before its first step, so a temp
   * file left by the previous kill never triggers this one).
   */
  readonly onTempIn?: string;
  /** Send this signal after `afterSteps` instead of SIGKILL. */
  readonly signal?: NodeJS.Signals;
  /** Send it this many times, 20 ms apart (default once). */
  readonly times?: number;
}

/** The `ckpt-*.tmp` files in `dir` (writes in progress, or interrupted by a kill), sorted. */
export const tempFiles = (dir: string): string[] => (existsSync(dir) ? readdirSync(dir).filter((n) => /^ckpt-\d+\.tmp$/.test(n)).sort() : []);

/**
 * Run `deltaflow …args`, killing it as `kill` says; resolves when it has exited. `linePrefix` says which
 * stdout lines count as steps (default: train's `{"type":"step"` JSON lines).
 */
export function runKillable(args: readonly string[], options: { cwd: string; env?: Record<string, string>; kill?: KillPlan; linePrefix?: string }): Promise<RunOutcome> {
  const prefix = options.linePrefix ?? '{"type":"step"';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, DELTAFLOW_DEBUG: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let steps = 0;
    let isKilledDuringWrite = false;
    let isSent = false;
    const kill = options.kill;
    const send = (): void => {
      if (isSent) return;
      isSent = true;
      child.kill(kill?.signal ?? 'SIGKILL');
      for (let i = 1; i < (kill?.times ?? 1); i++) setTimeout(() => child.kill(kill?.signal ?? 'SIGKILL'), 20 * i);
    };
    const tempDir = kill?.onTempIn === undefined ? undefined : join(options.cwd, kill.onTempIn);
    const poll =
      tempDir === undefined
        ? undefined
        : setInterval(() => {
            if (!isSent && steps > 0 && tempFiles(tempDir).length > 0) {
              send();
              isKilledDuringWrite = true;
            }
          }, 1);
    // Step lines are counted as they complete (not by re-splitting all of stdout per chunk: a loaded
    // machine must not slow the reader, or the child runs further past the kill point).
    let partial = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const lines = (partial + s).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith(prefix)) steps++;
      if (kill?.afterSteps !== undefined && steps >= kill.afterSteps) send();
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (poll !== undefined) clearInterval(poll);
      resolve({ code, signal, stdout, stderr, steps, isKilledDuringWrite: isKilledDuringWrite && signal === 'SIGKILL' });
    });
  });
}

/** A run folder's results, for comparing an interrupted run with an uninterrupted one. */
export interface RunResult {
  readonly model: Buffer;
  /** metrics.csv without the `seconds` column (wall time differs between runs). */
  readonly metrics: string;
  /** Samples trained over the whole run (every epoch): metrics.csv's last `samples`. */
  readonly samplesTrained: number;
  /** rejected.csv as written (null when the run folder has none). */
  readonly rejected: string | null;
  readonly summary: { rowsTrained: number; rowsSkipped: number; dataRows: number; skippedByCode: Record<string, number>; steps: number; epochs: number; trainLoss: number | null };
}

export function readRun(dir: string): RunResult {
  const text = readFileSync(join(dir, 'metrics.csv'), 'utf8');
  const last = text.trimEnd().split('\n').at(-1) ?? '';
  const metrics = text
    .split('\n')
    .map((l) => l.split(',').slice(0, 9).join(','))
    .join('\n');
  const s = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as RunResult['summary'];
  return {
    model: readFileSync(join(dir, 'model.json')),
    metrics,
    samplesTrained: Number(last.split(',')[3]),
    rejected: existsSync(join(dir, 'rejected.csv')) ? readFileSync(join(dir, 'rejected.csv'), 'utf8') : null,
    summary: { rowsTrained: s.rowsTrained, rowsSkipped: s.rowsSkipped, dataRows: s.dataRows, skippedByCode: s.skippedByCode, steps: s.steps, epochs: s.epochs, trainLoss: s.trainLoss },
  };
}

/** Whether two runs ended the same: model.json byte for byte, metrics.csv (no timing), rejected.csv and the summary counters. */
export function sameResult(a: RunResult, b: RunResult): boolean {
  return a.model.equals(b.model) && a.metrics === b.metrics && a.rejected === b.rejected && JSON.stringify(a.summary) === JSON.stringify(b.summary);
}

export const hasCheckpoint = (dir: string): boolean => existsSync(dir) && readdirSync(dir).some((n) => /^ckpt-\d+\.bin$/.test(n));
