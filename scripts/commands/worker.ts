/**
 * `deltaflow worker --redis URL --job NAME`: join a distributed training job from any machine that
 * can reach its Redis, and compute the gradient slices the coordinator (`deltaflow train --redis URL
 * --procs N`) hands it, until the job is done (runWorker.ts has the protocol). It prints one line when
 * it joins and one when it ends; a refusal (a worker whose kernels or model differ from the job's)
 * is one line naming the field, and exit code 1.
 *
 * Started by a coordinator (`--procs N` starts N of them), it has an IPC channel and exits when the
 * coordinator does. Test-only, from the environment: DELTAFLOW_WORKER_DELAY_MS sleeps before each
 * result is sent (a slow worker, to pause or kill it mid-step).
 */
import { Command } from 'commander';
import { runWorker, WorkerRefusedError } from '../../src/streams/distributed/runWorker.js';
import * as parse from './args.js';
import { CliError } from './args.js';

export const WORKER_DELAY_ENV = 'DELTAFLOW_WORKER_DELAY_MS';

interface WorkerCliOptions {
  readonly redis: string;
  readonly job: string;
  readonly waitTimeout: number;
  readonly quiet: boolean;
}

async function runWorkerCommand(o: WorkerCliOptions): Promise<void> {
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  // Started by a coordinator: end with it.
  if (process.send !== undefined) process.once('disconnect', () => process.exit(0));
  const say = (line: string): void => {
    if (!o.quiet) process.stderr.write(`deltaflow worker: ${line}\n`);
  };
  const delay = Number(process.env[WORKER_DELAY_ENV] ?? 0);
  try {
    const outcome = await runWorker({ url: o.redis, job: o.job, waitTimeoutMs: o.waitTimeout * 1000, log: say, signal: stop.signal, ...(delay > 0 ? { delayMs: delay } : {}) });
    const f = outcome.figures;
    say(`${outcome.reason === 'done' ? `job ${o.job} is done` : 'stopped'}: ${f.steps} slices, ${f.rows} rows, ${f.secondsComputing.toFixed(1)} s computing, ${f.secondsWaiting.toFixed(1)} s waiting, ${(f.bytesSent / 1e6).toFixed(1)} MB sent`);
  } catch (e) {
    if (e instanceof WorkerRefusedError) throw new CliError(e.message);
    throw e;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

export function workerCommand(): Command {
  return new Command('worker')
    .description('join a distributed training job on Redis (deltaflow train --redis URL --procs N) and compute its gradient slices')
    .requiredOption('--redis <url>', 'the job\'s Redis: redis://HOST:PORT (a server, or any node of a Cluster)')
    .requiredOption('--job <name>', 'the job to join (the coordinator prints it)')
    .option('--wait-timeout <seconds>', 'give up when the job does not appear, or Redis is unreachable, for this long', parse.positiveNumber, 60)
    .option('--quiet', 'print nothing but errors', false)
    .action(async (o: WorkerCliOptions) => runWorkerCommand(o));
}
