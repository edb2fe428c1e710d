/**
 * batch(m): packs samples into mini-batches of m, copying them into one contiguous tensor per field:
 *
 *   x       `[m, ...shape]`  sample i at x.data[i·n … (i+1)·n), n = prod(shape)
 *   target  `[m, nOut]`
 *   labels  m class indices (Int32Array), or null when every sample is a regression row (label −1)
 *   origins the samples' RowOrigins, in batch order
 *
 * The last partial batch is kept (its `m` is its true size; loss and gradients are averaged over it).
 * A Batch is a value that can be held (buffered, delayed) safely: its arrays are fresh, or — when all
 * its rows lie one after another in a block that its source has sealed (fromCsv's blocks, written
 * once and never again: ops/sealedBuffers.ts) — a view of that block. Nothing writes a Batch's arrays.
 * The pending samples are cleared BEFORE the batch is emitted, so during the (synchronous) training
 * step this operator holds nothing: a checkpoint taken there loses no row.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { ShapeError, formatShape, sizeOf } from '../../ops/tensor.js';
import { isSealedBuffer } from '../../ops/sealedBuffers.js';
import type { Batch, RowOrigin, Sample } from '../types.js';

export interface BatchOptions {
  /** Per-sample input shape, e.g. `[1, 28, 28]`; default `[n]` with n the first sample's length. */
  readonly shape?: readonly number[];
}

function at(origin: RowOrigin): string {
  return `${origin.source}:${origin.line}`;
}

/** The end of the run of rows from `i` whose `field`s (n values each) lie one after another in one buffer. */
function runEnd(samples: readonly Sample[], field: (s: Sample) => Float32Array, n: number, i: number): number {
  const first = field(samples[i]);
  let end = i + 1;
  while (end < samples.length) {
    const next = field(samples[end]);
    if (next.buffer !== first.buffer || next.byteOffset !== first.byteOffset + 4 * n * (end - i)) break;
    end++;
  }
  return end;
}

/**
 * `samples`' `field` as one [m × n] array. Rows that all lie one after another in a sealed block
 * (ops/sealedBuffers.ts) are a view of it; otherwise they are copied, each run of rows that lie one
 * after another in one buffer (views of one block) as one range.
 */
function rowsOf(samples: readonly Sample[], field: (s: Sample) => Float32Array, n: number): Float32Array {
  const first = field(samples[0]);
  const firstEnd = runEnd(samples, field, n, 0);
  if (firstEnd === samples.length && isSealedBuffer(first.buffer)) return new Float32Array(first.buffer, first.byteOffset, n * samples.length);
  const out = new Float32Array(samples.length * n);
  for (let i = 0; i < samples.length; ) {
    const end = i === 0 ? firstEnd : runEnd(samples, field, n, i);
    const v = field(samples[i]);
    out.set(end === i + 1 ? v : new Float32Array(v.buffer, v.byteOffset, n * (end - i)), i * n);
    i = end;
  }
  return out;
}

/** Copy `samples` into one Batch. Throws a ShapeError naming the row whose sizes differ from the first's. */
function pack(samples: readonly Sample[], shape: readonly number[]): Batch {
  const m = samples.length;
  const n = sizeOf(shape);
  const nOut = samples[0].target.length;
  const isRegression = samples[0].label === -1;
  const labels = isRegression ? null : new Int32Array(m);
  samples.forEach((s, i) => {
    if (s.x.length !== n) throw new ShapeError(`batch: row at ${at(s.origin)}`, formatShape(shape) + ` (${n} features)`, `${s.x.length} features`);
    if (s.target.length !== nOut) throw new ShapeError(`batch: row at ${at(s.origin)}`, `${nOut} target values`, `${s.target.length}`);
    if ((s.label === -1) !== isRegression) {
      throw new Error(`batch: row at ${at(s.origin)} has label ${s.label}, but the batch started with ${isRegression ? 'regression rows (label -1)' : 'class labels'}`);
    }
    if (labels !== null) labels[i] = s.label;
  });
  const x = rowsOf(samples, (s) => s.x, n);
  const target = rowsOf(samples, (s) => s.target, nOut);
  return {
    x: { data: x, shape: [m, ...shape] },
    target: { data: target, shape: [m, nOut] },
    labels,
    m,
    origins: samples.map((s) => s.origin),
  };
}

/**
 * Group samples into batches of `size`; the last partial batch is emitted at completion.
 *
 * @example samples.pipe(batch(32, { shape: [1, 28, 28] }), train(model, options))
 */
export function batch(size: number, options: BatchOptions = {}): OperatorFunction<Sample, Batch> {
  if (!(Number.isInteger(size) && size >= 1)) throw new RangeError(`batch: size must be a positive integer, got ${size}`);
  const fixedShape = options.shape;
  if (fixedShape !== undefined && !(fixedShape.length > 0 && fixedShape.every((d) => Number.isInteger(d) && d >= 1))) {
    throw new RangeError(`batch: shape must be a non-empty list of positive integers, got ${formatShape(fixedShape)}`);
  }
  return (source) =>
    new Observable<Batch>((subscriber) => {
      let pending: Sample[] = [];
      // The first sample fixes the shape for the whole subscription.
      let shape = fixedShape;

      function flush(): void {
        const samples = pending;
        pending = [];
        let b: Batch;
        try {
          shape ??= [samples[0].x.length];
          b = pack(samples, shape);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        subscriber.next(b);
      }

      const subscription = source.subscribe({
        next(sample) {
          pending.push(sample);
          if (pending.length === size) flush();
        },
        error: (err) => subscriber.error(err),
        complete() {
          if (pending.length > 0) flush();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        pending = [];
      };
    });
}
