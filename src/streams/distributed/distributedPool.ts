/**
 * Data parallelism across processes and hosts, coordinated through Redis: `openDistributedJob`
 * claims a job on a Redis server (or Cluster) and returns a gradient pool with the shape of
 * createGradientPool's, so `train(model, { pool })` and `fit(model, { pool })` run unchanged — the
 * reading, shuffling, batching, averaging, optimizer, checkpoints and metrics stay in this process,
 * and only the Σ-gradients of each batch's slices are computed elsewhere, by `deltaflow worker`
 * processes (runWorker.ts):
 *
 *   grads = Σ_s Σ_{x ∈ slice s} ∂C_x/∂θ,  slices of ⌈m/N⌉ rows, added in slice order in float64 and
 *           rounded to float32 once — parallelBackprop's sum, so N processes give the bits N threads give.
 *
 * Claiming a job (keys in jobKeys.ts): the lease `df:{J}:lease` is taken with SET NX PX (a lease held
 * by a live coordinator — one that keeps refreshing it — is refused: "job J is in use"; one left by a
 * killed coordinator lapses by itself, and the claim waits for it); the run epoch is INCRed (every
 * message carries it, so a worker or coordinator of an earlier run is fenced off); the config is
 * written for workers to read.
 *
 * Checkpoints (`mirror`): the CLI's session asks the mirror at every step boundary whether a commit is
 * due (`isDue`: at most every commitEveryMs, default 250) and commits those checkpoints, plus every
 * file checkpoint and each epoch's start, in one MULTI/EXEC (df:{J}:state, with a copy of its weights
 * and naming their version, and the window slots that changed since the previous commit), so Redis
 * always holds a recent version whole, its input position with the state it produced; `latest()`
 * reads it back for `--resume`, which recomputes the steps after it to the same bits. A committed
 * version's weights are published first (an entry of the df:{J}:weights stream, which the workers
 * block on with their inboxes) and the rest of the commit follows the next step's tasks; the versions
 * between commits travel in their steps' tasks.
 *
 * The steps are synchronous (the main thread waits in Atomics.wait while the link thread,
 * coordinatorThread.ts, talks to Redis), so fit's step boundaries and checkpoints mean what they mean
 * in one process. With `localSlice` (the default) a step posts the remote slices to the link thread
 * first and computes slice 0 itself while they travel — as parallelBackprop computes slice 0 on its
 * main thread — so N slices take N − 1 workers; then it adds the slices in slice order.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { Observable, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { sizeOf } from '../../ops/tensor.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint, type CheckpointParam } from '../checkpoint/checkpoint.js';
import { connectRedis, type RedisConnection } from '../sources/redis/redisConnection.js';
import { parseRedisUrl } from '../sources/redis/redisUrl.js';
import type { GradientPool, GradientPoolStats } from '../parallel/parallelBackprop.js';
import type { Backward, Loss } from '../training/lossHead.js';
import type { Batch, Sample, SourcePosition } from '../types.js';
import type { EntrySchemaOptions } from '../sources/redis/redisEntry.js';
import { DistributedError } from './distributedError.js';
import { fingerprintOf } from './fingerprint.js';
import type { JobConfig } from './jobConfig.js';
import { parseJobConfig } from './jobConfig.js';
import { jobKeys, type JobKeys } from './jobKeys.js';
import type { CoordinatorFigures, LinkData, LinkMessage, LinkRequest, StepReply, WorkerReport } from './linkMessages.js';
import { bytesOf, decodeSample, encodeSample, f32Of } from './wire.js';
import { addSlices, type SliceResult } from './addSlices.js';
import { keepBackprop } from './keepBackprop.js';

export type { CoordinatorFigures, WorkerReport } from './linkMessages.js';

export interface DistributedJobOptions {
  /** `redis://HOST:PORT` of a server or of any node of a Cluster. */
  readonly url: string;
  readonly job: string;
  /** N: slices per batch (give it the `--workers N` whose bits to reproduce). */
  readonly slices: number;
  readonly loss: Loss;
  /** SHA-256 of the training config; workers must match it. */
  readonly configHash: string;
  /** Continue the job's committed state (true), or refuse a job that has one (false). */
  readonly isResume: boolean;
  /** Not resuming: delete the job's committed state first instead of refusing it. */
  readonly replace?: boolean;
  /** Local worker processes to start: the command and its arguments (`deltaflow worker …`). */
  readonly spawn?: { readonly command: string; readonly args: readonly string[]; readonly count: number };
  /** Heartbeat TTL of the workers (ms); default 2000. */
  readonly heartbeatMs?: number;
  /** Lease TTL of the coordinator (ms); default 1.5 × heartbeatMs, at least 1000. */
  readonly leaseMs?: number;
  /** Longest wait without progress — for workers to join, for a slice, for Redis to come back (ms); default 60 000. */
  readonly waitTimeoutMs?: number;
  /**
   * The full state (optimizer, counters, shuffle window, input position, a copy of the weights) is
   * committed at most every `commitEveryMs` (and at the first step, each epoch's start, each checkpoint
   * file and a stop); the steps between publish only their weights. A resume replays the steps since
   * the newest commit, so it loses at most that much work and ends with the same bits. Default 250; 0
   * commits every step.
   */
  readonly commitEveryMs?: number;
  /**
   * This process computes slice 0 of every batch itself, while the workers compute slices 1…N−1 —
   * as `--workers N` computes slice 0 on its main thread — so N slices take N − 1 workers; false:
   * N workers compute them all and this process only coordinates. The model is the same either way.
   * Default true.
   */
  readonly localSlice?: boolean;
  /** Lines for the user (joins, refusals, reassignments, reconnects). */
  readonly log?: (line: string) => void;
}

/** What a checkpoint session commits every boundary to, and resumes from (scripts/commands/checkpointing.ts). */
export interface CheckpointMirror {
  /** For messages: `redis://HOST:PORT job J`. */
  readonly name: string;
  /** Whether this boundary's checkpoint is to be committed (building one costs O(P) copies and a hash). */
  isDue(): boolean;
  commit(checkpoint: Checkpoint): void;
  latest(): Promise<Checkpoint | null>;
}

export interface DistributedFigures {
  readonly coordinator: CoordinatorFigures;
  readonly workers: readonly WorkerReport[];
}

/** Partitioned input (`deltaflow publish --partitions N`, N = the job's slices): see partitionedSource. */
export interface PartitionedInput extends EntrySchemaOptions {
  /** The stream name given to publish. */
  readonly stream: string;
  /** Per-partition shuffle window (0: stream order) and seed (partitionReader.ts derives one per partition and epoch). */
  readonly shuffle?: { readonly window: number; readonly seed: number };
  /** Rows fetched per round trip, from every partition together; default 64 per partition. */
  readonly chunk?: number;
}

export interface DistributedJob {
  readonly job: string;
  readonly epoch: number;
  readonly pool: GradientPool;
  readonly mirror: CheckpointMirror;
  /**
   * fit's `trainSource` for partitioned input: worker p reads partition p (through its own seeded
   * shuffle window) and hands its rows on; they arrive here merged round-robin — row k from partition
   * k mod N, the published file's order — so fit batches them as it would the file (give fit no
   * shuffle of its own). A batch of m rows takes m/N from every partition (m must be a multiple of N).
   * A position's `nextRecord` k reads on from row k (each partition from its row k/N).
   */
  partitionedSource(input: PartitionedInput): (epoch: number, start?: SourcePosition) => Observable<Sample>;
  /** Ends the job: waits for the last commit, marks the job done when `isDone`, stops local workers, gives the lease back. */
  close(isDone: boolean): Promise<DistributedFigures>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The link thread entry: next to this file in dist/, or in dist/ when running from TypeScript sources (vitest). */
function linkUrl(): URL {
  const here = import.meta.url;
  const url = here.endsWith('.ts') ? new URL('../../../dist/src/streams/distributed/coordinatorThread.js', here) : new URL('./coordinatorThread.js', here);
  if (!existsSync(fileURLToPath(url))) throw new DistributedError(`openDistributedJob: link entry ${fileURLToPath(url)} not found (run \`npm run build\`)`);
  return url;
}

/**
 * Take the lease: SET NX PX. A holder that refreshes it while we look (its TTL goes up, or another
 * value appears) is a live coordinator: refused. A killed one's lease lapses within leaseMs.
 */
async function takeLease(cmd: RedisConnection, keys: JobKeys, value: string, leaseMs: number, log: (line: string) => void): Promise<void> {
  const deadline = performance.now() + leaseMs + 1000;
  let holder: string | null = null;
  let lastTtl = Infinity;
  for (;;) {
    if ((await cmd.send(['SET', keys.lease, value, 'NX', 'PX', String(leaseMs)])) === 'OK') return;
    const [now, ttl] = await Promise.all([cmd.send(['GET', keys.lease]), cmd.send(['PTTL', keys.lease])]);
    const current = now === null ? null : String(now);
    const live = (): Error => new DistributedError(`job ${keys.job} is in use by a live coordinator (${current ?? holder ?? '?'}): stop it first, or choose another --job`);
    if (current !== null && holder !== null && (current !== holder || Number(ttl) > lastTtl + 20)) throw live();
    if (current !== null && holder === null) log(`job ${keys.job} has a lease (${current}); waiting up to ${(leaseMs / 1000).toFixed(1)} s for it to lapse (a killed coordinator's does)`);
    if (current !== null) holder = current;
    lastTtl = Number(ttl);
    if (performance.now() > deadline) throw live();
    await sleep(Math.min(100, leaseMs / 10));
  }
}

/**
 * Claim `options.job` on Redis for training `model` with N-slice data parallelism; see the file comment.
 *
 * @example
 * const job = await openDistributedJob(model, { url: 'redis://127.0.0.1:6379', job: 'mnist', slices: 2, loss, configHash, isResume: false });
 * await lastValueFrom(fit(model, { ...options, pool: job.pool }));
 * await job.close(true);
 */
export async function openDistributedJob(model: Model, options: DistributedJobOptions): Promise<DistributedJob> {
  const { slices, job } = options;
  if (!(Number.isInteger(slices) && slices >= 1)) throw new RangeError(`openDistributedJob: slices must be a positive integer, got ${slices}`);
  const keys = jobKeys(job);
  const target = parseRedisUrl(options.url);
  const heartbeatMs = options.heartbeatMs ?? 2000;
  const leaseMs = options.leaseMs ?? Math.max(1000, Math.round(1.5 * heartbeatMs));
  const waitTimeoutMs = options.waitTimeoutMs ?? 60_000;
  const log = options.log ?? (() => undefined);
  const cmd = await connectRedis(target, { forKey: keys.state, timeoutMs: Math.min(5000, waitTimeoutMs), name: `deltaflow-coordinator:${job}` });
  const leaseValue = `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  let isLinked = false;
  try {
    await takeLease(cmd, keys, leaseValue, leaseMs, log);
    const [steps, newest, configText] = await Promise.all([cmd.send(['HGET', keys.state, 'steps']), cmd.send(['XREVRANGE', keys.weights, '+', '-', 'COUNT', '1']), cmd.send(['GET', keys.config])]);
    const wv = Array.isArray(newest) && Array.isArray(newest[0]) && Array.isArray(newest[0][1]) ? newest[0][1][1] : null;
    if (steps !== null && !options.isResume && options.replace === true) {
      await cmd.send(['DEL', keys.state, keys.weights, keys.window, keys.ctl, keys.out]);
    } else if (steps !== null && !options.isResume) {
      await cmd.send(['DEL', keys.lease]);
      throw new DistributedError(`job ${job} at ${target.display} already has committed version ${String(steps)}: continue it with --resume, choose another --job, or replace it with --force`);
    }
    const previous = typeof configText === 'string' ? parseJobConfig(configText) : null;
    const epoch = Number(await cmd.send(['INCR', keys.epoch]));
    const uid = options.isResume && previous !== null ? previous.uid : randomBytes(8).toString('hex');
    const fingerprint = fingerprintOf(model.input, model.layers.map((l) => l.spec), model.seed, options.configHash);
    const config: JobConfig = {
      protocol: fingerprint.protocol,
      job,
      uid,
      epoch,
      input: [...model.input],
      specs: model.layers.map((l) => l.spec),
      seed: model.seed,
      loss: options.loss.name,
      slices,
      heartbeatMs,
      configHash: options.configHash,
      fingerprint,
    };
    await cmd.send(['SET', keys.config, JSON.stringify(config)]);
    const startWv = wv === null ? 0 : Number(wv);
    const job$ = startLink(model, options, { keys, target, cmd, epoch, uid, leaseValue, heartbeatMs, leaseMs, waitTimeoutMs, startWv, fingerprint, log });
    isLinked = true;
    return job$;
  } finally {
    if (!isLinked) cmd.destroy();
  }
}

interface Claimed {
  readonly keys: JobKeys;
  readonly target: ReturnType<typeof parseRedisUrl>;
  readonly cmd: RedisConnection;
  readonly epoch: number;
  readonly uid: string;
  readonly leaseValue: string;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  readonly waitTimeoutMs: number;
  readonly startWv: number;
  readonly fingerprint: JobConfig['fingerprint'];
  readonly log: (line: string) => void;
}

function startLink(model: Model, options: DistributedJobOptions, c: Claimed): DistributedJob {
  const nIn = sizeOf(model.input);
  const nOut = sizeOf(model.outShape);
  const nParams = model.params.reduce((n, p) => n + p.value.length, 0);
  const localSlice = options.localSlice ?? true;
  const control = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const data: LinkData = {
    url: options.url,
    job: options.job,
    uid: c.uid,
    epoch: c.epoch,
    leaseValue: c.leaseValue,
    leaseMs: c.leaseMs,
    heartbeatMs: c.heartbeatMs,
    waitTimeoutMs: c.waitTimeoutMs,
    slices: options.slices,
    localSlice,
    nParams,
    nOut,
    expected: c.fingerprint,
    spawn: options.spawn === undefined ? null : { command: options.spawn.command, args: [...options.spawn.args], count: options.spawn.count },
    startWv: c.startWv,
    control: control.buffer as SharedArrayBuffer,
    port: port2,
  };
  const thread = new Worker(linkUrl(), { workerData: data, transferList: [port2] });
  thread.unref();
  let threadError: string | null = null;
  thread.on('error', (e) => (threadError = e.message));
  thread.on('exit', () => {
    threadError ??= 'the Redis link thread exited';
    Atomics.store(control, 0, -1);
    Atomics.notify(control, 0);
  });

  let seq = 0;
  let closed: string | null = null;
  /** Post and block until the link thread answers (its own timeouts are waitTimeoutMs; this is a backstop). */
  function call(req: LinkRequest, transfer: ArrayBuffer[]): StepReply {
    post(req, transfer);
    return awaitReply('seq' in req ? req.seq : 0);
  }
  function post(req: LinkRequest, transfer: ArrayBuffer[]): void {
    if (closed !== null) throw new DistributedError(`distributed job ${options.job}: ${closed}`);
    port1.postMessage(req, transfer);
  }
  /** Blocks until the reply to request `mySeq` (replies to earlier requests, e.g. of a step whose own slice failed, are dropped). */
  function awaitReply(mySeq: number): StepReply {
    const deadline = performance.now() + 3 * c.waitTimeoutMs + 10_000;
    for (;;) {
      const got = Atomics.load(control, 0);
      for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
        const msg = m.message as LinkMessage;
        if (msg.type === 'log') c.log(msg.line);
        else if (msg.seq === mySeq) return msg;
      }
      // NOTE: this thread never yields here, so the thread's 'exit' event cannot run; threadId is -1 once it stopped.
      if (got === -1 || thread.threadId === -1) throw new DistributedError(`distributed job ${options.job}: ${threadError ?? 'the Redis link thread stopped'}`);
      if (performance.now() > deadline) throw new DistributedError(`distributed job ${options.job}: the Redis link thread did not answer within ${((3 * c.waitTimeoutMs + 10_000) / 1000).toFixed(0)} s`);
      Atomics.wait(control, 0, got, 200);
    }
  }
  const drainLogs = (): void => {
    for (let m = receiveMessageOnPort(port1); m !== undefined; m = receiveMessageOnPort(port1)) {
      const msg = m.message as LinkMessage;
      if (msg.type === 'log') c.log(msg.line);
    }
  };

  // The weights the workers can read (the last commit's, a push's, or the resumed version's): a step
  // whose weights differ from them publishes them first (a run without a checkpoint mirror, or its first step).
  let published: Buffer | null = null;
  const flatParams = (): Float32Array<ArrayBuffer> => {
    const flat = new Float32Array(nParams);
    let o = 0;
    for (const p of model.params) {
      flat.set(p.value, o);
      o += p.value.length;
    }
    return flat;
  };
  let step = 0;
  let isBusy = false;
  let subscriptions = 0;

  // This thread's own slice (localSlice): the same kernels and order as a worker's.
  const runOwn = localSlice ? keepBackprop(model, options.loss, `distributed job ${options.job} slice 0`) : null;
  function runLocal(batch: Batch, rows: number): SliceResult {
    if (runOwn === null) throw new DistributedError(`distributed job ${options.job}: this coordinator computes no slice`);
    const slice: Batch = {
      x: { data: batch.x.data.subarray(0, rows * nIn), shape: [rows, ...model.input] },
      target: { data: batch.target.data.subarray(0, rows * nOut), shape: [rows, nOut] },
      labels: batch.labels === null ? null : batch.labels.subarray(0, rows),
      m: rows,
      origins: batch.origins.slice(0, rows),
    };
    const b = runOwn(slice);
    const grads = new Float32Array(nParams);
    let o = 0;
    b.grads.forEach((layerGrads, i) => {
      if (layerGrads === undefined) throw new DistributedError(`distributed job ${options.job}: layer ${i} has no gradients`);
      for (const g of layerGrads) {
        grads.set(g, o);
        o += g.length;
      }
    });
    return { grads, lossSum: b.lossSum, correct: b.correct ?? NaN, output: b.output.data.subarray(0, rows * nOut) };
  }
  // The main thread's part of the per-step figures (ms); the link thread's part comes with each reply.
  const timing = { serialize: 0, redis: 0, wait: 0, compute: 0, localRows: 0 };

  function backward(batch: Batch): Backward {
    const { m } = batch;
    if (batch.x.data.length !== m * nIn) throw new DistributedError(`distributed job ${options.job}: batch x holds ${batch.x.data.length} values, expected ${m} × ${nIn}`);
    const t0 = performance.now();
    const flat = flatParams();
    const isPublished = published !== null && bytesOf(flat).equals(published);
    const push: Float32Array<ArrayBuffer> | null = isPublished ? null : flat;
    if (!isPublished) published = Buffer.from(bytesOf(flat));
    step++;
    seq++;
    const mySeq = seq;
    const rows = Math.ceil(m / options.slices);
    // Only the remote slices' rows are copied for the link thread.
    const rowsFrom = localSlice ? Math.min(rows, m) : 0;
    const x = batch.x.data.slice(rowsFrom * nIn);
    const t = batch.target.data.slice(rowsFrom * nOut);
    const l = batch.labels === null ? null : batch.labels.slice(rowsFrom);
    const transfer = [x.buffer, t.buffer, ...(l === null ? [] : [l.buffer]), ...(push === null ? [] : [push.buffer])];
    // The remote slices go first, so they travel while this thread computes its own.
    post({ type: 'step', seq: mySeq, step, m, nIn, rowsFrom, x, t, l, push }, transfer);
    const t1 = performance.now();
    const own = localSlice ? runLocal(batch, rows) : null;
    const t2 = performance.now();
    const reply = awaitReply(mySeq);
    const t3 = performance.now();
    if (reply.error !== undefined || reply.slices === undefined) {
      throw new DistributedError(reply.error ?? `distributed job ${options.job}: the link thread answered without gradients`);
    }
    // Slice order, float64, one rounding: parallelBackprop's combine (addSlices.ts).
    const results: SliceResult[] = own === null ? [...reply.slices] : [own, ...reply.slices];
    const sum = addSlices(results, results.map((_, s) => s * rows), m, nOut);
    const t4 = performance.now();
    timing.serialize += t1 - t0 + (t4 - t3) + (reply.serializeMs ?? 0);
    timing.redis += reply.redisMs ?? 0;
    timing.wait += Math.max(0, t3 - t2 - (reply.joinMs ?? 0));
    if (own !== null) {
      timing.compute += t2 - t1;
      timing.localRows += Math.min(rows, m);
    }
    let o = 0;
    const grads = model.layers.map((layer) =>
      layer.params.map((p) => {
        const g = sum.grads.subarray(o, o + p.value.length);
        o += p.value.length;
        return g;
      }),
    );
    const output = { data: sum.output, shape: [m, ...model.outShape] };
    return {
      batch,
      tape: [],
      output,
      lossSum: sum.lossSum,
      loss: sum.lossSum / m,
      correct: batch.labels === null ? null : sum.correct,
      delta: { data: new Float32Array(0), shape: [0] },
      deltas: [],
      grads,
    };
  }

  const backprop: OperatorFunction<Batch, Backward> = (source) =>
    new Observable<Backward>((subscriber) => {
      if (closed !== null) {
        subscriber.error(new Error(`distributed job ${options.job}: ${closed}`));
        return;
      }
      if (isBusy) {
        subscriber.error(new Error(`distributed job ${options.job}: the pool serves one subscription at a time`));
        return;
      }
      isBusy = true;
      subscriptions++;
      const sub = source.subscribe({
        next(batch) {
          let out: Backward;
          try {
            out = backward(batch);
          } catch (e) {
            isBusy = false;
            subscriber.error(e);
            return;
          }
          subscriber.next(out);
        },
        error: (e) => {
          isBusy = false;
          subscriber.error(e);
        },
        complete: () => {
          isBusy = false;
          subscriber.complete();
        },
      });
      return () => {
        isBusy = false;
        sub.unsubscribe();
      };
    });

  const pool: GradientPool = {
    model,
    workers: options.slices,
    loss: options.loss,
    internals: undefined,
    backprop,
    stats: (): GradientPoolStats => ({ started: 0, subscriptions, isClosed: closed !== null }),
    close: () => undefined,
  };

  // The window as last committed (sample references): a commit sends the slots that changed.
  let committedWindow: readonly Sample[] = [];
  const commitEveryMs = options.commitEveryMs ?? 250;
  let committedAt = -Infinity;
  const mirror: CheckpointMirror = {
    name: `${c.target.display} job ${options.job}`,
    isDue: () => performance.now() - committedAt >= commitEveryMs,
    commit(ckpt) {
      if (closed !== null) return;
      committedAt = performance.now();
      const weights = new Float32Array(nParams);
      let o = 0;
      for (const w of ckpt.weights) {
        weights.set(w.data, o);
        o += w.data.length;
      }
      const encoded = encodeCheckpoint({ ...ckpt, weights: [], window: [] });
      const bytes = new Uint8Array(encoded.length);
      bytes.set(encoded);
      const changed: [number, Uint8Array][] = [];
      ckpt.window.forEach((s, i) => {
        if (committedWindow[i] !== s) changed.push([i, encodeSample(s)]);
      });
      committedWindow = ckpt.window;
      published = Buffer.from(bytesOf(weights));
      port1.postMessage({ type: 'commit', weights, steps: ckpt.counters.steps, ckpt: bytes, windowLen: ckpt.window.length, changed } satisfies LinkRequest, [weights.buffer, bytes.buffer]);
      drainLogs();
    },
    async latest() {
      // The checkpoint names its weights' version; they are among the last weights published.
      // The commit holds a copy of its weights (the weights stream keeps only the last few versions).
      const r = await c.cmd.sendBuffers(['HMGET', c.keys.state, 'w', 'ckpt', 'windowLen']);
      if (!Array.isArray(r) || !Buffer.isBuffer(r[1])) return null;
      const name = `${c.target.display} job ${options.job}`;
      if (!Buffer.isBuffer(r[0])) throw new DistributedError(`${name}: the committed state in ${c.keys.state} has no weights`);
      const flat = f32Of(r[0], nParams, `${name}: committed weights`);
      const decoded = decodeCheckpoint(r[1], name);
      let o = 0;
      const weights: CheckpointParam[] = model.params.map((p) => {
        const data = flat.slice(o, o + p.value.length);
        o += p.value.length;
        return { name: p.name, shape: [...p.shape], data };
      });
      const n = Buffer.isBuffer(r[2]) ? Number(r[2].toString('utf8')) : 0;
      const window: Sample[] = [];
      for (let start = 0; start < n; start += 1000) {
        const fields = Array.from({ length: Math.min(1000, n - start) }, (_, i) => String(start + i));
        const got = await c.cmd.sendBuffers(['HMGET', c.keys.window, ...fields]);
        if (!Array.isArray(got)) throw new DistributedError(`${name}: the committed shuffle window cannot be read`);
        got.forEach((b, i) => {
          if (!Buffer.isBuffer(b)) throw new DistributedError(`${name}: the committed shuffle window lacks slot ${start + i}`);
          window.push(decodeSample(b, `${name} window slot ${start + i}`));
        });
      }
      // The published weights may be a version past this one (a coordinator killed between its publish and
      // its commit): the first step publishes the resumed weights again.
      published = null;
      committedWindow = window;
      return { ...decoded, weights, window };
    },
  };

  function partitionedSource(input: PartitionedInput): (epoch: number, start?: SourcePosition) => Observable<Sample> {
    const n = options.slices;
    const chunk = n * (input.chunk ?? 64);
    const { stream, shuffle, chunk: _chunk, ...schema } = input;
    void _chunk;
    const name = `${c.target.display}/${stream}`;
    return (dataEpoch, start) =>
      new Observable<Sample>((subscriber) => {
        let k = start?.nextRecord ?? 0;
        if (k % n !== 0) {
          subscriber.error(new DistributedError(`${name}: cannot read on from row ${k}, which is not a whole round of ${n} partitions`));
          return;
        }
        let isClosed = false;
        const loop = async (): Promise<void> => {
          for (;;) {
            if (isClosed) return;
            seq++;
            const reply = call({ type: 'rows', seq, dataEpoch, from: k, count: chunk, stream, window: shuffle?.window ?? 0, seed: shuffle?.seed ?? 0, schema: JSON.parse(JSON.stringify(schema)) as Record<string, unknown> }, []);
            if (reply.error !== undefined || reply.rows === undefined) throw new DistributedError(reply.error ?? `${name}: no rows in the reply`);
            for (const row of reply.rows) {
              if (isClosed) return;
              subscriber.next({ ...row, origin: { ...row.origin, record: k, line: k + 2, endOffset: k + 1 } });
              k++;
            }
            if (reply.isEnd === true) {
              subscriber.complete();
              return;
            }
            // Let timers and signals run between chunks (the steps inside next() block this thread).
            await new Promise((r) => setImmediate(r));
          }
        };
        loop().catch((e: unknown) => subscriber.error(e));
        return () => {
          isClosed = true;
        };
      });
  }

  return {
    job: options.job,
    epoch: c.epoch,
    pool,
    mirror,
    partitionedSource,
    async close(isDone) {
      if (closed !== null) return { coordinator: emptyFigures(), workers: [] };
      seq++;
      let reply: StepReply;
      try {
        reply = call({ type: 'close', seq, isDone }, []);
      } finally {
        closed = 'the job is closed';
        c.cmd.destroy();
        void thread.terminate();
      }
      if (reply.error !== undefined) throw new DistributedError(reply.error);
      const link = reply.coordinator ?? emptyFigures();
      const coordinator: CoordinatorFigures = {
        ...link,
        serializeSeconds: timing.serialize / 1000,
        redisSeconds: timing.redis / 1000,
        waitSeconds: timing.wait / 1000,
        computeSeconds: timing.compute / 1000,
        localRows: timing.localRows,
      };
      return { coordinator, workers: reply.workers ?? [] };
    },
  };
}

function emptyFigures(): CoordinatorFigures {
  return { steps: 0, serializeSeconds: 0, redisSeconds: 0, waitSeconds: 0, computeSeconds: 0, localRows: 0, bytesSent: 0, bytesReceived: 0, staleResults: 0, reassigned: 0, restarts: 0, refused: 0, reconnects: 0 };
}
