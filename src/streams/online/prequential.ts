/**
 * Online learning with prequential ("test-then-train") evaluation: each arriving sample (or batch of
 * `batchSize`) is first predicted and scored with the current weights, then learned from.
 *
 * This is exactly a training step: its loss and accuracy are computed in the forward pass, before the
 * update — so prequential is `batch(batchSize) → train(...)` followed by a fold into cumulative and
 * windowed means. The window holds the last `window` samples at batch granularity (a batch leaves the
 * window whole once the newer batches alone fill it).
 */
import { defer, map, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { batch } from '../training/batch.js';
import { train, type TrainOptions } from '../training/train.js';
import type { Sample } from '../types.js';

export interface PrequentialOptions extends Omit<TrainOptions, 'microBatches' | 'epoch'> {
  /** Samples in the sliding window. */
  readonly window: number;
  /** Samples per predict-then-learn step; default 1. */
  readonly batchSize?: number;
}

export interface PrequentialMetrics {
  /** Samples seen so far. */
  readonly seen: number;
  /** Fractions predicted right before learning from them; null without labels. */
  readonly cumulativeAccuracy: number | null;
  readonly windowAccuracy: number | null;
  /** Mean losses, each sample scored before its update. */
  readonly cumulativeLoss: number;
  readonly windowLoss: number;
}

interface Scored {
  readonly n: number;
  readonly lossSum: number;
  readonly correct: number;
}

/**
 * Predict, score, then learn, one sample (or batch) at a time.
 *
 * @example samples.pipe(prequential(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), window: 200 }))
 */
export function prequential(model: Model, options: PrequentialOptions): OperatorFunction<Sample, PrequentialMetrics> {
  const { window } = options;
  if (!(Number.isInteger(window) && window >= 1)) throw new RangeError(`prequential: window must be a positive integer, got ${window}`);
  return (source) =>
    defer(() => {
      const recent: Scored[] = [];
      let windowN = 0;
      let windowLoss = 0;
      let windowCorrect = 0;
      let seen = 0;
      let lossSum = 0;
      let correct = 0;
      let hasLabels = false;
      let samplesBefore = options.state?.samples ?? 0;
      return source.pipe(
        batch(options.batchSize ?? 1),
        train(model, options),
        map((m): PrequentialMetrics => {
          const n = m.samples - samplesBefore;
          samplesBefore = m.samples;
          const scored = { n, lossSum: m.loss * n, correct: m.accuracy === null ? 0 : Math.round(m.accuracy * n) };
          hasLabels = m.accuracy !== null;
          seen += n;
          lossSum += scored.lossSum;
          correct += scored.correct;
          recent.push(scored);
          windowN += n;
          windowLoss += scored.lossSum;
          windowCorrect += scored.correct;
          while (recent.length > 1 && windowN - recent[0].n >= window) {
            const old = recent.shift() ?? scored;
            windowN -= old.n;
            windowLoss -= old.lossSum;
            windowCorrect -= old.correct;
          }
          return {
            seen,
            cumulativeAccuracy: hasLabels ? correct / seen : null,
            windowAccuracy: hasLabels ? windowCorrect / windowN : null,
            cumulativeLoss: lossSum / seen,
            windowLoss: windowLoss / windowN,
          };
        }),
      );
    });
}
