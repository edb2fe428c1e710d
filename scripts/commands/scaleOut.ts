/**
 * `deltaflow train … --redis redis://HOST:PORT --procs N`: the same training run, with each batch's
 * gradients computed by N slices on worker processes coordinated through Redis (Streams for tasks and
 * results, one MULTI/EXEC per version for the checkpoint; docs/scale-out.md). This process stays the
 * coordinator: it reads, shuffles and batches the data, averages, applies the optimizer, evaluates and
 * writes the run folder exactly as a single-process run does, so the model is bit for bit that of
 * `--workers N`. It starts `--spawn` (default N) local `deltaflow worker` processes; more can join
 * from other machines with `deltaflow worker --redis URL --job NAME`.
 *
 * What train.ts needs from here: the options (addScaleOutOptions), the checkpoint mirror its session
 * commits every boundary to and resumes from (the job's Redis state), and `fit` — fit itself without
 * --redis, else fit on the job's gradient pool, closing the job when the run ends and writing
 * workers.json (per worker: rows, slices, seconds computing and waiting, bytes sent; and where the
 * coordinator's step time went) into the run folder.
 */
import { writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { finalize, tap } from 'rxjs';
import type { Model } from '../../src/layers/sequential.js';
import { configHash, type JsonValue } from '../../src/streams/checkpoint/checkpoint.js';
import { openDistributedJob, type CheckpointMirror, type DistributedFigures } from '../../src/streams/distributed/distributedPool.js';
import { fit } from '../../src/streams/training/fit.js';
import type { Loss } from '../../src/streams/training/lossHead.js';
import * as parse from './args.js';
import { CliError } from './args.js';

export interface ScaleOutFlags {
  readonly redis?: string;
  readonly procs?: number;
  readonly job?: string;
  readonly spawn?: number;
  readonly heartbeatMs?: number;
  readonly waitTimeout?: number;
  /** false (--no-local-slice): this process computes no slice, --procs workers compute them all. */
  readonly localSlice?: boolean;
}

export interface ScaleOut {
  /** For the checkpoint session: undefined without --redis. */
  readonly mirror: CheckpointMirror | undefined;
  /** fit, or fit on the distributed job. */
  readonly fit: typeof fit;
}

const DEFAULT_WAIT_S = 60;
const DEFAULT_HEARTBEAT_MS = 2000;

function procs(text: string): number {
  const n = Number(text.trim());
  if (!/^\s*\d+\s*$/.test(text) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected at least 1 worker process (a positive integer).');
  return n;
}

/** `--redis`, `--procs`, `--job`, `--spawn`, `--heartbeat-ms`, `--wait-timeout`. */
export function addScaleOutOptions(command: Command): Command {
  return command
    .option('--redis <url>', 'train across processes and machines: coordinate through this Redis, redis://HOST:PORT (a server, or any node of a Cluster); needs --procs')
    .option('--procs <n>', 'with --redis: slices per batch, one per process: this one computes slice 0, worker processes the others (the model equals --workers N bit for bit)', procs)
    .option('--no-local-slice', 'with --redis: this process computes no slice; --procs worker processes compute them all')
    .option('--job <name>', 'with --redis: the job name workers join (default: the run folder\'s name)')
    .option('--spawn <n>', 'with --redis: local worker processes to start (default: --procs; with slice 0 computed here, one of them is a spare); others join with deltaflow worker --redis URL --job NAME', parse.nonNegativeInt)
    .option('--heartbeat-ms <ms>', `with --redis: workers' heartbeat TTL; a worker silent this long has its slices recomputed elsewhere (default ${DEFAULT_HEARTBEAT_MS})`, parse.positiveInt)
    .option('--wait-timeout <seconds>', `with --redis: give up after this long without progress (workers joining, a slice, Redis coming back); default ${DEFAULT_WAIT_S}`, parse.positiveNumber)
    .hook('preAction', (cmd) => {
      // The slices per batch are --procs: --workers follows it (and is stored so), unless given otherwise.
      const o = cmd.opts<{ procs?: number; workers?: number }>();
      if (o.procs === undefined) return;
      if (cmd.getOptionValueSource('workers') === 'cli' && o.workers !== o.procs) {
        throw new CliError(`--workers ${o.workers} with --procs ${o.procs}: with --redis the batch is split into --procs slices; drop --workers`);
      }
      cmd.setOptionValueWithSource('workers', o.procs, 'implied');
    });
}

const jobNameOf = (runDir: string): string => basename(runDir).replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 100) || 'deltaflow';

/**
 * Claim the job (without --redis: nothing) and return the mirror and fit train.ts uses.
 *
 * @example const scaleOut = await startScaleOut(options, { model, loss, config, runDir, isResume }); scaleOut.fit(model, fitOptions)
 */
export async function startScaleOut(
  options: ScaleOutFlags & { readonly quiet: boolean; readonly workers: number; readonly force: boolean },
  parts: { readonly model: Model; readonly loss: Loss; readonly config: JsonValue; readonly runDir: string; readonly isResume: boolean },
): Promise<ScaleOut> {
  const { redis } = options;
  if (redis === undefined) {
    if (options.procs !== undefined || options.job !== undefined || options.spawn !== undefined) throw new CliError('--procs, --job and --spawn need --redis redis://HOST:PORT (the Redis that coordinates the worker processes)');
    if (options.localSlice === false) throw new CliError('--no-local-slice needs --redis redis://HOST:PORT and --procs N');
    return { mirror: undefined, fit };
  }
  if (options.procs === undefined) throw new CliError('--redis needs --procs N: the number of slices (worker processes) each batch is split into');
  if (options.workers !== options.procs) throw new CliError(`--workers ${options.workers} with --procs ${options.procs}: with --redis the batch is split into --procs slices`);
  const job = options.job ?? jobNameOf(parts.runDir);
  const say = (line: string): void => {
    if (!options.quiet) process.stderr.write(`deltaflow: ${line}\n`);
  };
  const waitS = options.waitTimeout ?? DEFAULT_WAIT_S;
  const localSlice = options.localSlice ?? true;
  // N local workers either way: with slice 0 computed here, N − 1 hold slices and one stands by as a spare
  // (it takes a lapsed worker's slices at once, instead of waiting for a restart).
  const spawnCount = options.spawn ?? options.procs;
  const cli = fileURLToPath(new URL('../cli.js', import.meta.url));
  const workerArgs = [cli, 'worker', '--redis', redis, '--job', job, '--wait-timeout', String(waitS), ...(options.quiet ? ['--quiet'] : [])];
  let distributed;
  try {
    distributed = await openDistributedJob(parts.model, {
      url: redis,
      job,
      slices: options.procs,
      localSlice,
      loss: parts.loss,
      configHash: configHash(parts.config),
      isResume: parts.isResume,
      replace: options.force,
      ...(spawnCount > 0 ? { spawn: { command: process.execPath, args: workerArgs, count: spawnCount } } : {}),
      heartbeatMs: options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS,
      waitTimeoutMs: waitS * 1000,
      log: say,
    });
  } catch (e) {
    if (e instanceof RangeError) throw new CliError(`--job: ${e.message}`);
    throw e;
  }
  const d = distributed;
  say(`coordinating job ${job} on ${redis} (run epoch ${d.epoch}): ${options.procs} slices per batch${localSlice ? ' (slice 0 computed here)' : ''}, ${spawnCount} local worker(s)${localSlice && spawnCount >= options.procs ? ' (one a spare)' : ''}; more join with: deltaflow worker --redis ${redis} --job ${job}`);
  let isDone = false;
  let isClosed = false;
  const report = (f: DistributedFigures): void => {
    writeFileSync(join(parts.runDir, 'workers.json'), `${JSON.stringify({ job, runEpoch: d.epoch, slices: options.procs, ...f }, null, 2)}\n`);
    for (const w of f.workers) {
      say(`worker ${w.worker} (pid ${w.pid}${w.isAlive ? '' : ', lost'}): ${w.steps} slices, ${w.rows} rows, ${w.secondsComputing.toFixed(1)} s computing, ${w.secondsWaiting.toFixed(1)} s waiting, ${(w.bytesSent / 1e6).toFixed(1)} MB sent`);
    }
    const c = f.coordinator;
    if (c.steps > 0) {
      const ms = (s: number): string => ((1000 * s) / c.steps).toFixed(2);
      const own = c.localRows > 0 ? `, ${ms(c.computeSeconds)} ms computing its own slice (${c.localRows} rows)` : '';
      say(`coordinator: ${c.steps} steps; per step ${ms(c.serializeSeconds)} ms serializing, ${ms(c.redisSeconds)} ms on Redis round trips, ${ms(c.waitSeconds)} ms waiting for slices${own}; ${c.staleResults} stale results ignored, ${c.reassigned} slices reassigned, ${c.restarts} local workers restarted`);
    }
  };
  const close = (): void => {
    if (isClosed) return;
    isClosed = true;
    d.close(isDone).then(report, (e: unknown) => {
      process.stderr.write(`deltaflow: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 1;
    });
  };
  const fitOnJob: typeof fit = (model, o) =>
    fit(model, { ...o, workers: undefined, pool: d.pool }).pipe(
      tap((e) => {
        if (e.type === 'epoch' && e.epoch === o.epochs) isDone = true;
      }),
      finalize(close),
    );
  return { mirror: d.mirror, fit: fitOnJob };
}
