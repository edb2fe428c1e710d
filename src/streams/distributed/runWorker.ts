/**
 * A gradient worker process of a distributed job (`deltaflow worker --redis URL --job J`): it reads
 * the job's config, rebuilds the model from its layer specs, joins (XADD to df:{J}:ctl with its
 * fingerprint), keeps a heartbeat key alive (SET PX heartbeatMs, three times per TTL), and then, for
 * every task in its inbox:
 *
 *   1. checks the fence — the job's uid and run epoch (a task of another job or of an earlier run is
 *      dropped; a newer run epoch makes it read the config again and join that run);
 *   2. takes the weights of the task's model version from the task itself (field `w`, between
 *      commits), or from the df:{J}:weights stream, which it reads in the same blocking XREAD as its
 *      inbox, so a committed version's weights are there before its tasks (the coordinator publishes
 *      them first) without a round trip; a task of a version older than the newest weights is stale
 *      and dropped; rows come raw or packed (packValues.ts);
 *   3. runs backprop on the slice — the same kernels and order as a gradient thread of
 *      parallelBackprop, so the Σ-gradients have the same bits — and XADDs them to df:{J}:out with the
 *      task's fence (uid, epoch, version, step, slice, attempt) and its running figures, and blocks on
 *      its inbox again at once (the XADD's reply is read after the next wake-up).
 *
 * A refusal (another fingerprint) ends it with the coordinator's reason; `dropped` (its heartbeat had
 * lapsed, so its slices went elsewhere) makes it join again under a new name. A finished job (`done`
 * in the config) ends it. A lost connection is retried for waitTimeoutMs, then it fails naming the
 * server; so does a job that does not appear within waitTimeoutMs.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createModel, type Model } from '../../layers/sequential.js';
import { initKernels } from '../../ops/kernels.js';
import { sizeOf } from '../../ops/tensor.js';
import { connectRedis, type RedisConnection } from '../sources/redis/redisConnection.js';
import { RedisStreamError } from '../sources/redis/redisError.js';
import { parseRedisUrl } from '../sources/redis/redisUrl.js';
import { partitionKey } from '../sources/redis/partitions.js';
import type { EntrySchemaOptions } from '../sources/redis/redisEntry.js';
import { PartitionReader, partitionSeed } from './partitionReader.js';
import { meanSquaredError, softmaxCrossEntropy, type Backward, type Loss } from '../training/lossHead.js';
import type { Batch, RowOrigin } from '../types.js';
import { DistributedError } from './distributedError.js';
import { fingerprintOf } from './fingerprint.js';
import { parseJobConfig, type JobConfig } from './jobConfig.js';
import { jobKeys } from './jobKeys.js';
import { keepBackprop } from './keepBackprop.js';
import { unpackValues } from './packValues.js';
import { bytesOf, encodeSamples, entryOf, f32Of, fieldOf, headerOf, i32Of, xreadEntries, type WorkerFigures } from './wire.js';

export interface WorkerOptions {
  readonly url: string;
  readonly job: string;
  /** Longest wait for the job to appear or Redis to come back (ms); default 60 000. */
  readonly waitTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Aborting ends the worker at its next read. */
  readonly signal?: AbortSignal;
  /** Testing only: sleep this long before sending each result (a slow worker). */
  readonly delayMs?: number;
}

export interface WorkerOutcome {
  /** `done`: the job finished; `stopped`: the signal aborted it. */
  readonly reason: 'done' | 'stopped';
  readonly figures: WorkerFigures;
}

/** The coordinator refused this worker: the reason names the field that differs. */
export class WorkerRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkerRefusedError';
  }
}

const losses: Record<Loss['name'], () => Loss> = { softmaxCrossEntropy, meanSquaredError };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** A lost connection, a timeout, or a Cluster that is down or resharding: worth waiting for. */
const isTransient = (e: unknown): boolean =>
  e instanceof RedisStreamError && (e.code === 'REDIS_UNREACHABLE' || e.code === 'REDIS_TIMEOUT' || (e.code === 'REDIS_COMMAND' && /CLUSTERDOWN|TRYAGAIN/.test(e.message)));
const WORKER_ORIGIN: RowOrigin = { source: '(distributed worker slice)', line: 0, record: 0, endOffset: 0 };

/** Rejoin: the run epoch changed, or the coordinator dropped this worker. */
class Rejoin {
  constructor(readonly why: string) {}
}

/**
 * Serve the job's tasks until it is done (or `signal` aborts); see the file comment.
 *
 * @example const outcome = await runWorker({ url: 'redis://127.0.0.1:6379', job: 'mnist' });
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerOutcome> {
  const keys = jobKeys(options.job);
  const target = parseRedisUrl(options.url);
  const waitTimeoutMs = options.waitTimeoutMs ?? 60_000;
  const log = options.log ?? (() => undefined);
  await initKernels();
  const fig = { rows: 0, steps: 0, secondsWaiting: 0, secondsComputing: 0, bytesSent: 0 };
  const connOptions = { forKey: keys.state, timeoutMs: Math.min(5000, waitTimeoutMs) };
  let cmd: RedisConnection = await connectRedis(target, { ...connOptions, name: `deltaflow-worker:${options.job}` });
  let rd: RedisConnection = await connectRedis(target, { ...connOptions, name: `deltaflow-worker:${options.job}:read` });
  const isStopped = (): boolean => options.signal?.aborted === true;
  /** The weights of `version` among the last ones published (a fallback: the XREAD normally brings them). */
  async function findWeights(version: number): Promise<{ wv: number; w: Buffer } | null> {
    const recent = await cmd.sendBuffers(['XREVRANGE', keys.weights, '+', '-', 'COUNT', '8']);
    const e = (Array.isArray(recent) ? recent.map(entryOf) : []).find((x) => x.fields.get('wv')?.toString('utf8') === String(version));
    return e === undefined ? null : { wv: version, w: fieldOf(e, 'w') };
  }

  /** Partition readers this worker owns, by partition, and their connections (to each partition's master). */
  const readers = new Map<number, { readonly dataEpoch: number; readonly reader: PartitionReader }>();
  const partitionConns = new Map<string, RedisConnection>();


  async function reconnect(cause: unknown): Promise<void> {
    cmd.destroy();
    rd.destroy();
    log(`lost Redis (${cause instanceof Error ? cause.message : String(cause)}); reconnecting for up to ${(waitTimeoutMs / 1000).toFixed(0)} s`);
    const deadline = performance.now() + waitTimeoutMs;
    for (;;) {
      try {
        cmd = await connectRedis(target, { ...connOptions, name: `deltaflow-worker:${options.job}` });
        rd = await connectRedis(target, { ...connOptions, name: `deltaflow-worker:${options.job}:read` });
        return;
      } catch (e) {
        if (performance.now() > deadline || isStopped()) throw new DistributedError(`Redis at ${target.display} is down: no connection for ${(waitTimeoutMs / 1000).toFixed(0)} s (${e instanceof Error ? e.message : String(e)})`);
        await sleep(200);
      }
    }
  }

  /** The job's config, waiting for it to appear; null when the job is done. */
  async function readConfig(): Promise<JobConfig | null> {
    const deadline = performance.now() + waitTimeoutMs;
    for (;;) {
      const text = await cmd.send(['GET', keys.config]);
      const config = typeof text === 'string' ? parseJobConfig(text) : null;
      if (config !== null) return config.done === true ? null : config;
      if (performance.now() > deadline) {
        throw new DistributedError(`no job ${options.job} at ${target.display} within ${(waitTimeoutMs / 1000).toFixed(0)} s (start it with: deltaflow train --redis ${target.display} --job ${options.job} …)`);
      }
      if (isStopped()) return null;
      await sleep(250);
    }
  }

  try {
    for (;;) {
      let config: JobConfig | null;
      try {
        config = await readConfig();
      } catch (e) {
        if (!isTransient(e)) throw e;
        await reconnect(e);
        continue;
      }
      if (config === null || isStopped()) return { reason: isStopped() ? 'stopped' : 'done', figures: { ...fig } };
      try {
        await serve(config);
        return { reason: isStopped() ? 'stopped' : 'done', figures: { ...fig } };
      } catch (e) {
        if (e instanceof Rejoin) {
          log(`joining job ${options.job} again: ${e.why}`);
          continue;
        }
        if (!isTransient(e)) throw e;
        await reconnect(e);
      }
    }
  } finally {
    cmd.destroy();
    rd.destroy();
    for (const c of partitionConns.values()) c.destroy();
  }

  /** Join the run of `config` and compute its tasks; returns when the job is done or stopped. */
  async function serve(config: JobConfig): Promise<void> {
    const lossOf = losses[config.loss];
    if (lossOf === undefined) throw new DistributedError(`job ${options.job} trains with loss ${String(config.loss)}, which this deltaflow does not know`);
    const model = createModel(config.input, config.specs, config.seed);
    const nIn = sizeOf(model.input);
    const nOut = sizeOf(model.outShape);
    const nParams = model.params.reduce((n, p) => n + p.value.length, 0);
    const step = keepBackprop(model, lossOf(), 'worker');
    const worker = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const inbox = keys.inbox(worker);
    const hb = keys.heartbeat(worker);
    const beat = (): Promise<unknown> => cmd.send(['SET', hb, '1', 'PX', String(config.heartbeatMs)]);
    await beat();
    const timer = setInterval(() => void beat().catch(() => undefined), Math.max(20, Math.floor(config.heartbeatMs / 3)));
    timer.unref();
    try {
      const join = { kind: 'join', worker, uid: config.uid, epoch: config.epoch, host: hostname(), pid: process.pid, fingerprint: fingerprintOf(config.input, config.specs, config.seed, config.configHash) };
      await cmd.send(['XADD', keys.ctl, 'MAXLEN', '~', '1000', '*', 'h', JSON.stringify(join)]);
      log(`joined job ${options.job} (run epoch ${config.epoch}) as ${worker}`);
      let inboxId = '0-0';
      let weightsId = '0-0';
      let wv = -1;
      let newest: { wv: number; w: Buffer } | null = null;
      let lastConfigCheck = performance.now();
      /** The last result's XADD: not awaited before the next XREAD, so the worker blocks at once. */
      let resultSent: Promise<unknown> | null = null;
      while (!isStopped()) {
        const w0 = performance.now();
        const reply = await rd.sendBuffers(['XREAD', 'COUNT', '16', 'BLOCK', '500', 'STREAMS', inbox, keys.weights, inboxId, weightsId], 500);
        fig.secondsWaiting += (performance.now() - w0) / 1000;
        // The previous result's XADD, answered long since: its failure (a lost connection) surfaces here.
        if (resultSent !== null) {
          const sent = resultSent;
          resultSent = null;
          await sent;
        }
        const streams = xreadEntries(reply);
        for (const e of streams.get(keys.weights) ?? []) {
          weightsId = e.id;
          newest = { wv: Number(e.fields.get('wv')?.toString('utf8') ?? -1), w: fieldOf(e, 'w') };
        }
        const entries = streams.get(inbox) ?? [];
        // An idle wake-up (nothing came) checks whether the job ended or moved on; weights alone are
        // the start of a step whose tasks follow, so the worker reads again at once.
        const isIdle = entries.length === 0 && !streams.has(keys.weights);
        if (isIdle || performance.now() - lastConfigCheck > 1000) {
          lastConfigCheck = performance.now();
          const text = await cmd.send(['GET', keys.config]);
          const now = typeof text === 'string' ? parseJobConfig(text) : null;
          if (now !== null && (now.done === true || now.uid !== config.uid)) return;
          if (now !== null && now.epoch !== config.epoch) throw new Rejoin(`the job has a new run epoch (${now.epoch})`);
        }
        for (const e of entries) {
          inboxId = e.id;
          const h = headerOf(e);
          if (h === null) continue;
          if (h.kind === 'refused') throw new WorkerRefusedError(String(h.reason));
          if (h.kind === 'dropped') throw new Rejoin(`the coordinator dropped it (${String(h.reason)})`);
          if (h.kind === 'rows' && h.uid === config.uid && h.epoch === config.epoch) {
            await serveRows(config, worker, h);
            continue;
          }
          if (h.kind !== 'task' || h.uid !== config.uid) continue;
          if (typeof h.epoch === 'number' && h.epoch > config.epoch) throw new Rejoin(`a task of run epoch ${h.epoch} arrived`);
          if (h.epoch !== config.epoch) continue;
          const version = Number(h.version);
          const rows = Number(h.rows);
          const c0 = performance.now();
          if (wv !== version) {
            // Carried by the task (between commits), or published before it, so read with it or before
            // it; an older version means the task is stale.
            const carried = e.fields.get('w');
            if (carried !== undefined) newest = { wv: version, w: carried };
            if (newest !== null && newest.wv > version) continue;
            if (newest === null || newest.wv !== version) newest = await findWeights(version);
            if (newest === null) continue;
            const weights = f32Of(newest.w, nParams, `job ${options.job} weights of version ${version}`);
            let o = 0;
            for (const p of model.params) {
              p.value.set(weights.subarray(o, o + p.value.length));
              o += p.value.length;
            }
            wv = version;
          }
          const xp = e.fields.get('xp');
          const x = xp === undefined ? f32Of(fieldOf(e, 'x'), rows * nIn, `task ${e.id} x`) : unpackValues(xp, rows * nIn, `task ${e.id} x`);
          const t = f32Of(fieldOf(e, 't'), rows * nOut, `task ${e.id} target`);
          const labels = h.hasLabels === true ? i32Of(fieldOf(e, 'l'), rows, `task ${e.id} labels`) : null;
          const b = step({
            x: { data: x, shape: [rows, ...model.input] },
            target: { data: t, shape: [rows, nOut] },
            labels,
            m: rows,
            origins: new Array<RowOrigin>(rows).fill(WORKER_ORIGIN),
          });
          const grads = new Float32Array(nParams);
          let o = 0;
          b.grads.forEach((layerGrads, i) => {
            if (layerGrads === undefined) throw new DistributedError(`worker: layer ${i} has no gradients`);
            for (const g of layerGrads) {
              grads.set(g, o);
              o += g.length;
            }
          });
          const stats = new Float64Array([b.lossSum, b.correct ?? NaN]);
          const output = b.output.data.slice(0, rows * nOut);
          fig.secondsComputing += (performance.now() - c0) / 1000;
          fig.rows += rows;
          fig.steps++;
          if (options.delayMs !== undefined && options.delayMs > 0) {
            log(`holding the result of step ${String(h.step)} slice ${String(h.slice)} for ${options.delayMs} ms`);
            await sleep(options.delayMs);
          }
          const header = { kind: 'result', uid: config.uid, epoch: config.epoch, worker, version, step: h.step, slice: h.slice, attempt: h.attempt, rows, figures: { ...fig } };
          const g = bytesOf(grads);
          const s = bytesOf(stats);
          const out = bytesOf(output);
          fig.bytesSent += g.length + s.length + out.length;
          resultSent = cmd.send(['XADD', keys.out, 'MAXLEN', String(4 * config.slices + 16), '*', 'h', JSON.stringify(header), 'g', g, 's', s, 'o', out]);
          resultSent.catch(() => undefined);
        }
      }
    } finally {
      clearInterval(timer);
      await cmd.send(['DEL', hb]).catch(() => undefined);
    }
  }

  /**
   * A rows request: the next rows of partition p, through its shuffle window. A request that does not
   * continue this worker's reader (another epoch, another start: it took the partition over) replays
   * the partition from its start. A lost connection to the partition's node is retried for
   * waitTimeoutMs; then, like a bad row, the reply carries the error and the coordinator stops with it.
   */
  async function serveRows(config: JobConfig, worker: string, h: Record<string, unknown>): Promise<void> {
    const p = Number(h.p);
    const n = config.slices;
    const key = n === 1 ? String(h.stream) : partitionKey(String(h.stream), p, n);
    const dataEpoch = Number(h.dataEpoch);
    const from = Number(h.from);
    const count = Number(h.count);
    const reply = async (fields: Record<string, unknown>, rows: Buffer | null): Promise<void> => {
      const header = { kind: 'rows', uid: config.uid, epoch: config.epoch, worker, p, dataEpoch, from, attempt: h.attempt, ...fields, figures: { ...fig } };
      const args = ['XADD', keys.out, 'MAXLEN', String(4 * config.slices + 16), '*', 'h', JSON.stringify(header), ...(rows === null ? [] : ['r', rows])];
      if (rows !== null) fig.bytesSent += rows.length;
      await cmd.send(args);
    };
    const deadline = performance.now() + waitTimeoutMs;
    for (;;) {
      try {
        let owned = readers.get(p);
        if (owned === undefined || owned.dataEpoch !== dataEpoch || owned.reader.taken !== from) {
          let conn = partitionConns.get(key);
          if (conn === undefined) {
            conn = await connectRedis(target, { ...connOptions, forKey: key, name: `deltaflow-worker:${key}` });
            partitionConns.set(key, conn);
          }
          const name = `${conn.address}/${key}`;
          const reader = new PartitionReader(conn, key, { schema: h.schema as EntrySchemaOptions, window: Number(h.window), seed: partitionSeed(Number(h.seed), dataEpoch, p), timeoutMs: waitTimeoutMs, name });
          await reader.skip(from);
          owned = { dataEpoch, reader };
          readers.set(p, owned);
        }
        const got = await owned.reader.next(count);
        fig.rows += got.rows.length;
        await reply({ count: got.rows.length, isEnd: got.isEnd }, encodeSamples(got.rows));
        return;
      } catch (e) {
        readers.delete(p);
        const conn = partitionConns.get(key);
        if (isTransient(e) && performance.now() < deadline) {
          conn?.destroy();
          partitionConns.delete(key);
          await sleep(200);
          continue;
        }
        // Not connected yet: the node that could not be reached (a Cluster master), else the URL given.
        const where = conn !== undefined ? conn.address : e instanceof RedisStreamError && e.address !== undefined ? e.address : target.display;
        const message = isTransient(e) ? `Redis node ${where} holding partition ${key} is down: ${e instanceof Error ? e.message : String(e)}` : e instanceof Error ? e.message : String(e);
        await reply({ error: message }, null);
        return;
      }
    }
  }
}
