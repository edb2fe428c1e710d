/**
 * Evaluation: a sample stream in, one result out — mean loss, accuracy, sample count and the
 * confusion matrix (rows = true class, columns = predicted class) — with the model left unchanged.
 *
 * It is the training pipeline's front half (batch → forwardModel → lossHead) followed by a fold, so
 * the numbers are exactly what training would have reported on the same batches before an update.
 * For regression rows (no labels) accuracy is null and the confusion matrix is empty.
 */
import { defer, map, reduce, type OperatorFunction } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { addToConfusion, createConfusion } from '../../ops/metrics.js';
import { sizeOf } from '../../ops/tensor.js';
import { batch } from './batch.js';
import { forwardModel } from './forward.js';
import { lossHead, type Loss } from './lossHead.js';
import type { Sample } from '../types.js';

export interface EvalResult {
  /** Mean per-sample loss. */
  readonly loss: number;
  /** Fraction predicted right; null without labels. */
  readonly accuracy: number | null;
  readonly count: number;
  /** `confusion[trueClass][predictedClass]`, n × n with n the model's output size; [] without labels. */
  readonly confusion: number[][];
}

export interface EvaluateOptions {
  readonly loss: Loss;
  /** Samples per forward batch (does not change the result); default 256. */
  readonly batchSize?: number;
}

/**
 * Evaluate `model` on every sample of the stream; emits one EvalResult at completion. An empty stream
 * is an error (there is nothing to average).
 *
 * @example testSamples.pipe(evaluate(model, { loss: softmaxCrossEntropy() })).subscribe(r => console.log(r.accuracy))
 */
export function evaluate(model: Model, options: EvaluateOptions): OperatorFunction<Sample, EvalResult> {
  const nOut = sizeOf(model.outShape);
  return (source) =>
    defer(() => {
      const confusion = createConfusion(nOut);
      return source.pipe(
        batch(options.batchSize ?? 256),
        forwardModel(model),
        lossHead(options.loss),
        reduce(
          (acc, b) => {
            const labels = b.batch.labels;
            if (labels !== null) addToConfusion(confusion, b.output.data, labels, b.batch.m, nOut);
            return {
              lossSum: acc.lossSum + b.lossSum,
              count: acc.count + b.batch.m,
              correct: b.correct === null ? acc.correct : (acc.correct ?? 0) + b.correct,
            };
          },
          { lossSum: 0, count: 0, correct: null as number | null },
        ),
        map(({ lossSum, count, correct }): EvalResult => {
          if (count === 0) throw new Error('evaluate: the source completed without any sample');
          return {
            loss: lossSum / count,
            accuracy: correct === null ? null : correct / count,
            count,
            confusion: correct === null ? [] : confusion,
          };
        }),
      );
    });
}
