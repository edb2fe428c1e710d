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
import { MIN_SLICE_FLOPS, MIN_SLICE_FLOPS_PER_PARAM, defaultWorkers, trainingFlopsPerRow } from '../../scripts/commands/workersDefault.js';

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
