/**
 * RELIABILITY #33, the update half: the loss and the gradients of a step are finite, but applying the
 * update overflows a weight (or an optimizer slot) to ±Infinity/NaN. The step is refused: weights,
 * optimizer slots and the update count are those of the previous step, and NonFiniteError names the
 * step, the batch's lines and the layer whose weights the update broke.
 */
import { from, lastValueFrom, tap } from 'rxjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initKernels } from '../../../src/ops/kernels.js';
import { stepWasmReady } from '../../../src/ops/wasm/stepWasm.js';
import { relu } from '../../../src/layers/activation.js';
import { dense } from '../../../src/layers/dense.js';
import { sequential, type Model } from '../../../src/layers/sequential.js';
import { adam, exportOptimizerState, sgd, type OptimizerConfig } from '../../../src/ops/optimizers.js';
import type { LrSchedule } from '../../../src/ops/schedules.js';
import { createTrainingState } from '../../../src/streams/training/applyOptimizer.js';
import { batch } from '../../../src/streams/training/batch.js';
import { meanSquaredError, softmaxCrossEntropy } from '../../../src/streams/training/lossHead.js';
import { describeBatchLines, NonFiniteError } from '../../../src/streams/training/numerics.js';
import { shuffle } from '../../../src/streams/training/shuffle.js';
import { train } from '../../../src/streams/training/train.js';
import type { Sample } from '../../../src/streams/types.js';
import { createRng } from '../../../src/ops/random.js';
import { bits, sample } from '../samples.js';

/** n regression samples y = x0 + x1 with x in [0, 4)², lines from `firstLine`. */
function regression(n: number, seed: number, firstLine = 2): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = [4 * rng.next(), 4 * rng.next()];
    const s = sample(x, -1, firstLine + i, 1);
    s.target[0] = x[0] + x[1];
    return s;
  });
}

/** The learning-rate factor jumps to `huge` from update `from` (1-based) on: steps before it are ordinary. */
function jumpAt(from: number, huge: number): LrSchedule {
  return (step) => (step + 1 >= from ? huge : 1);
}

async function failure(run: Promise<unknown>): Promise<NonFiniteError> {
  const error = await run.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(NonFiniteError);
  return error as NonFiniteError;
}

function net(seed: number): Model {
  return sequential({ input: [2], seed }, dense({ units: 3 }), relu(), dense({ units: 1 }));
}

// Run twice: with the TypeScript kernels, then (same thread, from the second block on) the WASM ones,
// whose fused per-step kernels (averaging, clip + update) must keep every contract below.
for (const isWasm of [false, true]) {
  describe(`an update that overflows the weights is refused (${isWasm ? 'WASM kernels' : 'TypeScript kernels'})`, () => {
    beforeAll(async () => {
      if (isWasm) expect(await initKernels()).toBe(true);
      expect(stepWasmReady()).toBe(isWasm);
    });

    it.each([
      ['sgd', sgd({ lr: 0.01 }), 4, 1e42],
      ['adam', adam({ lr: 0.01 }), 3, 1e41],
    ] as [string, OptimizerConfig, number, number][])('%s: finite loss and gradients, weights of the previous step restored', async (_name, optimizer, badStep, factor) => {
      const model = net(5);
      const state = createTrainingState(model, optimizer);
      let lastWeights = bits(model.params.map((p) => p.value));
      let lastState = JSON.stringify(exportOptimizerState(state.optimizer));
      let steps = 0;
      const run = from(regression(40, 3)).pipe(
        batch(4),
        train(model, { loss: meanSquaredError(), optimizer, lrSchedule: jumpAt(badStep, factor), state }),
        tap((m) => {
          steps = m.step;
          expect(Number.isFinite(m.loss)).toBe(true);
          lastWeights = bits(model.params.map((p) => p.value));
          lastState = JSON.stringify(exportOptimizerState(state.optimizer));
        }),
      );
      const e = await failure(lastValueFrom(run));
      expect(steps).toBe(badStep - 1);
      expect(e.step).toBe(badStep);
      expect(e.location?.where).toBe('update');
      expect(Number.isFinite(e.loss) && Number.isFinite(e.gradNorm)).toBe(true);
      expect(e.layer === 0 || e.layer === 2).toBe(true);
      // The batch of update k holds lines 4(k−1)+2 … 4(k−1)+5.
      const first = 4 * (badStep - 1) + 2;
      expect([e.firstLine, e.lastLine]).toEqual([first, first + 3]);
      expect(e.message).toMatch(new RegExp(`^step ${badStep}: the update made layer ${e.layer} \\(dense\\) weights non-finite \\(loss [0-9.e+-]+, gradient norm [0-9.e+-]+ were finite\\) on the batch of data\\.csv lines ${first}–${first + 3}; update refused, weights and optimizer state restored to those after step ${badStep - 1}`));
      // Weights, slots and the update count: bit for bit those after the previous step.
      expect(bits(model.params.map((p) => p.value))).toEqual(lastWeights);
      expect(JSON.stringify(exportOptimizerState(state.optimizer))).toBe(lastState);
      expect(state.optimizer.t).toBe(badStep - 1);
      for (const p of model.params) expect(p.value.every(Number.isFinite)).toBe(true);
    });

    it('at the very first step, the initial weights are kept', async () => {
      const model = net(9);
      const before = bits(model.params.map((p) => p.value));
      const run = from(regression(8, 4)).pipe(batch(8), train(model, { loss: meanSquaredError(), optimizer: sgd({ lr: 1e40 }) }));
      const e = await failure(lastValueFrom(run));
      expect([e.step, e.location?.where]).toEqual([1, 'update']);
      expect(bits(model.params.map((p) => p.value))).toEqual(before);
    });

    it('a shuffled batch lists its lines sorted: lowest–highest, then the first few', async () => {
      const model = sequential({ input: [2], seed: 2 }, dense({ units: 2 }));
      const samples = regression(64, 6, 10).map((s) => sample(Array.from(s.x), s.x[0] > s.x[1] ? 1 : 0, s.origin.line, 2));
      const run = from(samples).pipe(
        shuffle({ window: 64, seed: 3 }),
        batch(16),
        train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 1e40 }) }),
      );
      const e = await failure(lastValueFrom(run));
      const lines = [...e.lines];
      expect(lines).toHaveLength(16);
      expect(lines).toEqual([...lines].sort((a, b) => a - b));
      expect([e.firstLine, e.lastLine]).toEqual([lines[0], lines[15]]);
      expect(e.message).toContain(`on the batch of 16 rows of data.csv lines ${lines[0]}–${lines[15]} (${lines.slice(0, 8).join(', ')}, …)`);
    });

    it('describeBatchLines: consecutive lines as a range, scattered ones with the first few', () => {
      const o = (line: number) => sample([], 0, line).origin;
      expect(describeBatchLines(o(453), o(10))).toBe('data.csv lines 10–453');
      expect(describeBatchLines(o(7), o(5), [o(7), o(5), o(6)])).toBe('data.csv lines 5–7');
      expect(describeBatchLines(o(9), o(3), [o(9), o(3), o(40)])).toBe('3 rows of data.csv lines 3–40 (3, 9, 40)');
      expect(describeBatchLines(o(4), o(4), [o(4)])).toBe('data.csv line 4');
    });
  });
}
