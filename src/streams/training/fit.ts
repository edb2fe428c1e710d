/**
 * Epochs and evaluation: `fit` subscribes to the (re-readable) training source once per epoch —
 * optionally through a shuffle window — batches it, trains, and at each epoch's end evaluates on the
 * test source. One TrainingState spans all epochs, so the optimizer's slots and step count continue.
 *
 * Events, in order: every step `{ type: 'step', …StepMetrics }`, then per epoch
 * `{ type: 'epoch', epoch, trainLoss, trainAccuracy, test?, seconds, steps, samples }`.
 * Epochs are 1-based. Epoch e shuffles with seed `shuffle.seed + e − 1`, so every epoch has its own
 * order and a run is reproducible from its seeds.
 *
 * Checkpoints (docs/checkpoints.md): `onBoundary` is called synchronously right after every optimizer
 * update, when nothing is in flight — `batch` cleared its pending samples before emitting the batch
 * just trained, the micro-batch accumulator emptied itself before the update, and the source is
 * paused inside its emission of the last sample read (`lastIn`, which is in the shuffle window or was
 * trained). So {weights, optimizer state, shuffle window and generator, position just past `lastIn`,
 * epoch progress} is the complete state of the run at that instant, and `resume` restarts from it:
 * the source reads on from the position, the window and generator are restored, and the epoch's
 * running sums continue, giving the same steps and events bit for bit as a run never stopped.
 *
 * Workers: with `workers` > 1 (and no `pool` given), fit creates ONE gradient pool
 * (createGradientPool, parallelBackprop.ts) when it is subscribed and closes it when the run
 * completes, errors or is unsubscribed, so the worker threads start once for all epochs instead of
 * once per epoch; every epoch's train subscribes the same pool. A given `pool` is used and left open.
 */
import { concat, concatMap, defer, EMPTY, finalize, map, of, range, takeWhile, tap, type Observable } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { createTrainingState, type StepMetrics, type TrainingState } from './applyOptimizer.js';
import { batch } from './batch.js';
import { evaluate, type EvalResult } from './evaluate.js';
import { shuffle, ShuffleState, type ShuffleSnapshot } from './shuffle.js';
import { createGradientPool, train, type TrainOptions } from './train.js';
import type { RowOrigin, Sample, SourcePosition } from '../types.js';

/** The running sums of the epoch in progress, so a resumed epoch ends with the same EpochEvent. */
export interface EpochProgress {
  /** Σ step loss × step samples. */
  readonly lossSum: number;
  /** Σ correct predictions; null without labels. */
  readonly correct: number | null;
  readonly steps: number;
  /** The cumulative sample count when the epoch began. */
  readonly startSamples: number;
}

/** The state of a fit at a step boundary, right after an optimizer update (see the file comment). */
export interface FitBoundary {
  readonly epoch: number;
  /** Updates applied so far (= the optimizer's t). */
  readonly step: number;
  /** Samples trained on so far. */
  readonly samples: number;
  /**
   * Where this epoch's source reads on: just past the last sample read (`lastIn`). Null only when no
   * sample has been read this epoch (not at a boundary in practice).
   */
  readonly position: SourcePosition | null;
  /** The source has completed: this step came from the window's final flush or the last partial batch. */
  readonly isSourceDone: boolean;
  /** The shuffle window and generator; null without a shuffle window. */
  readonly shuffle: ShuffleSnapshot | null;
  readonly progress: EpochProgress;
}

/** Where a resumed fit starts (the TrainingState and weights are restored by the caller). */
export interface FitResume {
  /** The 1-based epoch to start in. */
  readonly epoch: number;
  /** Start inside that epoch, from a FitBoundary; absent: at the epoch's beginning. */
  readonly within?: {
    readonly shuffle: ShuffleSnapshot | null;
    /** Where the source reads on; null when it had completed (nothing is read again). */
    readonly position: SourcePosition | null;
    readonly progress: EpochProgress;
  };
}

export interface FitOptions extends Omit<TrainOptions, 'epoch'> {
  /**
   * Called once per epoch; each call must read the data from the start — or, with `start` (only for
   * the epoch a `resume` starts inside), from that position: byte offset and next record index.
   */
  readonly trainSource: (epoch: number, start?: SourcePosition) => Observable<Sample>;
  /** Evaluated at each epoch's end. */
  readonly testSource?: () => Observable<Sample>;
  readonly epochs: number;
  readonly batchSize: number;
  readonly shuffle?: { readonly window: number; readonly seed: number };
  /** Batch size for evaluation; default 256. */
  readonly evalBatchSize?: number;
  /** Continue a run from a checkpoint's FitBoundary (or an epoch start). Pass the restored `state` too. */
  readonly resume?: FitResume;
  /**
   * Called synchronously right after every optimizer update, before the step event; the place to take
   * a checkpoint. The boundary is valid only during the call (the window keeps changing).
   */
  readonly onBoundary?: (boundary: FitBoundary) => void;
  /** Checked after every step and epoch event: true ends the fit there (it completes, no error). */
  readonly stop?: () => boolean;
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
  const first = options.resume?.epoch ?? 1;
  if (!(Number.isInteger(first) && first >= 1)) throw new RangeError(`fit: resume.epoch must be a positive integer, got ${first}`);
  const { stop } = options;
  if (options.workers !== undefined && !(Number.isInteger(options.workers) && options.workers >= 1)) throw new RangeError(`fit: workers must be a positive integer, got ${options.workers}`);
  const count = Math.max(0, epochs - first + 1);
  const { workers, internals } = options;
  return defer(() => {
    const state: TrainingState = options.state ?? createTrainingState(model, options.optimizer);
    // The run's own worker threads, for all its epochs (see the file comment).
    const ownPool = options.pool === undefined && workers !== undefined && workers > 1 && count > 0 ? createGradientPool(model, { loss: options.loss, internals, workers }) : null;
    const trainOptions: FitOptions = ownPool === null ? options : { ...options, pool: ownPool };
    const events = range(first, count).pipe(
      concatMap((epoch) => runEpoch(model, trainOptions, state, epoch, epoch === first ? options.resume?.within : undefined)),
    );
    const stopped = stop === undefined ? events : events.pipe(takeWhile(() => !stop(), true));
    return ownPool === null ? stopped : stopped.pipe(finalize(() => ownPool.close()));
  });
}

function runEpoch(model: Model, options: FitOptions, state: TrainingState, epoch: number, within: FitResume['within']): Observable<FitEvent> {
  return defer(() => {
    const start = performance.now();
    const startSamples = within?.progress.startSamples ?? state.samples;
    let samplesBefore = state.samples;
    let lossSum = within?.progress.lossSum ?? 0;
    let correct: number | null = within?.progress.correct ?? null;
    let steps = within?.progress.steps ?? 0;

    // What the boundary needs: the last sample read (it is in the window, or trained) and whether the source ended.
    // Its position is made from its origin only when a boundary asks (there are far fewer steps than rows).
    const startPosition: SourcePosition | null = within?.position ?? null;
    let lastRead: RowOrigin | null = null;
    const position = (): SourcePosition | null => (lastRead === null ? startPosition : { source: lastRead.source, offset: lastRead.endOffset, nextRecord: lastRead.record + 1 });
    let isSourceDone = within !== undefined && within.position === null;
    const source = isSourceDone ? EMPTY : options.trainSource(epoch, within?.position ?? undefined);
    const read = source.pipe(
      tap({
        next: (sample) => {
          lastRead = sample.origin;
        },
        complete: () => {
          isSourceDone = true;
        },
      }),
    );
    const shuffleState = options.shuffle === undefined ? null : new ShuffleState(within?.shuffle ?? undefined);
    const shuffled = options.shuffle === undefined || shuffleState === null ? read : read.pipe(shuffle({ window: options.shuffle.window, seed: options.shuffle.seed + epoch - 1, state: shuffleState }));
    const { onBoundary } = options;
    const steps$ = shuffled.pipe(
      batch(options.batchSize),
      train(model, { ...options, state, epoch }),
      tap((m) => {
        const n = m.samples - samplesBefore;
        samplesBefore = m.samples;
        lossSum += m.loss * n;
        if (m.accuracy !== null) correct = (correct ?? 0) + Math.round(m.accuracy * n);
        steps++;
        onBoundary?.({
          epoch,
          step: m.step,
          samples: m.samples,
          position: position(),
          isSourceDone,
          shuffle: shuffleState?.snapshot() ?? null,
          progress: { lossSum, correct, steps, startSamples },
        });
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
