/**
 * Rotating hyperplane (Hulten, Spencer & Domingos, "Mining time-changing data streams", KDD 2001;
 * MOA's HyperplaneGenerator).
 *
 *   attributes  att1 … att_d, each uniform in [0, 1)                      d = `features` (default 10)
 *   concept c   weights w_1 … w_d uniform in [0, 1), drawn from concept c's model stream
 *   label       1 if Σ_i w_i x_i ≥ ½ Σ_i w_i, else 0
 *   drift       after each row of the concept, for the first K = `driftFeatures` weights (default 2):
 *                 w_i ← w_i + σ_i · t      t = `magChange` (default 0: no continuous drift)
 *                 σ_i ← −σ_i with probability s = `sigma` (default 0.1), σ_i starting at +1
 *
 * Draws: d `next()` per row from the instance stream; concept c's model stream gives its d weights,
 * then K `next()` per row of that concept for the reversals (K ≤ d) (MOA takes the weights and reversals from
 * its one instance generator). Concept ids are any integer ≥ 1; default sequence 1, 2, 3, … . Each
 * segment of the concept sequence starts its concept afresh, so a repeated id repeats its hyperplane.
 * MOA's default 5 % noise is applied only when asked (`noise: 0.05`).
 */
import type { GeneratorDefinition } from './generator.js';
import { intOption, numberOption } from './generatorOptions.js';

export const hyperplane: GeneratorDefinition = {
  name: 'hyperplane',
  options: ['features', 'driftFeatures', 'magChange', 'sigma'],
  conceptCount: null,
  prepare(options, where) {
    const d = intOption(where, 'features', options.features, 1, 10);
    const K = intOption(where, 'driftFeatures', options.driftFeatures, 0, Math.min(2, d), d);
    const t = numberOption(where, 'magChange', options.magChange, 0, 0, 1);
    const s = numberOption(where, 'sigma', options.sigma, 0, 0.1, 1);
    return {
      features: Array.from({ length: d }, (_, i) => `att${i + 1}`),
      classes: 2,
      concept(_id, model) {
        const w = Array.from({ length: d }, () => model.next());
        const sigma: number[] = Array.from({ length: d }, (_, i) => (i < K ? 1 : 0));
        return {
          sample(instances) {
            const x = Array.from({ length: d }, () => instances.next());
            let sum = 0;
            let sumW = 0;
            for (let i = 0; i < d; i++) {
              sum += w[i] * x[i];
              sumW += w[i];
            }
            const label = sum >= 0.5 * sumW ? 1 : 0;
            for (let i = 0; i < K; i++) {
              w[i] += sigma[i] * t;
              if (model.next() < s) sigma[i] = -sigma[i];
            }
            return { x, label };
          },
        };
      },
    };
  },
};
