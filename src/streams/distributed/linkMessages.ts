/**
 * The messages between a coordinator's main thread (distributedPool.ts) and its Redis link thread
 * (coordinatorThread.ts). The main thread trains synchronously (DESIGN.md: a step runs inside `next`),
 * so it posts a request on the MessagePort and blocks in Atomics.wait on `control[0]` until the link
 * thread, which does all the Redis work on its own event loop, has posted the reply and stored its
 * `seq` there; the main thread then takes the reply with receiveMessageOnPort. A step request is
 * posted before the main thread computes its own slice (slice 0, unless `localSlice` is off), so the
 * remote slices travel while it computes; the reply carries the remote slices' results, which the
 * main thread adds to its own (addSlices.ts). A commit is posted without waiting (its outcome comes
 * with the next reply), so committing a version costs the step no round trip.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Fingerprint } from './fingerprint.js';
import type { Sample } from '../types.js';
import type { SliceResult } from './addSlices.js';
import type { WorkerFigures } from './wire.js';

export interface LinkData {
  readonly url: string;
  readonly job: string;
  readonly uid: string;
  readonly epoch: number;
  /** The lease value the main thread set; the link thread keeps it alive. */
  readonly leaseValue: string;
  readonly leaseMs: number;
  readonly heartbeatMs: number;
  readonly waitTimeoutMs: number;
  readonly slices: number;
  /** The coordinator computes slice 0 itself; workers get slices 1…N−1. */
  readonly localSlice: boolean;
  readonly nParams: number;
  readonly nOut: number;
  /** The fingerprint workers must have. */
  readonly expected: Fingerprint;
  /** Local worker processes to start (and restart when one dies). */
  readonly spawn: { readonly command: string; readonly args: readonly string[]; readonly count: number } | null;
  /** The first weights version tag this run publishes is startWv + 1. */
  readonly startWv: number;
  readonly control: SharedArrayBuffer;
  readonly port: MessagePort;
}

export interface StepRequest {
  readonly type: 'step';
  readonly seq: number;
  /** Backprop calls in this run epoch, from 1 (the fencing step number). */
  readonly step: number;
  readonly m: number;
  readonly nIn: number;
  /** The batch's row at which `x`, `t` and `l` start: the first remote slice's (the rows of slice 0 stay on the main thread when it computes them). */
  readonly rowsFrom: number;
  readonly x: Float32Array<ArrayBuffer>;
  readonly t: Float32Array<ArrayBuffer>;
  readonly l: Int32Array<ArrayBuffer> | null;
  /** Weights to publish before the step (the first step of a run with nothing committed). */
  readonly push: Float32Array<ArrayBuffer> | null;
}

export interface CommitRequest {
  readonly type: 'commit';
  /** Flat weights, model order. */
  readonly weights: Float32Array;
  readonly steps: number;
  /** The encoded checkpoint without weights and window (checkpointFormat.ts). */
  readonly ckpt: Uint8Array;
  readonly windowLen: number;
  /** Window slots whose sample changed since the previous commit: [slot, encoded sample]. */
  readonly changed: readonly (readonly [number, Uint8Array])[];
}

export interface CloseRequest {
  readonly type: 'close';
  readonly seq: number;
  /** The run completed: mark the job done (its workers exit). */
  readonly isDone: boolean;
}

/** The next rows of partitioned input: rows [from, from + count) of the round-robin order, count/N from each partition. */
export interface RowsRequest {
  readonly type: 'rows';
  readonly seq: number;
  /** The training epoch (partition seeds depend on it). */
  readonly dataEpoch: number;
  readonly from: number;
  readonly count: number;
  readonly stream: string;
  readonly window: number;
  readonly seed: number;
  /** EntrySchemaOptions as JSON. */
  readonly schema: Readonly<Record<string, unknown>>;
}

export type LinkRequest = StepRequest | CommitRequest | CloseRequest | RowsRequest;

/** Where the coordinator's time went, summed over the steps. */
export interface CoordinatorFigures {
  readonly steps: number;
  /** Building tasks and reading results (link thread), flattening the weights and adding the slices (main thread). */
  readonly serializeSeconds: number;
  /** Waiting for Redis replies on the step's path (task writes); the link thread, while the main thread computes or waits. */
  readonly redisSeconds: number;
  /** The main thread blocked for the remote slices (after its own slice, if it computes one). */
  readonly waitSeconds: number;
  /** The main thread computing its own slice (0 without localSlice). */
  readonly computeSeconds: number;
  /** Rows of the coordinator's own slices. */
  readonly localRows: number;
  readonly bytesSent: number;
  readonly bytesReceived: number;
  readonly staleResults: number;
  readonly reassigned: number;
  readonly restarts: number;
  readonly refused: number;
  readonly reconnects: number;
}

export interface WorkerReport extends WorkerFigures {
  readonly worker: string;
  readonly host: string;
  readonly pid: number;
  readonly isAlive: boolean;
}

export interface StepReply {
  readonly type: 'reply';
  readonly seq: number;
  readonly error?: string;
  /** A step's remote slices (slice s at index s − first), for the main thread to add to its own. */
  readonly slices?: readonly RemoteSlice[];
  /** The link thread's part of the step: building tasks and reading results, and the task writes' round trips (ms). */
  readonly serializeMs?: number;
  readonly redisMs?: number;
  /** Of the step's time, waiting for the first workers to join (ms). */
  readonly joinMs?: number;
  readonly coordinator?: CoordinatorFigures;
  readonly workers?: readonly WorkerReport[];
  /** A rows request's rows in round-robin order, and whether the partitions ended. */
  readonly rows?: readonly Sample[];
  readonly isEnd?: boolean;
}

/** A remote slice's result as the link thread hands it on (its arrays transferred, not copied). */
export interface RemoteSlice extends SliceResult {
  readonly grads: Float32Array<ArrayBuffer>;
  readonly output: Float32Array<ArrayBuffer>;
}

export interface LogMessage {
  readonly type: 'log';
  readonly line: string;
}

export type LinkMessage = StepReply | LogMessage;
