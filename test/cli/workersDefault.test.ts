/**
 * The default of `train --workers` (scripts/commands/workersDefault.ts): the training FLOPs of a row
 * counted by hand for the bench's two workloads and a strided convolution, and the rule — the largest
 * worker count whose slices each hold MIN_SLICE_FLOPS and MIN_SLICE_FLOPS_PER_PARAM — on the cases
 * that set its thresholds (the MLP at batch 64 stays on one thread, LeNet-5 from batch 32 takes two).
 */
import { describe, expect, it } from 'vitest';
import { conv2d } from '../../src/layers/conv2d.js';
import { dense } from '../../src/layers/dense.js';
import { flatten } from '../../src/layers/flatten.js';
import { relu } from '../../src/layers/activation.js';
import { sequential } from '../../src/layers/sequential.js';
import { presetSpecs } from '../../scripts/presets.js';
import { MIN_FLOPS_PER_FIELD_INLINE, MIN_SLICE_FLOPS, MIN_SLICE_FLOPS_PER_PARAM, defaultWorkers, parsingFor, trainingFlopsPerRow } from '../../scripts/commands/workersDefault.js';

const mlp = () => sequential({ input: [784], seed: 1 }, ...presetSpecs('mlp', { input: [784], outputs: 10, hidden: [128, 64] }));
const lenet = () => sequential({ input: [1, 28, 28], seed: 1 }, ...presetSpecs('lenet', { input: [1, 28, 28], outputs: 10 }));

describe('trainingFlopsPerRow', () => {
  it('MLP 784-128-64-10: 2 · (100,352 · 2 + 8,192 · 3 + 640 · 3) = 454,400 (the bench\'s W1)', () => {
    expect(trainingFlopsPerRow(mlp())).toBe(454_400);
  });

  it('LeNet-5 on 1×28×28: 1,517,040 (the bench\'s W2)', () => {
    // conv 6@5×5 → 6×24×24: 86,400 MACs; conv 16@5×5 on 6×12×12 → 16×8×8: 153,600; dense 256·120, 120·84, 84·10.
    expect(trainingFlopsPerRow(lenet())).toBe(2 * (86_400 * 2 + (153_600 + 30_720 + 10_080 + 840) * 3));
    expect(trainingFlopsPerRow(lenet())).toBe(1_517_040);
  });

  it('a strided, padded convolution counts its output positions: conv 4@3×3 stride 2 pad 1 on 2×8×8 → 4×4×4', () => {
    const m = sequential({ input: [2, 8, 8], seed: 1 }, conv2d({ filters: 4, kernel: 3, stride: 2, padding: 1 }), relu(), flatten(), dense({ units: 3 }));
    expect(trainingFlopsPerRow(m)).toBe(2 * (4 * 4 * 4 * 2 * 3 * 3 * 2 + 64 * 3 * 3));
  });
});

describe('defaultWorkers', () => {
  it('one core: one worker, whatever the model', () => {
    expect(defaultWorkers(lenet(), 256, 1)).toEqual({ workers: 1, why: 'auto: 1 core' });
  });

  it('a parser thread parsing beside the steps takes a core: LeNet-5 stays on one thread of 2 cores, takes 2 of 4', () => {
    expect(defaultWorkers(lenet(), 64, 2).workers).toBe(2);
    expect(defaultWorkers(lenet(), 64, 2, true)).toEqual({ workers: 1, why: 'auto: the CSV parser thread parses beside the steps on one of the 2 cores' });
    const four = defaultWorkers(lenet(), 64, 4, true);
    expect(four.workers).toBe(3);
    expect(four.why).toMatch(/; 3 of the 4 cores, the CSV parser thread parsing beside the steps$/);
    expect(defaultWorkers(lenet(), 64, 4).workers).toBe(4);
  });

  it('the MLP on two cores: batch 32 stays on one thread (its slices are too light for their 109,386 parameters), batch 64 takes two', () => {
    const c = defaultWorkers(mlp(), 32, 2);
    expect(c.workers).toBe(1);
    expect(c.why).toBe(`auto: split in 2, a slice of 16 rows would be 7.3 MFLOP and 66 FLOP per parameter; a worker pays off from ${MIN_SLICE_FLOPS / 1e6} MFLOP and ${MIN_SLICE_FLOPS_PER_PARAM}`);
    expect(defaultWorkers(mlp(), 64, 2)).toEqual({ workers: 2, why: `auto: a slice of 32 rows is 15 MFLOP and 133 FLOP per parameter; a worker pays off from ${MIN_SLICE_FLOPS / 1e6} MFLOP and ${MIN_SLICE_FLOPS_PER_PARAM}` });
  });

  it('LeNet-5 at batch 32 (the default job) and 64 on two cores takes two workers', () => {
    expect(defaultWorkers(lenet(), 32, 2).workers).toBe(2);
    expect(defaultWorkers(lenet(), 64, 2)).toEqual({
      workers: 2,
      why: `auto: a slice of 32 rows is 49 MFLOP and 1093 FLOP per parameter; a worker pays off from ${MIN_SLICE_FLOPS / 1e6} MFLOP and ${MIN_SLICE_FLOPS_PER_PARAM}`,
    });
  });

  it('never more workers than cores or rows, and more rows never mean fewer workers', () => {
    const model = lenet();
    let last = 1;
    for (const batch of [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]) {
      const { workers } = defaultWorkers(model, batch, 8);
      expect(workers).toBeLessThanOrEqual(Math.min(8, batch));
      expect(workers).toBeGreaterThanOrEqual(last);
      last = workers;
    }
    expect(defaultWorkers(model, 512, 8).workers).toBe(8);
  });
});

describe('parsingFor (a file read while the steps run, --csv-thread auto)', () => {
  const MNIST_FIELDS = 785;

  it('LeNet-5 at batch 64 on two cores: both cores compute and the rows are parsed between the steps (1,933 FLOPs per field)', () => {
    const c = parsingFor(lenet(), 64, 2, MNIST_FIELDS);
    expect(c.workers).toBe(2);
    expect(c.isOnTrainingThread).toBe(true);
    expect(c.why).toMatch(new RegExp(`; rows parsed between the steps, which beats a parser thread from ${MIN_FLOPS_PER_FIELD_INLINE} training FLOPs per CSV field \\(here 1933\\)$`));
  });

  it('the MLP at batch 64 (579 FLOPs per field) keeps its parser thread and one worker', () => {
    expect(parsingFor(mlp(), 64, 2, MNIST_FIELDS)).toEqual({ ...defaultWorkers(mlp(), 64, 2, true), isOnTrainingThread: false });
  });

  it('the bar grows as k(k − 1)/2 with the cores: on 4 cores LeNet-5 keeps the parser thread and 3 workers, a row 4 times heavier per field does not', () => {
    const four = parsingFor(lenet(), 64, 4, MNIST_FIELDS);
    expect(four).toEqual({ ...defaultWorkers(lenet(), 64, 4, true), isOnTrainingThread: false });
    // Same network, a quarter of the fields: 7,732 FLOPs per field ≥ 1,000 · 4 · 3 / 2.
    const heavy = parsingFor(lenet(), 64, 4, Math.ceil(MNIST_FIELDS / 4));
    expect(heavy.workers).toBe(4);
    expect(heavy.isOnTrainingThread).toBe(true);
  });

  it('a given worker count parses between the steps exactly when it fills the cores', () => {
    const given = (workers: number) => ({ workers, why: 'given' });
    expect(parsingFor(mlp(), 64, 2, MNIST_FIELDS, given(2))).toEqual({ workers: 2, why: 'given', isOnTrainingThread: true });
    expect(parsingFor(lenet(), 64, 2, MNIST_FIELDS, given(1))).toEqual({ workers: 1, why: 'given', isOnTrainingThread: false });
    expect(parsingFor(lenet(), 64, 1, MNIST_FIELDS, given(1)).isOnTrainingThread).toBe(false);
  });

  it('a light model never leaves the parser thread, whatever the batch', () => {
    const small = sequential({ input: [784], seed: 1 }, dense({ units: 10 }));
    for (const batch of [8, 64, 512]) expect(parsingFor(small, batch, 2, MNIST_FIELDS).isOnTrainingThread).toBe(false);
  });
});
