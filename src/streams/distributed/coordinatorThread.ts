/**
 * The coordinator's Redis link: a worker_threads entry that does all of a distributed job's Redis
 * work while the main thread trains synchronously (linkMessages.ts has the handshake). Per step
 * (with `localSlice` the main thread computes slice 0 itself meanwhile, and workers hold slots 1…N−1):
 *
 *   1. one task per remote slice s = rows [s·⌈m/N⌉, (s+1)·⌈m/N⌉) of the batch, XADDed to the inbox of the
 *      worker that holds slot s (all in one pipeline): the rows (packed when they hold ≤ 256 distinct
 *      values, packValues.ts) and, between commits, the version's weights, so a worker wakes once with
 *      all its slice needs. A version that is committed (at most every commitEveryMs, the mirror
 *      decides) has its weights published instead (XADD df:{J}:weights, when the commit request
 *      arrives) and its commit written right behind the next step's tasks (MULTI/EXEC: the checkpoint
 *      naming the published weights' version with a copy of them, the changed window slots; fenced by
 *      WATCH on the run epoch) — so the optimizer state travels while the workers compute;
 *   2. XREAD BLOCK on the result and control streams — at once, not waiting for the tasks' replies
 *      (the read connection is another) — until every slice is back. Joins are accepted
 *      (fingerprint checked, else refused naming the field) as they come; results are kept only when
 *      uid, run epoch, step, slice and attempt all match (else counted stale); every heartbeatMs/4 the
 *      heartbeat keys of the workers still owing a slice are checked, and a lapsed one's slices go to a
 *      spare (or any live worker) as attempt + 1 — the same rows and model version, so the same bits;
 *   3. the remote slices' results handed to the main thread, which adds them to its own slice 0 in
 *      slice order in float64 and rounds to float32 once (addSlices.ts), exactly as parallelBackprop's
 *      pool adds its threads' slices; lossSum and correct likewise.
 *
 * Local workers (`spawn`) are child processes with an IPC channel (they exit when this process dies);
 * one that exits is started again. A lost connection (Redis restarted, a Cluster master down) is
 * retried until waitTimeoutMs, then fails with one line naming the node; after a reconnect the last
 * commit is written again, the newest weights are published again, and the missing slices are sent
 * again (attempt + 1). Nothing waits
 * longer than waitTimeoutMs without progress: the error says what it waited for.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { isMainThread, workerData } from 'node:worker_threads';
import { connectRedis, type CommandArg, type RedisConnection, type Reply } from '../sources/redis/redisConnection.js';
import { RedisStreamError } from '../sources/redis/redisError.js';
import { parseRedisUrl } from '../sources/redis/redisUrl.js';
import { DistributedError } from './distributedError.js';
import { mergeRounds } from './mergeRounds.js';
import { packValues } from './packValues.js';
import { fingerprintDifference, type Fingerprint } from './fingerprint.js';
import { jobKeys } from './jobKeys.js';
import type { CommitRequest, CoordinatorFigures, LinkData, LinkMessage, LinkRequest, RemoteSlice, RowsRequest, StepReply, StepRequest, WorkerReport } from './linkMessages.js';
import type { Sample } from '../types.js';
import { bytesOf, decodeSamples, f32Of, f64Of, fieldOf, headerOf, xreadEntries, type Entry, type WorkerFigures } from './wire.js';

interface Member {
  readonly worker: string;
  readonly host: string;
  readonly pid: number;
  isAlive: boolean;
  figures: WorkerFigures;
}

interface Pending {
  readonly slice: number;
  readonly start: number;
  readonly rows: number;
  attempt: number;
  worker: string | null;
  fields: CommandArg[];
}

/** A lost connection, a timeout, or a Cluster that is down or resharding: worth waiting for. */
const isTransient = (e: unknown): boolean =>
  e instanceof RedisStreamError && (e.code === 'REDIS_UNREACHABLE' || e.code === 'REDIS_TIMEOUT' || (e.code === 'REDIS_COMMAND' && /CLUSTERDOWN|TRYAGAIN/.test(e.message)));
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const zeroFigures: WorkerFigures = { rows: 0, steps: 0, secondsWaiting: 0, secondsComputing: 0, bytesSent: 0 };

class Link {
  private readonly keys;
  private readonly target;
  private cmd: RedisConnection | null = null;
  private rd: RedisConnection | null = null;
  private readonly members = new Map<string, Member>();
  private readonly owner: (string | null)[];
  /** The first slot a worker holds: 1 when the coordinator computes slice 0 itself. */
  private readonly firstSlot: number;
  /** Whether the first workers have joined (the first remote step or rows request waits for them). */
  private hasJoined = false;
  private readonly children = new Set<ChildProcess>();
  private outId = '0-0';
  private ctlId = '0-0';
  private wv: number;
  /** The last commit, kept to commit it again after a reconnect. */
  private lastCommit: { readonly c: CommitRequest; readonly wv: number } | null = null;
  /** The newest weights (a commit's, or a step's that its tasks carry), published again after a reconnect. */
  private newest: { readonly weights: Float32Array; readonly wv: number } | null = null;
  /** The weights this step's tasks carry (field `w`): a step whose version no commit published. */
  private stepWeights: Buffer | null = null;
  /** A commit whose weights are published and whose transaction waits for the next step's tasks. */
  private pendingTx: { readonly c: CommitRequest; readonly wv: number } | null = null;
  private pendingCommit: Promise<void> | null = null;
  /** Resolves once the flushed transaction's EXEC is written (or it failed): a later publish must come after it. */
  private txQueued: Promise<void> = Promise.resolve();
  private watched: Promise<Reply> | null = null;
  private fatal: Error | null = null;
  private isClosing = false;
  private leaseTimer: ReturnType<typeof setInterval> | null = null;
  private graceUntil = 0;
  private reconnecting: Promise<void> | null = null;
  /** Counts of the link thread; the per-step times (serialize, Redis, waiting, computing) are the main thread's sums (distributedPool.ts). */
  private fig = { steps: 0, serializeSeconds: 0, redisSeconds: 0, waitSeconds: 0, computeSeconds: 0, localRows: 0, bytesSent: 0, bytesReceived: 0, staleResults: 0, reassigned: 0, restarts: 0, refused: 0, reconnects: 0 };

  constructor(private readonly d: LinkData) {
    this.keys = jobKeys(d.job);
    this.target = parseRedisUrl(d.url);
    this.owner = new Array<string | null>(d.slices).fill(null);
    this.firstSlot = d.localSlice ? 1 : 0;
    this.wv = d.startWv;
  }

  log(line: string): void {
    const msg: LinkMessage = { type: 'log', line };
    this.d.port.postMessage(msg);
  }

  // ───────────────────────────── connections ─────────────────────────────

  private async connect(): Promise<void> {
    const o = { forKey: this.keys.state, timeoutMs: Math.min(5000, this.d.waitTimeoutMs) };
    this.cmd = await connectRedis(this.target, { ...o, name: `deltaflow-coordinator:${this.d.job}` });
    this.rd = await connectRedis(this.target, { ...o, name: `deltaflow-coordinator:${this.d.job}:read` });
    this.watched = null;
  }

  private conns(): { cmd: RedisConnection; rd: RedisConnection } {
    if (this.cmd === null || this.rd === null) throw new RedisStreamError('REDIS_UNREACHABLE', `${this.target.display}: not connected`);
    return { cmd: this.cmd, rd: this.rd };
  }

  /**
   * After a lost connection (or a Cluster that went down): connect again and take the job back up
   * until waitTimeoutMs has passed, then fail with one line naming the node that is down.
   */
  private reconnect(cause: unknown): Promise<void> {
    // One reconnect at a time: the step, a commit and the lease may all have lost the connection at once.
    this.reconnecting ??= this.reconnectOnce(cause).finally(() => (this.reconnecting = null));
    return this.reconnecting;
  }

  private async reconnectOnce(cause: unknown): Promise<void> {
    const address = this.cmd?.address ?? `${this.target.host}:${this.target.port}`;
    this.drop();
    this.fig.reconnects++;
    this.log(`lost Redis at ${address} (${messageOf(cause)}); reconnecting for up to ${(this.d.waitTimeoutMs / 1000).toFixed(0)} s`);
    const deadline = performance.now() + this.d.waitTimeoutMs;
    for (let last: unknown = cause; ; ) {
      if (performance.now() > deadline) {
        const down = await this.failingNodes(address);
        throw new DistributedError(`Redis node ${down} is down: no answer for ${(this.d.waitTimeoutMs / 1000).toFixed(0)} s (${messageOf(last)}); the job stopped at its last committed version (resume with --resume once the node is back)`);
      }
      try {
        await this.connect();
        const { cmd } = this.conns();
        // The run epoch and lease must still be ours (a Redis without its data gets them again).
        const epoch = await cmd.send(['GET', this.keys.epoch]);
        if (epoch === null) await cmd.send(['SET', this.keys.epoch, String(this.d.epoch), 'NX']);
        else if (String(epoch) !== String(this.d.epoch)) throw this.fenced(`the run epoch is now ${String(epoch)}`);
        await cmd.send(['SET', this.keys.lease, this.d.leaseValue, 'PX', String(this.d.leaseMs)]);
        // Heartbeats may have lapsed while Redis was away: give the workers one TTL to come back.
        this.graceUntil = performance.now() + this.d.heartbeatMs;
        if (this.lastCommit !== null) {
          this.pendingTx = null;
          await this.sendCommit(this.lastCommit.c, this.lastCommit.wv);
        }
        // Versions pushed since that commit (a Redis restarted from its AOF may have lost them): the
        // newest again, so the step's tasks, sent again with it, find their weights.
        if (this.newest !== null && this.newest.wv !== this.lastCommit?.wv) await this.publish(this.newest.weights, this.newest.wv);
        this.log(`reconnected to Redis at ${cmd.address}`);
        return;
      } catch (e) {
        if (!isTransient(e)) throw e;
        last = e;
        this.drop();
        await sleep(200);
      }
    }
  }

  private drop(): void {
    this.cmd?.destroy();
    this.rd?.destroy();
    this.cmd = null;
    this.rd = null;
  }

  /** The node(s) a Cluster marks as failing (CLUSTER NODES), else `fallback`. */
  private async failingNodes(fallback: string): Promise<string> {
    try {
      const any = await connectRedis(this.target, { timeoutMs: 1000 });
      try {
        const nodes = await any.send(['CLUSTER', 'NODES']);
        const failing = String(nodes)
          .split('\n')
          .map((line) => line.split(' '))
          .filter((f) => f.length > 2 && /(^|,)fail\??(,|$)/.test(f[2]))
          .map((f) => f[1].replace(/@.*$/, ''));
        return failing.length > 0 ? failing.join(', ') : fallback;
      } finally {
        any.destroy();
      }
    } catch {
      return fallback;
    }
  }

  /** Runs `fn`, reconnecting and running it again after a lost connection. */
  private async robust<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await fn();
      } catch (e) {
        if (!isTransient(e) || this.isClosing) throw e;
        await this.reconnect(e);
      }
    }
  }

  private fenced(why: string): Error {
    return new DistributedError(`job ${this.d.job}: another coordinator took the job over (${why}); this one stops without committing`);
  }

  // ───────────────────────────── lease ─────────────────────────────

  private startLease(): void {
    this.leaseTimer = setInterval(() => {
      const cmd = this.cmd;
      if (cmd === null || this.fatal !== null) return;
      cmd.send(['SET', this.keys.lease, this.d.leaseValue, 'XX', 'PX', String(this.d.leaseMs), 'GET']).then(
        (old) => {
          if (old !== null && String(old) !== this.d.leaseValue) this.fatal = this.fenced(`its lease is held by ${String(old)}`);
        },
        () => undefined,
      );
    }, Math.max(50, Math.floor(this.d.leaseMs / 3)));
    this.leaseTimer.unref();
  }

  // ───────────────────────────── local workers ─────────────────────────────

  private spawnWorker(): void {
    const s = this.d.spawn;
    if (s === null || this.isClosing) return;
    const child = spawn(s.command, [...s.args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    this.children.add(child);
    child.on('error', (e) => this.log(`could not start a local worker: ${e.message}`));
    child.once('exit', (code, signal) => {
      this.children.delete(child);
      if (this.isClosing || this.fatal !== null) return;
      this.fig.restarts++;
      this.log(`local worker pid ${child.pid ?? '?'} exited (${signal ?? `code ${code ?? '?'}`}); starting another`);
      if (this.fig.restarts <= 10 * this.d.slices + 10) this.spawnWorker();
    });
  }

  private stopChildren(): void {
    for (const c of this.children) {
      if (c.pid !== undefined && c.exitCode === null) {
        try {
          process.kill(c.pid, 'SIGTERM');
        } catch {
          // already gone
        }
      }
    }
  }

  // ───────────────────────────── joins ─────────────────────────────

  private onJoin(e: Entry): void {
    const h = headerOf(e);
    if (h === null || h.kind !== 'join' || typeof h.worker !== 'string') return;
    if (h.uid !== this.d.uid || h.epoch !== this.d.epoch) return;
    if (this.members.has(h.worker)) return;
    const worker = h.worker;
    const fingerprint = (typeof h.fingerprint === 'object' && h.fingerprint !== null ? h.fingerprint : {}) as Fingerprint;
    const why = fingerprintDifference(this.d.expected, fingerprint);
    const where = `worker ${worker} (host ${String(h.host)}, pid ${String(h.pid)})`;
    if (why !== null) {
      this.fig.refused++;
      this.log(`refused ${where}: ${why}`);
      // A local worker runs this very deltaflow: restarting it would be refused again.
      if ([...this.children].some((c) => c.pid === Number(h.pid))) this.fatal ??= new DistributedError(`the local workers of job ${this.d.job} cannot join: ${why}`);
      void this.conns().cmd.send(['XADD', this.keys.inbox(worker), 'MAXLEN', '64', '*', 'h', JSON.stringify({ kind: 'refused', reason: `job ${this.d.job} refused this worker: ${why}` })]).catch(() => undefined);
      return;
    }
    this.members.set(worker, { worker, host: String(h.host), pid: Number(h.pid), isAlive: true, figures: zeroFigures });
    // With localSlice, slot 0 is the coordinator's own: workers hold slots 1…N−1 (and spares).
    const free = this.owner.findIndex((w, s) => s >= this.firstSlot && w === null);
    if (free >= 0) this.owner[free] = worker;
    this.log(`${where} joined job ${this.d.job} ${free >= 0 ? `for slice ${free}` : 'as a spare'}`);
  }

  private live(): Member[] {
    return [...this.members.values()].filter((m) => m.isAlive);
  }

  private markDead(worker: string, why: string): void {
    const m = this.members.get(worker);
    if (m === undefined || !m.isAlive) return;
    m.isAlive = false;
    this.owner.forEach((w, s) => {
      if (w === worker) this.owner[s] = null;
    });
    this.log(`worker ${worker} (pid ${m.pid}) ${why}; its slices go to another worker`);
    // A spare takes the freed slots.
    for (let s = this.firstSlot; s < this.owner.length; s++) {
      if (this.owner[s] !== null) continue;
      const spare = this.live().find((x) => !this.owner.includes(x.worker));
      if (spare === undefined) break;
      this.owner[s] = spare.worker;
    }
  }

  /** The worker for a slice: its slot's owner, else the live worker with the fewest of this step's slices. */
  private choose(slice: number, pending: readonly Pending[]): string | null {
    const own = this.owner[slice];
    if (own !== null && this.members.get(own)?.isAlive === true) return own;
    const live = this.live();
    if (live.length === 0) return null;
    const load = (w: string): number => pending.filter((p) => p.worker === w).length;
    return live.reduce((a, b) => (load(b.worker) < load(a.worker) ? b : a)).worker;
  }

  /**
   * The workers the first remote step waits for: one per remote slot (N, or N − 1 when the
   * coordinator computes slice 0), or as many as are started here if fewer; at least one.
   */
  private workersNeeded(): number {
    const slots = this.d.slices - this.firstSlot;
    return Math.max(1, Math.min(slots, this.d.spawn?.count ?? slots));
  }

  /** Reads joins until `n` workers are live (the first step), or fails after waitTimeoutMs. */
  private async awaitWorkers(n: number): Promise<void> {
    if (this.hasJoined) return;
    const deadline = performance.now() + this.d.waitTimeoutMs;
    while (this.live().length < n) {
      if (this.fatal !== null) throw this.fatal;
      if (performance.now() > deadline) {
        throw new DistributedError(
          `waited ${(this.d.waitTimeoutMs / 1000).toFixed(0)} s for ${n} worker${n === 1 ? '' : 's'} to join job ${this.d.job}; ${this.live().length} joined` +
            `${this.fig.refused > 0 ? ` (${this.fig.refused} refused)` : ''} (start more with: deltaflow worker --redis ${this.target.display} --job ${this.d.job})`,
        );
      }
      await this.robust(() => this.readOnce(200, () => undefined));
    }
    this.hasJoined = true;
  }

  // ───────────────────────────── commit ─────────────────────────────

  /** WATCH the run epoch (and read it), so the next EXEC fails if another coordinator bumps it. */
  private watch(cmd: RedisConnection): void {
    void cmd.send(['WATCH', this.keys.epoch]).catch(() => undefined);
    this.watched = cmd.send(['GET', this.keys.epoch]);
    this.watched.catch(() => undefined);
  }

  /** The XADD publishing weights as version `wv`: one stream entry, so wv and weights agree. */
  private publishCommand(weights: Float32Array, wv: number): CommandArg[] {
    const w = bytesOf(weights);
    this.fig.bytesSent += w.length;
    if (this.newest === null || wv >= this.newest.wv) this.newest = { weights, wv };
    return ['XADD', this.keys.weights, 'MAXLEN', '8', '*', 'wv', String(wv), 'w', w];
  }

  /** Publish weights as version `wv`. */
  private publish(weights: Float32Array, wv: number): Promise<Reply> {
    const { cmd } = this.conns();
    return cmd.send(this.publishCommand(weights, wv));
  }

  /** The commit of version wv, whose weights are published (the checkpoint names wv): one MULTI/EXEC, fenced by the WATCHed run epoch. */
  private async sendTx(c: CommitRequest, wv: number, onQueued: () => void = () => undefined): Promise<void> {
    const { cmd } = this.conns();
    if (this.watched === null) this.watch(cmd);
    const watched = this.watched;
    this.watched = null;
    const epochNow = await watched;
    if (String(epochNow) !== String(this.d.epoch)) throw this.fenced(`the run epoch is now ${String(epochNow)}`);
    const window: CommandArg[] = [];
    for (const [slot, bytes] of c.changed) window.push(String(slot), Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    const ckpt = Buffer.from(c.ckpt.buffer, c.ckpt.byteOffset, c.ckpt.byteLength);
    // A copy of the weights: the weights stream keeps only the last few versions, and commits are sparser.
    const w = bytesOf(c.weights);
    const replies = [
      cmd.send(['MULTI']),
      cmd.send(['HSET', this.keys.state, 'runEpoch', String(this.d.epoch), 'wv', String(wv), 'steps', String(c.steps), 'ckpt', ckpt, 'w', w, 'windowLen', String(c.windowLen)]),
      ...(window.length > 0 ? [cmd.send(['HSET', this.keys.window, ...window])] : []),
      cmd.send(['EXEC']),
    ];
    onQueued();
    this.fig.bytesSent += ckpt.length + w.length + window.reduce((n, a) => n + a.length, 0);
    this.watch(cmd);
    // Every reply is awaited (a lost connection rejects them all; none may go unhandled).
    const settled = await Promise.allSettled(replies);
    const failed = settled.find((r) => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const exec = settled[settled.length - 1];
    if (exec.status === 'fulfilled' && exec.value === null) throw this.fenced('the run epoch changed during the commit');
  }

  /** After a reconnect: publish and commit the last committed version again. */
  private async sendCommit(c: CommitRequest, wv: number): Promise<void> {
    await this.publish(c.weights, wv);
    await this.sendTx(c, wv);
  }

  /**
   * A commit request: its weights are published now, as version wv (so the tasks of the next step,
   * written after them on the same connection, carry wv and find them); the transaction itself waits
   * for those tasks (flushTx) and then goes out behind them.
   */
  private commit(c: CommitRequest): void {
    const wv = ++this.wv;
    this.lastCommit = { c, wv };
    this.pendingTx = { c, wv };
    try {
      this.publish(c.weights, wv).catch(() => undefined);
    } catch {
      // Not connected: the step's reconnect publishes and commits lastCommit.
    }
  }

  /** Send the pending commit's transaction (after the previous one). */
  private flushTx(): void {
    const tx = this.pendingTx;
    if (tx === null) return;
    this.pendingTx = null;
    const previous = this.pendingCommit ?? Promise.resolve();
    let queued: () => void = () => undefined;
    this.txQueued = new Promise<void>((resolve) => (queued = resolve));
    const done = queued;
    this.pendingCommit = previous.then(() => this.robust(() => this.sendTx(tx.c, tx.wv, done)));
    this.pendingCommit.then(done, done);
  }

  // ───────────────────────────── one step ─────────────────────────────

  private taskFields(req: StepRequest, p: Pending): CommandArg[] {
    const nOut = this.d.nOut;
    const h = { kind: 'task', uid: this.d.uid, epoch: this.d.epoch, version: this.wv, step: req.step, slice: p.slice, attempt: p.attempt, rows: p.rows, hasLabels: req.l !== null };
    // Rows with at most 256 distinct values (images scaled from bytes) go packed, a quarter of the bytes.
    const at = p.start - req.rowsFrom;
    const x = req.x.subarray(at * req.nIn, (at + p.rows) * req.nIn);
    const packed = x.length >= 1024 ? packValues(x) : null;
    const fields: CommandArg[] = [
      'h', JSON.stringify(h),
      ...(packed === null ? ['x', bytesOf(x)] : ['xp', packed]),
      't', bytesOf(req.t.subarray(at * nOut, (at + p.rows) * nOut)),
    ];
    if (req.l !== null) fields.push('l', bytesOf(req.l.subarray(at, at + p.rows)));
    if (this.stepWeights !== null) fields.push('w', this.stepWeights);
    return fields;
  }

  private taskCommand(p: Pending & { worker: string }): CommandArg[] {
    this.fig.bytesSent += p.fields.reduce((n, a) => n + a.length, 0);
    // A worker has at most `slices` tasks of a step (and older steps' are stale): a short inbox, since tasks may carry weights.
    return ['XADD', this.keys.inbox(p.worker), 'MAXLEN', String(2 * this.d.slices + 4), '*', ...p.fields];
  }

  private async sendTask(p: Pending): Promise<void> {
    if (p.worker === null) return;
    const { cmd } = this.conns();
    await cmd.send(this.taskCommand({ ...p, worker: p.worker }));
  }

  /** One XREAD over results and joins; results go to `onResult`. */
  private async readOnce(blockMs: number, onResult: (e: Entry) => void): Promise<void> {
    const { rd } = this.conns();
    const reply = await rd.sendBuffers(['XREAD', 'COUNT', '256', 'BLOCK', String(blockMs), 'STREAMS', this.keys.out, this.keys.ctl, this.outId, this.ctlId], blockMs);
    const streams = xreadEntries(reply);
    for (const e of streams.get(this.keys.ctl) ?? []) {
      this.ctlId = e.id;
      this.onJoin(e);
    }
    for (const e of streams.get(this.keys.out) ?? []) {
      this.outId = e.id;
      for (const v of e.fields.values()) this.fig.bytesReceived += v.length;
      onResult(e);
    }
  }

  private async step(req: StepRequest): Promise<StepReply> {
    const { m } = req;
    const rows = Math.ceil(m / this.d.slices);
    const nSlices = Math.ceil(m / rows);
    const first = this.d.localSlice ? 1 : 0;
    // The first remote step waits for the workers to join: not a cost of the step (joinMs).
    const j0 = performance.now();
    if (nSlices > first) await this.awaitWorkers(this.workersNeeded());
    const joinMs = performance.now() - j0;
    // Weights no commit published (between commits, the first step of a run) travel in every task of
    // the step, as the next version: a worker wakes once, with all its slice needs — blocked on its
    // inbox and a shared weights entry, it would wake for the weights and then read again for its task.
    if (req.push !== null) {
      this.newest = { weights: req.push, wv: ++this.wv };
      this.stepWeights = bytesOf(req.push);
    } else this.stepWeights = null;
    let serialize = 0;
    const s0 = performance.now();
    // pending[s] is slice s; slice 0 is the main thread's own with localSlice (never sent).
    const pending: Pending[] = [];
    const remote: Pending[] = [];
    for (let s = 0; s < nSlices; s++) {
      const start = s * rows;
      const p: Pending = { slice: s, start, rows: Math.min(rows, m - start), attempt: 0, worker: null, fields: [] };
      pending.push(p);
      if (s < first) continue;
      p.worker = this.choose(s, remote);
      p.fields = this.taskFields(req, p);
      remote.push(p);
    }
    serialize += performance.now() - s0;
    const results: (RemoteSlice | null)[] = new Array<RemoteSlice | null>(nSlices).fill(null);
    let redis = 0;
    let isSent = false;

    const onResult = (e: Entry): void => {
      const r0 = performance.now();
      const h = headerOf(e);
      if (h === null || h.kind !== 'result') return;
      const worker = typeof h.worker === 'string' ? h.worker : '';
      const member = this.members.get(worker);
      const figures = h.figures as WorkerFigures | undefined;
      if (member !== undefined && figures !== undefined) member.figures = figures;
      const p = typeof h.slice === 'number' && h.slice >= first ? pending[h.slice] : undefined;
      const isCurrent = h.uid === this.d.uid && h.epoch === this.d.epoch && h.step === req.step && p !== undefined && h.attempt === p.attempt && results[p.slice] === null;
      if (!isCurrent || p === undefined) {
        this.fig.staleResults++;
        if (member !== undefined && !member.isAlive && h.uid === this.d.uid) {
          // A worker declared dead came back: tell it to join again under a new name.
          void this.conns().cmd.send(['XADD', this.keys.inbox(worker), 'MAXLEN', '64', '*', 'h', JSON.stringify({ kind: 'dropped', reason: 'its heartbeat lapsed' })]).catch(() => undefined);
        }
        return;
      }
      const s = fieldOf(e, 's');
      const stats = f64Of(s, 2, `result ${e.id}`);
      results[p.slice] = {
        grads: f32Of(fieldOf(e, 'g'), this.d.nParams, `result ${e.id} gradients`),
        lossSum: stats[0],
        correct: stats[1],
        output: f32Of(fieldOf(e, 'o'), p.rows * this.d.nOut, `result ${e.id} outputs`),
      };
      serialize += performance.now() - r0;
    };

    let lastProgress = performance.now();
    let lastCheck = performance.now();
    const missing = (): Pending[] => remote.filter((p) => results[p.slice] === null);
    await this.robust(async () => {
      if (isSent) {
        // After a reconnect: every missing slice again, as a new attempt.
        for (const p of missing()) {
          p.attempt++;
          p.worker = this.choose(p.slice, remote);
          p.fields = this.taskFields(req, p);
        }
      }
      const w0 = performance.now();
      const sent = Promise.all(missing().map((p) => this.sendTask(p)));
      this.flushTx();
      // The results are read while the tasks' replies are still on their way (the read connection is
      // another): no round trip between sending and blocking. A failed send ends the reading.
      isSent = true;
      const send: { isFailed: boolean; error: unknown } = { isFailed: false, error: null };
      const sending = sent.then(
        () => void (redis += performance.now() - w0),
        (e: unknown) => {
          send.isFailed = true;
          send.error = e;
        },
      );
      while (missing().length > 0) {
        if (this.fatal !== null) throw this.fatal;
        if (send.isFailed) throw send.error;
        await this.readOnce(Math.max(5, Math.min(100, this.d.heartbeatMs / 4)), (e) => {
          const before = missing().length;
          onResult(e);
          if (missing().length < before) lastProgress = performance.now();
        });
        const now = performance.now();
        if (now - lastCheck >= this.d.heartbeatMs / 4) {
          lastCheck = now;
          await this.checkHeartbeats(remote, missing(), req);
        }
        for (const p of missing()) {
          if (p.worker === null) {
            p.worker = this.choose(p.slice, remote);
            if (p.worker !== null) {
              p.fields = this.taskFields(req, p);
              await this.sendTask(p);
              lastProgress = performance.now();
            }
          }
        }
        if (performance.now() - lastProgress > this.d.waitTimeoutMs) {
          const p = missing()[0];
          const who = p.worker === null ? 'no live worker to compute it' : `worker ${p.worker}, whose heartbeat is alive`;
          throw new DistributedError(`waited ${(this.d.waitTimeoutMs / 1000).toFixed(0)} s for slice ${p.slice} of step ${req.step} of job ${this.d.job} (${who}); giving up`);
        }
      }
      await sending;
      if (send.isFailed) throw send.error;
    });
    // The commit is on the wire before this step ends, so the next version's weights are published after it.
    await this.txQueued;
    this.fig.steps++;
    // The main thread adds the slices in slice order (addSlices.ts), its own first.
    const slices = remote.map((p) => {
      const r = results[p.slice];
      if (r === null) throw new DistributedError(`slice ${p.slice} of step ${req.step}: no result`);
      return r;
    });
    return { type: 'reply', seq: req.seq, slices, serializeMs: serialize, redisMs: redis, joinMs };
  }

  private async checkHeartbeats(pending: Pending[], missing: readonly Pending[], req: StepRequest): Promise<void> {
    if (performance.now() < this.graceUntil) return;
    const { cmd } = this.conns();
    const owing = [...new Set(missing.map((p) => p.worker).filter((w): w is string => w !== null))];
    const ttls = await Promise.all(owing.map((w) => cmd.send(['PTTL', this.keys.heartbeat(w)])));
    for (let i = 0; i < owing.length; i++) {
      if (Number(ttls[i]) !== -2) continue;
      this.markDead(owing[i], `missed its heartbeat (no ${this.keys.heartbeat(owing[i])} for ${this.d.heartbeatMs} ms)`);
      for (const p of missing) {
        if (p.worker !== owing[i]) continue;
        p.attempt++;
        this.fig.reassigned++;
        p.worker = this.choose(p.slice, pending);
        p.fields = this.taskFields(req, p);
        if (p.worker !== null) {
          this.log(`slice ${p.slice} of step ${req.step} goes to worker ${p.worker} (attempt ${p.attempt})`);
          await this.sendTask(p);
        }
      }
    }
  }

  // ───────────────────────────── partitioned input ─────────────────────────────

  /**
   * Rows [from, from + count) of the partitions' round-robin order: count/N rows from each partition,
   * asked of the worker holding that partition's slot (its owner); an owner whose heartbeat lapses
   * has its request sent to another worker (attempt + 1), which replays the partition to the same
   * place. The rows are merged round-robin — row from + i from partition i mod N.
   */
  private async rows(req: RowsRequest): Promise<StepReply> {
    await this.awaitWorkers(this.workersNeeded());
    const n = this.d.slices;
    const local = req.from / n;
    const per = req.count / n;
    if (!Number.isInteger(local) || !Number.isInteger(per)) throw new DistributedError(`partitioned input: rows ${req.from} + ${req.count} are not whole rounds of ${n} partitions`);
    const got: ({ rows: Sample[]; isEnd: boolean } | null)[] = new Array<{ rows: Sample[]; isEnd: boolean } | null>(n).fill(null);
    const asks: Pending[] = Array.from({ length: n }, (_, p) => ({ slice: p, start: 0, rows: per, attempt: 0, worker: null, fields: [] }));
    const fieldsOf = (a: Pending): CommandArg[] => [
      'h',
      JSON.stringify({ kind: 'rows', uid: this.d.uid, epoch: this.d.epoch, stream: req.stream, p: a.slice, dataEpoch: req.dataEpoch, from: local, count: per, window: req.window, seed: req.seed, schema: req.schema, attempt: a.attempt }),
    ];
    for (const a of asks) {
      a.worker = this.choose(a.slice, asks);
      a.fields = fieldsOf(a);
    }
    const missing = (): Pending[] => asks.filter((a) => got[a.slice] === null);
    let lastProgress = performance.now();
    let lastCheck = performance.now();
    await this.robust(async () => {
      await Promise.all(missing().map((a) => this.sendTask(a)));
      while (missing().length > 0) {
        if (this.fatal !== null) throw this.fatal;
        await this.readOnce(Math.max(5, Math.min(100, this.d.heartbeatMs / 4)), (e) => {
          const h = headerOf(e);
          if (h === null || h.kind !== 'rows') return;
          const a = typeof h.p === 'number' ? asks[h.p] : undefined;
          if (h.uid !== this.d.uid || h.epoch !== this.d.epoch || a === undefined || h.attempt !== a.attempt || h.dataEpoch !== req.dataEpoch || h.from !== local || got[a.slice] !== null) {
            this.fig.staleResults++;
            return;
          }
          if (typeof h.error === 'string') throw new DistributedError(h.error);
          got[a.slice] = { rows: decodeSamples(fieldOf(e, 'r'), `partition ${a.slice} rows`), isEnd: h.isEnd === true };
          lastProgress = performance.now();
        });
        if (performance.now() - lastCheck >= this.d.heartbeatMs / 4) {
          lastCheck = performance.now();
          if (performance.now() >= this.graceUntil) {
            const { cmd } = this.conns();
            const owing = [...new Set(missing().map((a) => a.worker).filter((w): w is string => w !== null))];
            const ttls = await Promise.all(owing.map((w) => cmd.send(['PTTL', this.keys.heartbeat(w)])));
            owing.forEach((w, i) => {
              if (Number(ttls[i]) === -2) this.markDead(w, `missed its heartbeat (no ${this.keys.heartbeat(w)} for ${this.d.heartbeatMs} ms)`);
            });
          }
        }
        for (const a of missing()) {
          if (a.worker !== null && this.members.get(a.worker)?.isAlive === true) continue;
          a.attempt++;
          this.fig.reassigned++;
          a.worker = this.choose(a.slice, []);
          a.fields = fieldsOf(a);
          if (a.worker !== null) {
            this.log(`partition ${a.slice} goes to worker ${a.worker} (attempt ${a.attempt}); it replays the partition to row ${local}`);
            await this.sendTask(a);
            lastProgress = performance.now();
          }
        }
        if (performance.now() - lastProgress > this.d.waitTimeoutMs) {
          throw new DistributedError(`waited ${(this.d.waitTimeoutMs / 1000).toFixed(0)} s for rows ${local}… of partition ${missing()[0].slice} of job ${this.d.job}; giving up`);
        }
      }
    });
    const parts = got.map((g, p) => {
      if (g === null) throw new DistributedError(`partition ${p}: no rows`);
      return g;
    });
    let merged: { rows: Sample[]; isEnd: boolean };
    try {
      merged = mergeRounds(parts, per, req.stream);
    } catch (e) {
      throw new DistributedError(`${messageOf(e)} (from row ${local} of each partition on)`);
    }
    return { type: 'reply', seq: req.seq, rows: merged.rows, isEnd: merged.isEnd };
  }

  // ───────────────────────────── close ─────────────────────────────

  private async close(isDone: boolean): Promise<StepReply> {
    this.isClosing = true;
    if (this.leaseTimer !== null) clearInterval(this.leaseTimer);
    let error: string | undefined;
    try {
      this.flushTx();
      await this.pendingCommit;
    } catch (e) {
      error = messageOf(e);
    }
    const cmd = this.cmd;
    if (cmd !== null) {
      try {
        const config = await cmd.send(['GET', this.keys.config]);
        if (isDone && typeof config === 'string') {
          const c: unknown = JSON.parse(config);
          if (typeof c === 'object' && c !== null && (c as { epoch?: unknown }).epoch === this.d.epoch) {
            await cmd.send(['SET', this.keys.config, JSON.stringify({ ...c, done: true })]);
          }
        }
        // Give the lease back only while it is ours.
        const lease = await cmd.send(['GET', this.keys.lease]);
        if (lease !== null && String(lease) === this.d.leaseValue) await cmd.send(['DEL', this.keys.lease]);
      } catch {
        // Redis is gone: the lease lapses by itself.
      }
    }
    this.stopChildren();
    this.cmd?.destroy();
    this.rd?.destroy();
    return { type: 'reply', seq: 0, ...(error === undefined ? {} : { error }), coordinator: this.figures(), workers: this.reports() };
  }

  /** Stop the job with this error at the next request. */
  failWith(e: unknown): void {
    this.fatal ??= e instanceof Error ? e : new Error(String(e));
  }

  figures(): CoordinatorFigures {
    return { ...this.fig };
  }

  reports(): WorkerReport[] {
    return [...this.members.values()].map((m) => ({ worker: m.worker, host: m.host, pid: m.pid, isAlive: m.isAlive, ...m.figures }));
  }

  // ───────────────────────────── requests ─────────────────────────────

  async start(): Promise<void> {
    await this.connect();
    const { cmd } = this.conns();
    const last = await cmd.send(['XREVRANGE', this.keys.out, '+', '-', 'COUNT', '1']);
    if (Array.isArray(last) && last.length > 0 && Array.isArray(last[0])) this.outId = String(last[0][0]);
    this.startLease();
    for (let i = 0; i < (this.d.spawn?.count ?? 0); i++) this.spawnWorker();
  }

  async handle(req: LinkRequest, started: Promise<void>): Promise<void> {
    const control = new Int32Array(this.d.control);
    if (req.type === 'commit') {
      if (this.fatal === null) this.commit(req);
      return;
    }
    let reply: StepReply;
    try {
      await started;
      if (this.fatal !== null && req.type === 'step') throw this.fatal;
      reply = req.type === 'step' ? await this.step(req) : req.type === 'rows' ? await this.rows(req) : { ...(await this.close(req.isDone)), seq: req.seq };
    } catch (e) {
      this.fatal ??= e instanceof Error ? e : new Error(String(e));
      reply = { type: 'reply', seq: req.seq, error: messageOf(e) };
      if (req.type === 'close') reply = { ...(await this.close(false)), seq: req.seq, error: messageOf(e) };
    }
    const transfer = (reply.slices ?? []).flatMap((r) => [r.grads.buffer, r.output.buffer]);
    this.d.port.postMessage(reply, transfer);
    Atomics.store(control, 0, req.seq);
    Atomics.notify(control, 0);
  }
}

if (isMainThread) throw new DistributedError('coordinatorThread.ts is a worker_threads entry; use openDistributedJob() instead');
const data: LinkData = workerData;
const link = new Link(data);
// A rejection nobody handled would end this thread silently while the main thread waits: make it the job's error.
process.on('unhandledRejection', (e: unknown) => link.failWith(e));
const started = link.start();
started.catch(() => undefined);
let queue: Promise<void> = Promise.resolve();
data.port.on('message', (req: LinkRequest) => {
  queue = queue.then(() => link.handle(req, started));
});
