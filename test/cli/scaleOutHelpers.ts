/**
 * Helpers for the scale-out tests: a small data set, the training flags every run shares, and a
 * coordinator run that can be watched (step lines, the PIDs of the workers that joined) and
 * interfered with (SIGKILL, SIGSTOP/SIGCONT of a worker or of the coordinator, always by PID).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, rng } from './cliHelpers.js';

/** `label,p0..p63`: eight classes of 8×8 bars with noise (as writeBars), n rows, scaled to [0, 1] by --scale. */
export function barsCsv(n: number, seed: number): string {
  const u = rng(seed);
  const lines = [['label', ...Array.from({ length: 64 }, (_, i) => `p${i}`)].join(',')];
  for (let i = 0; i < n; i++) {
    const k = i % 8;
    const px: number[] = [];
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) px.push(Math.round(((k < 4 ? r >> 1 === k : c >> 1 === k - 4) ? 200 : 30) + 50 * (u() - 0.5)));
    lines.push([k, ...px].join(','));
  }
  return `${lines.join('\n')}\n`;
}

/** The flags of every run of these tests (Adam with cosine decay, a shuffle window, two epochs). */
export const TRAIN_FLAGS = ['--classes', '8', '--scale', '0.004', '--epochs', '2', '--batch', '32', '--shuffle', '100', '--seed', '5'];

export interface Watched {
  readonly child: ChildProcess;
  /** Step lines seen so far (with --json --json-steps). */
  steps(): number;
  /** PIDs of the workers the coordinator reported as joined, in order. */
  workerPids(): number[];
  stderr(): string;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/** Start `deltaflow …args` and watch it. */
export function watchRun(args: readonly string[], options: { cwd: string; env?: Record<string, string> }): Watched {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: options.cwd, env: { ...process.env, DELTAFLOW_DEBUG: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let steps = 0;
  let partial = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    const lines = (partial + s).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.startsWith('{"type":"step"')) steps++;
  });
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  return {
    child,
    steps: () => steps,
    workerPids: () => [...stderr.matchAll(/\(host [^,]+, pid (\d+)\) joined job/g)].map((m) => Number(m[1])),
    stderr: () => stderr,
    done,
  };
}

/** Resolves once `cond()` holds (checked every 5 ms), or rejects after `ms`. */
export async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The run folder's workers.json. */
export function readWorkers(dir: string): { coordinator: Record<string, number>; workers: { worker: string; pid: number; rows: number; steps: number; isAlive: boolean }[] } {
  return JSON.parse(readFileSync(join(dir, 'workers.json'), 'utf8'));
}

/** Whether a process is still there (signal 0, by PID). */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
