/**
 * Helpers for the `deltaflow serve` tests: start the built CLI as a real server on a free loopback
 * port (`--port 0`; the port is read from its first line), talk to it with fetch or a raw socket,
 * and stop it by PID with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { forwardAll } from '../../src/layers/sequential.js';
import { modelFromJson } from '../../src/layers/modelFile.js';
import { initKernels } from '../../src/ops/kernels.js';
import { metaFromJson } from '../../scripts/commands/meta.js';
import { predictions, type Prediction } from '../../scripts/serve/answers.js';
import { CLI } from './cliHelpers.js';

export interface Served {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (SIGTERM by default) and resolves with the exit code and output. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Starts `deltaflow serve …args --port 0`; rejects with its stderr if it exits first. */
export function startServe(args: readonly string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, DELTAFLOW_DEBUG: '', DELTAFLOW_TOKEN: '', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let isStarted = false;
    const exited = new Promise<{ code: number | null; stdout: string; stderr: string }>((done) => child.on('close', (code) => done({ code, stdout, stderr })));
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
      const m = /listening on (http:\/\/[^ ]+:(\d+))/.exec(stdout);
      if (m !== null && !isStarted) {
        isStarted = true;
        resolve({
          url: m[1],
          port: Number(m[2]),
          child,
          stdout: () => stdout,
          stderr: () => stderr,
          stop: (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            return exited;
          },
        });
      }
    });
    child.stderr?.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    void exited.then((r) => {
      if (!isStarted) reject(new Error(`serve exited with ${r.code} before listening: ${r.stderr}`));
    });
  });
}

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  /** The parsed body (JSON.parse's own type), null when the body is not JSON. */
  readonly json: any;
}

/** One request with fetch; the body parsed as JSON when it is JSON. */
export async function call(url: string, path: string, init: { method?: string; body?: string; type?: string; token?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.type !== undefined) headers['Content-Type'] = init.type;
  if (init.token !== undefined) headers.Authorization = `Bearer ${init.token}`;
  const res = await fetch(`${url}${path}`, { method: init.method ?? (init.body === undefined ? 'GET' : 'POST'), body: init.body, headers });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: res.status, text, headers: res.headers, json };
}

export const postJson = (url: string, path: string, value: unknown, token?: string): Promise<Answer> =>
  call(url, path, { body: JSON.stringify(value), type: 'application/json', ...(token === undefined ? {} : { token }) });

/** Raw bytes to the server, then everything it answers until it closes (or `ms` pass). */
export function rawExchange(port: number, chunks: readonly (string | Buffer)[], options: { gapMs?: number; ms?: number } = {}): Promise<{ data: string; closedAfterMs: number }> {
  return new Promise((resolve) => {
    const start = Date.now();
    const socket = connect(port, '127.0.0.1');
    let data = '';
    let i = 0;
    let timer: NodeJS.Timeout | undefined;
    const finish = (): void => {
      clearTimeout(timer);
      clearTimeout(cap);
      socket.destroy();
      resolve({ data, closedAfterMs: Date.now() - start });
    };
    const cap = setTimeout(finish, options.ms ?? 5000);
    const next = (): void => {
      if (i >= chunks.length || socket.destroyed) return;
      socket.write(chunks[i++]);
      timer = setTimeout(next, options.gapMs ?? 0);
    };
    socket.on('connect', next);
    socket.on('data', (d) => (data += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', finish);
  });
}

/** The predictions a model file gives `rows` (feature vectors already read as the server reads them), recomputed here. */
export async function recompute(file: string, xs: readonly Float32Array[], ids: readonly (string | null)[]): Promise<Prediction[]> {
  await initKernels();
  const { model, meta } = modelFromJson(readFileSync(file, 'utf8'));
  const dataMeta = metaFromJson(meta, file);
  if (dataMeta === null) throw new Error(`${file}: no meta`);
  const n = xs[0].length;
  const x = new Float32Array(xs.length * n);
  xs.forEach((v, i) => x.set(v, i * n));
  const y = forwardAll(model, { data: x, shape: [xs.length, ...model.input] });
  const k = y.data.length / xs.length;
  return predictions(dataMeta, y.data, xs.length, k, ids);
}

/** Waits until `check` is true, polling every 20 ms (at most `ms`: generous, a loaded machine answers slowly). */
export async function waitFor(check: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The servers a test file starts, all stopped at its end. */
export class ServerPool {
  private readonly servers: Served[] = [];

  constructor(private readonly cwd: () => string) {}

  async start(args: readonly string[]): Promise<Served> {
    const s = await startServe(args, { cwd: this.cwd() });
    this.servers.push(s);
    return s;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.stop()));
  }
}
