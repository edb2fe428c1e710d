import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { relu } from '../../../src/layers/activation.js';
import { dense } from '../../../src/layers/dense.js';
import { sequential } from '../../../src/layers/sequential.js';
import { exportOptimizerState, momentum, restoreOptimizerState, sgd } from '../../../src/ops/optimizers.js';
import { createTrainingState } from '../../../src/streams/training/applyOptimizer.js';
import type { SourcePosition } from '../../../src/streams/checkpoint/checkpointFormat.js';
import { evaluate } from '../../../src/streams/training/evaluate.js';
import { fit, type EpochEvent, type FitBoundary, type FitEvent } from '../../../src/streams/training/fit.js';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { bits, points, sample } from '../samples.js';

function isEpoch(e: FitEvent): e is EpochEvent {
  return e.type === 'epoch';
}

describe('fit', () => {
  const trainSet = points(600, 1);
  const testSet = points(300, 2, undefined, 1000);

  function model(seed = 5) {
    return sequential({ input: [2], seed }, dense({ units: 16 }), relu(), dense({ units: 2 }));
  }

  it('a small MLP learns class = x > y to over 95% test accuracy', async () => {
    const m = model();
    const events = await lastValueFrom(
      fit(m, {
        trainSource: () => from(trainSet),
        testSource: () => from(testSet),
        epochs: 8,
        batchSize: 16,
        shuffle: { window: 100, seed: 3 },
        loss: softmaxCrossEntropy(),
        optimizer: sgd({ lr: 0.1, momentum: 0.9 }),
      }).pipe(toArray()),
    );
    const epochs = events.filter(isEpoch);
    expect(epochs.map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const last = epochs[epochs.length - 1];
    expect(last.test?.count).toBe(300);
    expect(last.test?.accuracy).toBeGreaterThan(0.95);
    expect(last.samples).toBe(600);
    expect(last.steps).toBe(38);
    // Steps continue across epochs (one optimizer state), and every step event comes before its epoch's end.
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 8 * 38 }, (_, i) => i + 1));
    expect(events[38]).toMatchObject({ type: 'epoch', epoch: 1 });
  });

  it('same seeds and data give bitwise-identical weights and events', async () => {
    const once = async () => {
      const m = model(9);
      const events = await lastValueFrom(
        fit(m, {
          trainSource: () => from(trainSet.slice(0, 200)),
          epochs: 2,
          batchSize: 10,
          shuffle: { window: 50, seed: 4 },
          loss: softmaxCrossEntropy(),
          optimizer: sgd({ lr: 0.05 }),
        }).pipe(toArray()),
      );
      return { weights: bits(m.params.map((p) => p.value)), losses: events.flatMap((e) => (e.type === 'step' ? [e.loss] : [])) };
    };
    expect(await once()).toEqual(await once());
  });

  it('an epoch without samples is an error, not a NaN loss', async () => {
    const run = fit(model(), { trainSource: () => from([]), epochs: 1, batchSize: 4, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }) });
    await expect(lastValueFrom(run)).rejects.toThrow('fit: epoch 1 read no samples from trainSource');
  });
});

describe('fit: checkpoint boundaries and resume', () => {
  // 203 rows, batch 8, window 32: partial last batch (3 rows), boundaries during the stream and during the flush.
  const data = points(203, 7);
  const testSet = points(50, 8, undefined, 1000);
  const source = (_epoch: number, start?: SourcePosition) => from(data.slice(start?.nextRecord ?? 0));
  const net = () => sequential({ input: [2], seed: 3 }, dense({ units: 8 }), relu(), dense({ units: 2 }));
  const optimizer = momentum({ lr: 0.05, momentum: 0.9 });

  interface Saved {
    readonly boundary: FitBoundary;
    readonly weights: Float32Array[];
    readonly optimizer: ReturnType<typeof exportOptimizerState>;
  }

  /** Everything but the timing fields, so two runs' events can be compared exactly. */
  const untimed = (e: FitEvent) => (e.type === 'step' ? { ...e, samplesPerSecond: 0 } : { ...e, seconds: 0 });

  function run(options: { microBatches?: number; resume?: Saved; stopAt?: number }) {
    const m = net();
    const state = createTrainingState(m, optimizer);
    const { resume } = options;
    if (resume !== undefined) {
      m.params.forEach((p, i) => p.value.set(resume.weights[i]));
      restoreOptimizerState(state.optimizer, resume.optimizer);
      state.samples = resume.boundary.samples;
    }
    const saved: Saved[] = [];
    const b = resume?.boundary;
    const events = lastValueFrom(
      fit(m, {
        trainSource: source,
        testSource: () => from(testSet),
        epochs: 2,
        batchSize: 8,
        microBatches: options.microBatches,
        shuffle: { window: 32, seed: 11 },
        loss: softmaxCrossEntropy(),
        optimizer,
        state,
        ...(b === undefined
          ? {}
          : { resume: { epoch: b.epoch, within: { shuffle: b.shuffle, position: b.isSourceDone ? null : b.position, progress: b.progress } } }),
        onBoundary: (boundary) => saved.push({ boundary, weights: m.params.map((p) => p.value.slice()), optimizer: exportOptimizerState(state.optimizer) }),
        stop: () => options.stopAt !== undefined && saved.length > 0 && saved[saved.length - 1].boundary.step === options.stopAt,
      }).pipe(toArray()),
    );
    return events.then((list) => ({ events: list, saved, weights: bits(m.params.map((p) => p.value)) }));
  }

  for (const microBatches of [1, 2]) {
    it(`resuming from any step boundary ends bitwise equal to the uninterrupted run (microBatches ${microBatches})`, async () => {
      const full = await run({ microBatches });
      const stepsPerEpoch = Math.ceil(Math.ceil(203 / 8) / microBatches);
      expect(full.saved).toHaveLength(2 * stepsPerEpoch);
      // The flush starts once the source completes: its boundaries say so and hold a flushing window.
      const flushing = full.saved.filter((s) => s.boundary.isSourceDone);
      expect(flushing.length).toBeGreaterThan(1);
      expect(flushing.every((s) => s.boundary.shuffle?.isFlushing === true)).toBe(true);
      expect(full.saved[0].boundary.position).toEqual({ source: 'data.csv', offset: data[32 + 8 * microBatches - 1].origin.endOffset, nextRecord: 32 + 8 * microBatches });
      for (const k of [1, 5, stepsPerEpoch - 2, stepsPerEpoch - 1, stepsPerEpoch, stepsPerEpoch + 3, 2 * stepsPerEpoch - 1]) {
        const cut = full.saved[k - 1];
        const resumed = await run({ microBatches, resume: cut });
        expect(resumed.weights, `resumed at step ${k}`).toEqual(full.weights);
        const tail = full.events.filter((e) => e.type === 'epoch' ? e.epoch >= cut.boundary.epoch : e.step > k);
        expect(resumed.events.map(untimed), `events after step ${k}`).toEqual(tail.map(untimed));
      }
    });
  }

  it('stop ends the fit after the step it becomes true at, without error', async () => {
    const stopped = await run({ stopAt: 10 });
    const steps = stopped.events.filter((e) => e.type === 'step');
    expect(steps[steps.length - 1]).toMatchObject({ step: 10 });
    expect(stopped.events[stopped.events.length - 1]).toMatchObject({ type: 'step', step: 10 });
    const full = await run({});
    const resumed = await run({ resume: stopped.saved[9] });
    expect(resumed.weights).toEqual(full.weights);
  });

  it('a resume at the start of a later epoch runs the remaining epochs only', async () => {
    const full = await run({});
    const firstEpoch = full.events.filter((e) => e.type === 'step' && e.epoch === 1).length;
    const end1 = full.saved[firstEpoch - 1];
    const m = net();
    const state = createTrainingState(m, optimizer);
    m.params.forEach((p, i) => p.value.set(end1.weights[i]));
    restoreOptimizerState(state.optimizer, end1.optimizer);
    state.samples = end1.boundary.samples;
    const events = await lastValueFrom(
      fit(m, { trainSource: source, epochs: 2, batchSize: 8, shuffle: { window: 32, seed: 11 }, loss: softmaxCrossEntropy(), optimizer, state, resume: { epoch: 2 } }).pipe(toArray()),
    );
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([2]);
    expect(bits(m.params.map((p) => p.value))).toEqual(full.weights);
  });
});

describe('evaluate', () => {
  it('identity model on 3 classes: confusion counts, accuracy and mean loss checked by hand', async () => {
    // dense 3→3 with W = I, b = 0: the output is the input, so the predicted class is the argmax of x.
    const m = sequential({ input: [3] }, dense({ units: 3 }));
    m.params[0].value.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    m.params[1].value.fill(0);
    const rows = [
      sample([5, 0, 0], 0, 2, 3), // predicted 0, true 0
      sample([0, 5, 0], 0, 3, 3), // predicted 1, true 0
      sample([0, 0, 5], 2, 4, 3), // predicted 2, true 2
      sample([0, 5, 0], 1, 5, 3), // predicted 1, true 1
      sample([0, 0, 0], 1, 6, 3), // tie → predicted 0, true 1
    ];
    const r = await lastValueFrom(from(rows).pipe(evaluate(m, { loss: softmaxCrossEntropy(), batchSize: 2 })));
    expect(r.count).toBe(5);
    expect(r.accuracy).toBe(3 / 5);
    expect(r.confusion).toEqual([
      [1, 1, 0],
      [1, 1, 0],
      [0, 0, 1],
    ]);
    // Per-sample CE: right with margin 5 → log(2 + e^5) − 5; wrong → log(2 + e^5); uniform → log 3.
    const right = Math.log(2 + Math.exp(5)) - 5;
    const wrong = Math.log(2 + Math.exp(5));
    expect(r.loss).toBeCloseTo((3 * right + wrong + Math.log(3)) / 5, 5);
    expect(Array.from(m.params[0].value)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it('regression rows give accuracy null and no confusion matrix', async () => {
    const m = sequential({ input: [1] }, dense({ units: 1 }));
    m.params[0].value[0] = 2;
    const rows = [sample([1], -1, 2, 1), sample([3], -1, 3, 1)];
    rows[0].target[0] = 1;
    rows[1].target[0] = 6;
    const r = await lastValueFrom(from(rows).pipe(evaluate(m, { loss: meanSquaredError() })));
    expect(r).toEqual({ loss: (0.5 * 1 + 0) / 2, accuracy: null, count: 2, confusion: [] });
  });

  it('an empty test source is an error', async () => {
    const m = sequential({ input: [1] }, dense({ units: 1 }));
    await expect(lastValueFrom(from([]).pipe(evaluate(m, { loss: meanSquaredError() })))).rejects.toThrow(
      'evaluate: the source completed without any sample',
    );
  });
});
