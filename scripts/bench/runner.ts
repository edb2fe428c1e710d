/**
 * The contract every trained system meets in the bench — deltaflow in this process, each peer in
 * its own child process — so passes of different systems can alternate back to back:
 * `start()` builds the model and loads the data once, `run(k)` trains k mini-batches of 64 (cycling
 * through the 156 in-memory batches) and times them itself, `close()` ends it.
 */
import type { WorkloadId } from './workloads.js';

/** One timed pass, measured inside the system (process start-up and pipes excluded). */
export interface PassResult {
  readonly samples: number;
  readonly seconds: number;
  /** Mean loss of the last batch (a sanity check that training is happening). */
  readonly loss: number;
  /** CPU seconds (user + system, all threads) the system's process used during the pass. */
  readonly cpuSeconds?: number;
}

export interface RunnerInfo {
  readonly version: string;
  /** Threads used for compute. */
  readonly threads: number;
  /** Free-form details: backend, BLAS, SIMD. */
  readonly note: string;
}

export interface PassRunner {
  /** Stable id used in JSON and flags, e.g. `tfjs-wasm`, `pytorch-2t`. */
  readonly id: string;
  /** Row label of the report table. */
  readonly label: string;
  readonly workload: WorkloadId;
  start(): Promise<RunnerInfo>;
  run(batches: number): Promise<PassResult>;
  close(): Promise<void>;
}

/** A system that cannot run a workload at all (e.g. TF.js wasm has no Conv2DBackpropFilter kernel). */
export class UnsupportedError extends Error {
  constructor(readonly system: string, readonly workload: string, readonly reason: string) {
    super(`${system} cannot train ${workload}: ${reason}`);
    this.name = 'UnsupportedError';
  }
}
