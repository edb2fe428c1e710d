/**
 * The shared-memory layout between parallelBackprop (main thread) and its gradient workers
 * (gradientWorker.ts). Everything a step exchanges lives in SharedArrayBuffers, so a step costs a
 * copy of the slice's rows and of the parameters, never a structured clone.
 *
 * Per worker:
 *   control  Int32Array [CONTROL_LENGTH]   the Atomics handshake (fields in `Control`)
 *   result   Float64 [2] (lossSum, correct or NaN when the slice has no labels) then
 *            Float32 [P] the slice's Σ-gradients, flat in model order (layer 0's W, b, layer 1's…);
 *            a SharedArrayBuffer of its own, or — when the main thread's WASM kernels are on — a
 *            block of its kernel memory (the wasm memory is shared), so the main thread's SIMD
 *            reduction reads the gradients where the worker wrote them
 *   slice    Float32 x [cap, nIn] · target [cap, nOut] · output [cap, nOut] · Int32 labels [cap]
 *            (cap rows; replaced by a bigger one, announced through `generation`, when a batch needs more)
 * Shared by all workers:
 *   params   Float32 [P] the model's parameter values, flat in model order, written by the main
 *            thread before each step
 *
 * Handshake of one step: the main thread writes params and the slice, sets `rows`, `hasLabels`,
 * `command = step`, bumps `seq` and notifies; the worker (waiting on `seq`) computes, writes the result,
 * sets `status`, stores `done = seq` and notifies; the main thread waits on `done`. Each wait polls
 * before it sleeps (spinThenWait.ts); a notify with nobody asleep costs nothing. Plain writes before
 * an Atomics store are visible to the thread that observes that store (Atomics are sequentially
 * consistent), so the data areas need no atomics of their own.
 */
import type { MessagePort } from 'node:worker_threads';
import type { LayerSpec } from '../../layers/layer.js';
import { sizeOf } from '../../ops/tensor.js';
import type { Loss } from '../training/lossHead.js';
import type { Batch, RowOrigin } from '../types.js';

/** Indices into a worker's control block. */
export const Control = {
  /** Bumped by the main thread for each command; the worker waits on it. */
  seq: 0,
  /** The last `seq` the worker finished; the main thread waits on it. */
  done: 1,
  /** `Status` of the last step (or `dead` once the worker thread is exiting). */
  status: 2,
  /** 0 while starting, 1 ready, 2 startup failed (the error is on the port). */
  ready: 3,
  /** `Command` for the current `seq`. */
  command: 4,
  /** Rows in the current slice. */
  rows: 5,
  /** 1 when the slice carries labels. */
  hasLabels: 6,
  /** Generation of the slice buffer; a new one is posted on the port before this changes. */
  generation: 7,
} as const;
export const CONTROL_LENGTH = 8;

export const Command = { step: 1, quit: 2 } as const;
export const Status = { ok: 0, error: 1, dead: 2 } as const;
export const Ready = { starting: 0, ready: 1, failed: 2 } as const;

/** Bytes before the gradients in a result buffer: lossSum and correct as float64. */
const STATS_BYTES = 16;

/** A worker's result: `stats = [lossSum, correct | NaN]`, `grads` flat `[P]`. */
export interface ResultArea {
  readonly sab: SharedArrayBuffer;
  readonly stats: Float64Array;
  readonly grads: Float32Array;
}

/** Bytes of a result area for `nParams` parameters. */
export function resultBytes(nParams: number): number {
  return STATS_BYTES + 4 * nParams;
}

/** A result area of its own. */
export function createResultArea(nParams: number): ResultArea {
  return viewResultArea(new SharedArrayBuffer(resultBytes(nParams)), 0, nParams);
}

/** The result area at `byteOffset` (a multiple of 8) of `sab`: a buffer of its own, or a block of the main thread's kernel memory. */
export function viewResultArea(sab: SharedArrayBuffer, byteOffset: number, nParams: number): ResultArea {
  return { sab, stats: new Float64Array(sab, byteOffset, 2), grads: new Float32Array(sab, byteOffset + STATS_BYTES, nParams) };
}

/** A worker's slice buffer for up to `capacity` rows of `nIn` inputs and `nOut` outputs. */
export interface SliceArea {
  readonly sab: SharedArrayBuffer;
  readonly capacity: number;
  /** `[capacity, nIn]`. */
  readonly x: Float32Array;
  /** `[capacity, nOut]`. */
  readonly target: Float32Array;
  /** `[capacity, nOut]`: the model output on the slice, written by the worker. */
  readonly output: Float32Array;
  /** `[capacity]`. */
  readonly labels: Int32Array;
}

export function createSliceArea(capacity: number, nIn: number, nOut: number): SliceArea {
  return viewSliceArea(new SharedArrayBuffer(4 * capacity * (nIn + 2 * nOut + 1)), capacity, nIn, nOut);
}

export function viewSliceArea(sab: SharedArrayBuffer, capacity: number, nIn: number, nOut: number): SliceArea {
  const x = new Float32Array(sab, 0, capacity * nIn);
  const target = new Float32Array(sab, x.byteLength, capacity * nOut);
  const output = new Float32Array(sab, x.byteLength + target.byteLength, capacity * nOut);
  const labels = new Int32Array(sab, x.byteLength + 2 * target.byteLength, capacity);
  return { sab, capacity, x, target, output, labels };
}

/** Copy rows `[start, start + rows)` of `batch` into `area` (the caller checked the batch's sizes). */
export function writeRows(area: SliceArea, batch: Batch, start: number, rows: number, nIn: number, nOut: number): void {
  area.x.set(batch.x.data.subarray(start * nIn, (start + rows) * nIn));
  area.target.set(batch.target.data.subarray(start * nOut, (start + rows) * nOut));
  if (batch.labels !== null) area.labels.set(batch.labels.subarray(start, start + rows));
}

/** Rows `[start, start + rows)` of `batch` as a Batch of their own, viewing (not copying) its buffers. */
export function batchRows(batch: Batch, start: number, rows: number, nIn: number, nOut: number): Batch {
  return {
    x: { data: batch.x.data.subarray(start * nIn, (start + rows) * nIn), shape: [rows, ...batch.x.shape.slice(1)] },
    target: { data: batch.target.data.subarray(start * nOut, (start + rows) * nOut), shape: [rows, nOut] },
    labels: batch.labels === null ? null : batch.labels.subarray(start, start + rows),
    m: rows,
    origins: batch.origins.slice(start, start + rows),
  };
}

/** Stands in for the rows' origins inside a worker: the main thread keeps the real ones. */
const WORKER_ORIGIN: RowOrigin = { source: '(gradient worker slice)', line: 0, record: 0, endOffset: 0 };

/** The first `rows` rows of a slice buffer as a Batch `[rows, ...input]` (inside a worker). */
export function sliceBatch(area: SliceArea, rows: number, input: readonly number[], nOut: number, hasLabels: boolean): Batch {
  const nIn = sizeOf(input);
  return {
    x: { data: area.x.subarray(0, rows * nIn), shape: [rows, ...input] },
    target: { data: area.target.subarray(0, rows * nOut), shape: [rows, nOut] },
    labels: hasLabels ? area.labels.subarray(0, rows) : null,
    m: rows,
    origins: new Array<RowOrigin>(rows).fill(WORKER_ORIGIN),
  };
}

/**
 * Testing only: make a worker fail on its `step`-th slice, by throwing `message`, by exiting its
 * thread, or by stalling (blocking `stallMs` before it computes the slice, as a stuck worker would).
 */
export interface WorkerFault {
  readonly worker: number;
  readonly step: number;
  readonly kind: 'throw' | 'exit' | 'stall';
  readonly message: string;
  readonly stallMs?: number;
}

/** What a gradient worker is started with (structured-cloned; the SharedArrayBuffers are shared, the port transferred). */
export interface GradientWorkerData {
  /** 1..N−1: the slice this worker computes. */
  readonly index: number;
  readonly input: readonly number[];
  readonly specs: readonly LayerSpec[];
  readonly seed: number;
  readonly loss: Loss['name'];
  /** The WASM kernels the main thread has on, and whether they use FMA, so both sides sum and round alike (kernels.ts). */
  readonly kernels: { readonly conv: boolean; readonly gemm: boolean; readonly fma: boolean };
  readonly control: SharedArrayBuffer;
  readonly params: SharedArrayBuffer;
  /** The worker's result area: `resultBytes(P)` bytes at `resultOffset` (viewResultArea). */
  readonly result: SharedArrayBuffer;
  readonly resultOffset: number;
  /** Main → worker: SliceMessage; worker → main: WorkerErrorMessage. */
  readonly port: MessagePort;
  /** How long the worker polls `seq` before it sleeps in Atomics.wait (spinThenWait.ts); 0: never polls. */
  readonly spinMs: number;
  readonly fault: WorkerFault | null;
}

/** A new slice buffer, posted before `generation` in the control block changes. */
export interface SliceMessage {
  readonly generation: number;
  readonly capacity: number;
  readonly sab: SharedArrayBuffer;
}

/** A worker's error, posted before it sets `status = error` (or `ready = failed`). */
export interface WorkerErrorMessage {
  readonly name: string;
  readonly message: string;
  readonly stack: string;
}
