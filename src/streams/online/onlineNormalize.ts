/**
 * `onlineNormalize()`: standardize each arriving sample with running per-feature statistics (Welford,
 * src/ops/welford.ts), the way an online learner must — from the rows seen so far, never from a first
 * pass over data that has not arrived. For every sample, first the statistics take it in, then it is
 * mapped to `x' = (x − mean) / std` (River's StandardScaler does the same, learn then transform), so
 * the first row of each feature maps to 0.
 *
 * The state is readable at any time (`state.moments`), so a run can store the final statistics in its
 * model file (as a zscore normalization, `statistics()`), and a checkpoint can save and restore them.
 */
import { Observable, type OperatorFunction } from 'rxjs';
import { createMoments, standardize, stdOf, welfordUpdate, type Moments } from '../../ops/welford.js';
import type { Sample } from '../types.js';

/** The statistics of an onlineNormalize stream, shared with whoever needs to read or restore them. */
export class OnlineNormalizeState {
  moments: Moments | null = null;

  /** The statistics so far as a zscore normalization `{ a: mean, b: std }` (a model file's meta.normalize); null before any row. */
  statistics(): { kind: 'zscore'; a: number[]; b: number[] } | null {
    const m = this.moments;
    if (m === null || m.n === 0) return null;
    return { kind: 'zscore', a: Array.from(m.mean), b: Array.from(m.mean, (_, i) => stdOf(m, i)) };
  }
}

/**
 * Standardize every sample with the statistics of the samples up to it.
 *
 * @example source.pipe(onlineNormalize(), prequential(model, options))
 */
export function onlineNormalize(state: OnlineNormalizeState = new OnlineNormalizeState()): OperatorFunction<Sample, Sample> {
  return (source) =>
    new Observable<Sample>((subscriber) =>
      source.subscribe({
        next(sample) {
          if (state.moments === null) state.moments = createMoments(sample.x.length);
          const moments = state.moments;
          if (moments.mean.length !== sample.x.length) {
            subscriber.error(new RangeError(`onlineNormalize: row at ${sample.origin.source}:${sample.origin.line} has ${sample.x.length} features, the statistics ${moments.mean.length}`));
            return;
          }
          welfordUpdate(moments, sample.x);
          subscriber.next({ ...sample, x: standardize(moments, sample.x) });
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
}
