/**
 * A PassRunner whose system lives in a child process that stays alive across passes (so passes
 * alternate with other systems without paying start-up each time).
 *
 * Protocol, one JSON object per line: the parent writes `{"cmd":"run","batches":k}` or
 * `{"cmd":"quit"}` on the child's stdin; the child answers on stdout with lines starting `@@ `:
 * `@@ {"ready":{version,threads,note}}` once after start, `@@ {"pass":{samples,seconds,loss}}` per run,
 * or `@@ {"error":"…"}`. Other stdout lines (library banners) are ignored; stderr is kept for errors.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { UnsupportedError, type PassResult, type PassRunner, type RunnerInfo } from './runner.js';
import type { WorkloadId } from './workloads.js';

type Reply = { ready: RunnerInfo } | { pass: PassResult } | { error: string };

const PREFIX = '@@ ';

/** Errors that mean "this system has no way to train this workload", not "the bench broke". */
const UNSUPPORTED = /not registered for backend/;

export class ChildRunner implements PassRunner {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly replies: Reply[] = [];
  private waiter: ((r: Reply) => void) | null = null;
  private stderrTail = '';
  private exitNote = '';

  constructor(
    readonly id: string,
    readonly label: string,
    readonly workload: WorkloadId,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  async start(): Promise<RunnerInfo> {
    const child = spawn(this.command, [...this.args], { env: this.env, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-2000);
    });
    const failAll = (why: string): void => {
      this.exitNote = why;
      this.deliver({ error: `${why}${this.stderrTail ? `; stderr: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}` });
    };
    child.on('error', (e) => failAll(`cannot start ${this.command}: ${e.message}`));
    child.on('exit', (code, signal) => failAll(`${this.id} process exited (code ${code}, signal ${signal})`));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith(PREFIX)) return;
      this.deliver(JSON.parse(line.slice(PREFIX.length)) as Reply);
    });
    const r = await this.next();
    if ('ready' in r) return r.ready;
    throw this.failure(r);
  }

  async run(batches: number): Promise<PassResult> {
    this.send({ cmd: 'run', batches });
    const r = await this.next();
    if ('pass' in r) return r.pass;
    throw this.failure(r);
  }

  async close(): Promise<void> {
    const child = this.child;
    if (child === null || child.exitCode !== null || this.exitNote) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.send({ cmd: 'quit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  private send(cmd: object): void {
    if (this.child === null || this.exitNote) return;
    this.child.stdin.write(`${JSON.stringify(cmd)}\n`);
  }

  private deliver(r: Reply): void {
    if (this.waiter !== null) {
      const w = this.waiter;
      this.waiter = null;
      w(r);
    } else this.replies.push(r);
  }

  private next(): Promise<Reply> {
    const r = this.replies.shift();
    if (r !== undefined) return Promise.resolve(r);
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  private failure(r: Reply): Error {
    const msg = 'error' in r ? r.error : `unexpected reply ${JSON.stringify(r)}`;
    return UNSUPPORTED.test(msg) ? new UnsupportedError(this.label, this.workload, msg) : new Error(`${this.label} ${this.workload}: ${msg}`);
  }
}
