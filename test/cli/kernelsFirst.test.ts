/**
 * Every command that computes turns the kernels on before it builds or loads a model: a model built
 * after initKernels() keeps its weights in the kernels' memory (resident, kernelMemory.ts); one built
 * before has them copied in and out around every kernel call (the MLP's step lost 7 % to it).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { initKernels } from '../../src/ops/kernels.js';
import { residentAddress } from '../../src/ops/wasm/kernelMemory.js';
import { buildPreset } from '../../scripts/commands/models.js';

const MODEL_MAKERS = /\b(loadModelFile|loadModel|modelForData|buildPreset|chooseTrainModel|sequential)\(/;

describe('kernels before models', () => {
  it('a preset built after initKernels() has every weight resident', async () => {
    expect(await initKernels()).toBe(true);
    const model = buildPreset('mlp', { input: [784], outputs: 10, seed: 1 }).model;
    expect(model.params.every((p) => residentAddress(p.value) >= 0)).toBe(true);
  });

  for (const command of ['train', 'online', 'predict', 'evaluate', 'serve']) {
    it(`${command}: await initKernels() comes before the first model is built or loaded`, () => {
      const text = readFileSync(new URL(`../../scripts/commands/${command}.ts`, import.meta.url), 'utf8');
      const body = text.slice(text.search(/\nasync function run\w+\(/));
      const init = body.indexOf('await initKernels()');
      const firstModel = body.search(MODEL_MAKERS);
      expect(init).toBeGreaterThan(0);
      expect(firstModel === -1 || init < firstModel).toBe(true);
    });
  }
});
