/**
 * A seeded shuffle window (a shuffle buffer, as in tf.data): the first `window` samples fill it; then
 * each incoming sample takes the place of a resident chosen uniformly at random, which is emitted;
 * at completion the residents are emitted in a random order (yielding to the event loop every
 * FLUSH_SLICE_MS, so a signal handler can stop a long flush at the next step). Memory stays at
 * `window` samples however long the stream (a sample that is a view of a larger buffer is held as a
 * copy: ownedSample). `window` 0 or 1 passes samples through unchanged (no random draws).
 *
 * Determinism: the order depends only on the seed and the input order (one `rng.int(window)` per
 * sample once the window is full, one Fisher–Yates pass at the end).
 *
 * Checkpoints: pass a `ShuffleState` to read the live window and generator state between steps
 * (`snapshot()`), and to start a later subscription from a saved snapshot (`restore`). Because the
 * replacement happens before the emission, a snapshot taken during the downstream training step
 * already holds the incoming sample. A snapshot taken during the end-of-stream flush says so
 * (`isFlushing`): its window is already in flush order, so a subscription restored from it emits the
 * rest without shuffling again, and its source must be empty (the input has been read to the end).
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { createRng, rngFromState, shuffleInPlace, type Rng } from '../../ops/random.js';
import { ownedSample } from './ownedSample.js';
import type { Sample } from '../types.js';

/** Longest stretch of the end-of-stream flush run without yielding to the event loop. */
const FLUSH_SLICE_MS = 10;

/** A later turn of the event loop: setImmediate in Node, a zero timeout where there is none (a browser). */
const later: (fn: () => void) => { cancel(): void } =
  typeof setImmediate === 'function'
    ? (fn) => {
        const handle = setImmediate(fn);
        return { cancel: () => clearImmediate(handle) };
      }
    : (fn) => {
        const handle = setTimeout(fn, 0);
        return { cancel: () => clearTimeout(handle) };
      };

/** The shuffle window's contents and its generator, as plain data. */
export interface ShuffleSnapshot {
  readonly window: readonly Sample[];
  /** `Rng.state()`: four uint32 integers. */
  readonly rng: readonly number[];
  /**
   * Taken during the end-of-stream flush: the window is already shuffled and is emitted from its end.
   * NOTE: restoring such a snapshot must not shuffle it again (that would change the order).
   */
  readonly isFlushing: boolean;
}

/** A holder that lets a checkpoint read the live shuffle window and restore it later. */
export class ShuffleState {
  private pending: ShuffleSnapshot | null;
  private live: (() => ShuffleSnapshot) | null = null;

  /** With `restoreFrom`, the next subscription resumes from that snapshot instead of the seed. */
  constructor(restoreFrom?: ShuffleSnapshot) {
    this.pending = restoreFrom ?? null;
  }

  /** The current window and rng state of the (last) subscription; null before any subscription. */
  snapshot(): ShuffleSnapshot | null {
    return this.live === null ? this.pending : this.live();
  }

  /** Used by `shuffle` at subscription: registers the live reader and hands over a pending restore once. */
  attach(read: () => ShuffleSnapshot): ShuffleSnapshot | null {
    const restore = this.pending;
    this.pending = null;
    this.live = read;
    return restore;
  }
}

export interface ShuffleOptions {
  /** Number of samples held; 0 or 1 = passthrough. */
  readonly window: number;
  /** Seed of the generator (a safe integer). */
  readonly seed: number;
  /** Checkpoint holder (see ShuffleState). */
  readonly state?: ShuffleState;
}

/**
 * Shuffle a sample stream through a seeded window.
 *
 * @example fromCsv('train.csv', opts).pipe(shuffle({ window: 10000, seed: 7 }), batch(32))
 */
export function shuffle(options: ShuffleOptions): OperatorFunction<Sample, Sample> {
  const { window: size, seed, state } = options;
  if (!(Number.isInteger(size) && size >= 0)) throw new RangeError(`shuffle: window must be a non-negative integer, got ${size}`);
  if (!Number.isSafeInteger(seed)) throw new RangeError(`shuffle: seed must be a safe integer, got ${seed}`);
  return (source) =>
    new Observable<Sample>((subscriber) => {
      let rng: Rng = createRng(seed);
      let resident: Sample[] = [];
      let isFlushing = false;
      let resumeAt: { cancel(): void } | null = null;
      const restore = state?.attach(() => ({ window: resident.slice(), rng: rng.state(), isFlushing })) ?? null;
      if (restore !== null) {
        if (restore.window.length > (size <= 1 ? 0 : size)) {
          subscriber.error(new RangeError(`shuffle: restored window holds ${restore.window.length} samples, more than the window size ${size}`));
          return;
        }
        rng = rngFromState(restore.rng);
        resident = restore.window.slice();
        isFlushing = restore.isFlushing;
      }

      const subscription = source.subscribe({
        next(sample) {
          if (isFlushing) {
            subscriber.error(new Error(`shuffle: restored from a snapshot taken at the end of the stream, but the source emitted another sample (${sample.origin.source}:${sample.origin.line})`));
            return;
          }
          if (size <= 1) {
            subscriber.next(sample);
            return;
          }
          // The window holds its rows in arrays of their own, not in the (larger) buffers they came in.
          if (resident.length < size) {
            resident.push(ownedSample(sample));
            return;
          }
          const j = rng.int(size);
          const out = resident[j];
          resident[j] = ownedSample(sample);
          subscriber.next(out);
        },
        error: (err) => subscriber.error(err),
        complete() {
          if (!isFlushing) {
            isFlushing = true;
            shuffleInPlace(resident, rng);
          }
          drain();
        },
      });

      /**
       * Emit the flushed window, popping as we go (a snapshot during the flush holds only what is
       * still to come). NOTE: downstream training runs inside each emission, so a whole window can be
       * seconds of work; after FLUSH_SLICE_MS the rest continues in a later turn of the event loop
       * (setImmediate), where signal handlers and timers get to run. Only the timing changes, never
       * the order; a short flush stays synchronous.
       */
      function drain(): void {
        resumeAt = null;
        const until = performance.now() + FLUSH_SLICE_MS;
        while (resident.length > 0 && !subscriber.closed) {
          const out = resident.pop();
          if (out !== undefined) subscriber.next(out);
          if (resident.length > 0 && performance.now() > until) {
            resumeAt = later(drain);
            return;
          }
        }
        subscriber.complete();
      }
      return () => {
        subscription.unsubscribe();
        resumeAt?.cancel();
        resident = [];
      };
    });
}
