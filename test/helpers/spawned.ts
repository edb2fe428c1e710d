/**
 * A long-running program of ours (`deltaflow train --dashboard`, the replay, `npm run demo`) started
 * for a test: its output collected, a wait for a line matching a pattern, and a stop by its PID.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = resolve(ROOT, 'dist/scripts/cli.js');

export interface Spawned {
  readonly child: ChildProcessWithoutNullStreams;
  readonly output: { stdout: string; stderr: string };
  /** Resolves with the first match of `pattern` in stdout or stderr (rejects at exit or after `ms`). */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** The exit code. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after 3 s; resolves at exit. */
  stop(): Promise<void>;
}

/** Run `node script …args` in the repository root. */
export function spawnNode(script: string, args: readonly string[]): Spawned {
  const child = spawn(process.execPath, [script, ...args], { cwd: ROOT, env: { ...process.env, DELTAFLOW_DEBUG: '' }, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    output.stdout += s;
    for (const l of listeners) l();
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    output.stderr += s;
    for (const l of listeners) l();
  });
  child.stdin.on('error', () => undefined);
  let isExited = false;
  const exited = new Promise<number | null>((r) =>
    child.on('close', (code) => {
      isExited = true;
      for (const l of listeners) l();
      r(code);
    }),
  );
  return {
    child,
    output,
    exited,
    waitFor(pattern, ms = 30_000) {
      return new Promise((resolvePromise, reject) => {
        const timer = setTimeout(() => done(new Error(`no ${pattern} within ${ms} ms; stderr: ${output.stderr.slice(-500)}`)), ms);
        const check = (): void => {
          const m = pattern.exec(output.stdout) ?? pattern.exec(output.stderr);
          if (m !== null) done(null, m);
          else if (isExited) done(new Error(`exited before ${pattern}; stderr: ${output.stderr.slice(-500)}`));
        };
        const done = (err: Error | null, m?: RegExpExecArray): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err !== null || m === undefined) reject(err ?? new Error('no match'));
          else resolvePromise(m);
        };
        listeners.add(check);
        check();
      });
    },
    async stop() {
      if (isExited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** `deltaflow …args`. */
export const spawnCli = (args: readonly string[]): Spawned => spawnNode(CLI, args);
