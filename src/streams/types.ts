/**
 * The values that flow through deltaflow's streams.
 *
 * Sources emit one Sample per data row; `batch(m)` packs samples into a Batch of tensors; the
 * forward, loss and delta operators carry a Batch along with the activations and caches.
 */
import type { Tensor } from '../ops/tensor.js';

/**
 * Where a row came from, for error messages, skip reports and checkpoints.
 *
 * For a row of a Redis stream (fromRedisStream): `source` is `redis://HOST:PORT/STREAM`, `record` the
 * 0-based index of the entry among the stream's data entries (counted over resumes), `line` is
 * `record + 1`, `endOffset` is 0 (a stream has no bytes to resume at: its position is a
 * RedisStreamPosition) and `id` is the entry id.
 */
export interface RowOrigin {
  /** File path, or a name such as `stdin` for a stream. */
  readonly source: string;
  /** 1-based line where the record starts (the header is line 1 when present). */
  readonly line: number;
  /** 0-based index of this data record among the data records of the source. */
  readonly record: number;
  /** Byte offset just past the end of this record in the source (resume point). */
  readonly endOffset: number;
  /**
   * The row's identity, when it has one: the text of the source's id column (fromCsv `id`), or the
   * entry id `MS-SEQ` of a Redis stream entry. Predictions carry it, so a label that arrives later (a
   * delayed label, a `POST /learn` by id) finds the row it belongs to. Absent otherwise.
   */
  readonly id?: string;
}

/** One data row, validated and converted. */
export interface Sample {
  /** Features, `prod(shape)` values, already scaled/normalized, in the order of the input shape (CHW). */
  readonly x: Float32Array;
  /** Target vector: one-hot of the class (classification) or the target values (regression). */
  readonly target: Float32Array;
  /** Class index for classification, -1 for regression and for features-only rows (task `predict`). */
  readonly label: number;
  readonly origin: RowOrigin;
  /** The texts of the columns the source was asked to keep (fromCsv `keep`), trimmed, in that order; absent otherwise. */
  readonly kept?: readonly string[];
}

/** A mini-batch of m samples, row-major: sample i occupies `x.data[i*n … (i+1)*n)`. */
export interface Batch {
  /** `[m, ...inputShape]`. */
  readonly x: Tensor;
  /** `[m, nOut]`. */
  readonly target: Tensor;
  /** m class indices (classification) or null (regression). */
  readonly labels: Int32Array | null;
  /** The true number of samples (a last partial batch is smaller than the nominal size). */
  readonly m: number;
  /** Origins of the samples, in batch order. */
  readonly origins: readonly RowOrigin[];
}

/** Where reading resumes: just past the last record consumed into the checkpointed state. */
export interface SourcePosition {
  /** The source name as the CSV reader reports it (RowOrigin.source). */
  readonly source: string;
  /** Byte offset just past the last record consumed (fromCsv `startOffset`). */
  readonly offset: number;
  /** Data records consumed so far = the 0-based index of the next record (fromCsv `startRecord`). */
  readonly nextRecord: number;
  /**
   * 1-based line on which the next record starts (fromCsv `startLine`), so later messages keep true
   * line numbers. Absent when unknown (a record's origin gives its first line, not its last): the
   * reader then counts lines up to `offset`.
   */
  readonly nextLine?: number;
}

/** The typed arrays a checkpoint stores as raw sections. */
export type StateArray = Float32Array | Float64Array | Int32Array | Uint32Array;

/**
 * Operator state as data (optimizer moments, an online run's learners and queues): JSON values plus
 * typed arrays, which a checkpoint stores exactly (checkpoint/checkpointFormat.ts).
 */
export type StateValue =
  | null
  | boolean
  | number
  | string
  | StateArray
  | readonly StateValue[]
  | { readonly [key: string]: StateValue | undefined };
