/**
 * Epochs and evaluation: `fit` subscribes to the (re-readable) training source once per epoch —
 * optionally through a shuffle window — batches it, trains, and at each epoch's end evaluates on the
 * test source. One TrainingState spans all epochs, so the optimizer's slots and step count continue.
 *
 * Events, in order: every step `{ type: 'step', …StepMetrics }`, then per epoch
 * `{ type: 'epoch', epoch, trainLoss, trainAccuracy, test?, seconds, steps, samples }`.
 * Epochs are 1-based. Epoch e shuffles with seed `shuffle.seed + e − 1`, so every epoch has its own
 * order and a run is reproducible from its seeds.
 */
import { concat, concatMap, defer, map, of, range, tap, type Observable } from 'rxjs';
import type { Model } from '../layers/sequential.js';
import { createTrainingState, type StepMetrics, type TrainingState } from './applyOptimizer.js';
import { batch } from './batch.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { shuffle } from './shuffle.js';
import { train, type TrainOptions } from './train.js';
import type { Sample } from './types.js';

export interface FitOptions extends Omit<TrainOptions, 'epoch'> {
  /** Called once per epoch; each call must read the data from the start. */
  readonly trainSource: () => Observable<Sample>;
  /** Evaluated at each epoch's end. */
  readonly testSource?: () => Observable<Sample>;
  readonly epochs: number;
  readonly batchSize: number;
  readonly shuffle?: { readonly window: number; readonly seed: number };
  /** Batch size for evaluation; default 256. */
  readonly evalBatchSize?: number;
}

export type StepEvent = { readonly type: 'step' } & StepMetrics;

export interface EpochEvent {
  readonly type: 'epoch';
  readonly epoch: number;
  /** Sample-weighted mean of the epoch's step losses (each computed before its update). */
  readonly trainLoss: number;
  readonly trainAccuracy: number | null;
  readonly test?: EvalResult;
  /** Wall-clock seconds of the epoch, evaluation included. */
  readonly seconds: number;
  readonly steps: number;
  /** Samples trained on in this epoch. */
  readonly samples: number;
}

export type FitEvent = StepEvent | EpochEvent;

/**
 * Train `model` for `epochs` passes over `trainSource()`.
 *
 * @example
 * fit(model, { trainSource: () => fromCsv('train.csv', o), testSource: () => fromCsv('test.csv', o),
 *   epochs: 5, batchSize: 32, shuffle: { window: 5000, seed: 1 }, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) })
 *   .subscribe((e) => e.type === 'epoch' && console.log(e.epoch, e.test?.accuracy));
 */
export function fit(model: Model, options: FitOptions): Observable<FitEvent> {
  const { epochs, batchSize } = options;
  if (!(Number.isInteger(epochs) && epochs >= 0)) throw new RangeError(`fit: epochs must be a non-negative integer, got ${epochs}`);
  if (!(Number.isInteger(batchSize) && batchSize >= 1)) throw new RangeError(`fit: batchSize must be a positive integer, got ${batchSize}`);
  return defer(() => {
    const state: TrainingState = options.state ?? createTrainingState(model, options.optimizer);
    return range(1, epochs).pipe(concatMap((epoch) => runEpoch(model, options, state, epoch)));
  });
}

function runEpoch(model: Model, options: FitOptions, state: TrainingState, epoch: number): Observable<FitEvent> {
  return defer(() => {
    const start = performance.now();
    const startSamples = state.samples;
    let samplesBefore = state.samples;
    let lossSum = 0;
    let correct: number | null = null;
    let steps = 0;

    const shuffled = options.shuffle === undefined ? options.trainSource() : options.trainSource().pipe(shuffle({ window: options.shuffle.window, seed: options.shuffle.seed + epoch - 1 }));
    const steps$ = shuffled.pipe(
      batch(options.batchSize),
      train(model, { ...options, state, epoch }),
      tap((m) => {
        const n = m.samples - samplesBefore;
        samplesBefore = m.samples;
        lossSum += m.loss * n;
        if (m.accuracy !== null) correct = (correct ?? 0) + Math.round(m.accuracy * n);
        steps++;
      }),
      map((m): FitEvent => ({ type: 'step', ...m })),
    );

    const end$ = defer(() => {
      const test$: Observable<EvalResult | undefined> = options.testSource === undefined ? of(undefined) : options.testSource().pipe(evaluate(model, { loss: options.loss, batchSize: options.evalBatchSize }));
      return test$.pipe(
        map((test): FitEvent => {
          const samples = state.samples - startSamples;
          if (samples === 0) throw new Error(`fit: epoch ${epoch} read no samples from trainSource`);
          return {
            type: 'epoch',
            epoch,
            trainLoss: lossSum / samples,
            trainAccuracy: correct === null ? null : correct / samples,
            ...(test === undefined ? {} : { test }),
            seconds: (performance.now() - start) / 1000,
            steps,
            samples,
          };
        }),
      );
    });
    return concat(steps$, end$);
  });
}
