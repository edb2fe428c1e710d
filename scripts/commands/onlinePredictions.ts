/**
 * `online --predictions redis://HOST:PORT/STREAM`: every row's prediction (made when the row arrived,
 * before it was learned from) as one entry of a Redis stream (toRedisStream), carrying the row's id —
 * its `--id` column, the Redis entry id of a `--source` row, else its 1-based record number — so a
 * consumer can join it with the label that comes later:
 *
 *   classification  id, row, class (the class name), probabilities ([p0, p1, …], JSON)
 *   regression      id, row, value (target units), or value_<target> per target
 *   several learners: one entry per learner, with a `learner` field
 *
 * Delivery is at least once: a run resumed from a checkpoint predicts the rows after it again, so a
 * consumer keeps the last entry per id (and learner).
 */
import { lastValueFrom, Subject } from 'rxjs';
import type { Prediction } from '../../src/streams/online/onlineLearner.js';
import { toRedisStream, type StreamRecord } from '../../src/streams/sources/toRedisStream.js';
import type { Sample } from '../../src/streams/types.js';
import type { DataMeta } from './meta.js';
import { denormalizeOutputs } from './targets.js';

export interface PredictionSink {
  /** One row's predictions, one per learner (evaluateOnline's onPrediction). */
  write(sample: Sample, predictions: readonly Prediction[]): void;
  /** Wait until Redis has every entry; throws the first failed write. */
  end(): Promise<void>;
}

/** A sink writing to `url` (see the file comment). */
export function openPredictionSink(url: string, meta: DataMeta, learners: readonly string[]): PredictionSink {
  const records = new Subject<StreamRecord>();
  let failure: { error: unknown } | null = null;
  const done = lastValueFrom(records.pipe(toRedisStream(url)), { defaultValue: null }).catch((error: unknown) => {
    failure = { error };
  });
  const isMany = learners.length > 1;
  const targetNorm = meta.targetNormalize;
  const fields = (p: Prediction): Record<string, string | number | readonly number[]> => {
    if (meta.task === 'classify') return { class: meta.classes?.[p.predicted] ?? String(p.predicted), probabilities: Array.from(p.probabilities ?? []) };
    const values = targetNorm === null ? p.output : denormalizeOutputs(targetNorm, p.output, 1, p.output.length);
    if (meta.label.length === 1) return { value: values[0] };
    return Object.fromEntries(meta.label.map((t, j) => [`value_${t}`, values[j]]));
  };
  return {
    write(sample, predictions) {
      if (failure !== null) throw (failure as { error: unknown }).error;
      const id = sample.origin.id ?? String(sample.origin.record + 1);
      predictions.forEach((p, i) => records.next({ id, row: sample.origin.record + 1, ...(isMany ? { learner: learners[i] } : {}), ...fields(p) }));
    },
    async end() {
      records.complete();
      await done;
      if (failure !== null) throw (failure as { error: unknown }).error;
    },
  };
}
