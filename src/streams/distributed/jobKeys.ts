/**
 * The Redis keys of one distributed training job. Every key of job NAME carries the hash tag
 * `{NAME}`, so on Redis Cluster they all live in one slot of one master: the atomic commit (MULTI/EXEC
 * over the state and the shuffle window) and the XREAD over the result and control streams touch one
 * slot, and no command is ever cross-slot. (Partitioned input lives elsewhere: partitions.ts spreads
 * `STREAM:{TAG}` over the masters.)
 *
 *   df:{NAME}:config      string  the job's config (JSON): model, loss, slices, run epoch, fingerprint
 *   df:{NAME}:lease       string  the live coordinator's lease (PX TTL, refreshed while it runs)
 *   df:{NAME}:epoch       integer the run epoch: INCR by every coordinator that starts or resumes
 *   df:{NAME}:weights     stream  the published weights the workers compute from, newest last: wv (version
 *                                 tag), w (f32 [P]); the last 8 are kept (a resume finds the committed wv there)
 *   df:{NAME}:state       hash    the committed version: runEpoch, wv, steps, ckpt (checkpoint without weights), windowLen
 *   df:{NAME}:window      hash    slot index → one shuffle-window sample (committed with the state)
 *   df:{NAME}:ctl         stream  joins of workers
 *   df:{NAME}:out         stream  results (Σ-gradients of a slice) from workers
 *   df:{NAME}:in:WORKER   stream  tasks (slices) for one worker, and refusals
 *   df:{NAME}:hb:WORKER   string  a worker's heartbeat (PX TTL; gone = the worker is dead)
 */

export interface JobKeys {
  readonly job: string;
  readonly config: string;
  readonly lease: string;
  readonly epoch: string;
  readonly weights: string;
  readonly state: string;
  readonly window: string;
  readonly ctl: string;
  readonly out: string;
  inbox(worker: string): string;
  heartbeat(worker: string): string;
}

const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

/** Throws a one-line error unless `job` is 1–100 letters, digits, `_`, `.` or `-`. */
export function checkJobName(job: string): void {
  if (!NAME.test(job)) throw new RangeError(`job name ${JSON.stringify(job)}: expected 1-100 letters, digits, "_", "." or "-"`);
}

/** The keys of job `job` (see the file comment). */
export function jobKeys(job: string): JobKeys {
  checkJobName(job);
  const p = `df:{${job}}`;
  return {
    job,
    config: `${p}:config`,
    lease: `${p}:lease`,
    epoch: `${p}:epoch`,
    weights: `${p}:weights`,
    state: `${p}:state`,
    window: `${p}:window`,
    ctl: `${p}:ctl`,
    out: `${p}:out`,
    inbox: (worker) => `${p}:in:${worker}`,
    heartbeat: (worker) => `${p}:hb:${worker}`,
  };
}
