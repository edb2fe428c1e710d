/**
 * SEA concepts (Street & Kim, "A streaming ensemble algorithm (SEA) for large-scale classification",
 * KDD 2001; MOA's SEAGenerator).
 *
 *   attributes  attrib1, attrib2, attrib3, each uniform in [0, 10)   (attrib3 is irrelevant)
 *   concept f   label = 0 if attrib1 + attrib2 ≤ θ_f, else 1,   θ = 8, 9, 7, 9.5 for f = 1, 2, 3, 4
 *
 * Draws per row: three `next()` from the instance stream, in attribute order. Default concept
 * sequence: 1, 2, 3, 4, 1, … (one per segment). MOA's default 10 % noise is not applied unless asked
 * (`noise: 0.1`); MOA's `balanceClasses` is not offered.
 */
import type { GeneratorDefinition } from './generator.js';

/** θ_f of SEA function f = 1..4 (index f − 1). */
export const SEA_THRESHOLDS: readonly number[] = [8, 9, 7, 9.5];

export const sea: GeneratorDefinition = {
  name: 'sea',
  options: [],
  conceptCount: 4,
  prepare: () => ({
    features: ['attrib1', 'attrib2', 'attrib3'],
    classes: 2,
    concept(id) {
      const theta = SEA_THRESHOLDS[id - 1];
      return {
        sample(instances) {
          const x = [10 * instances.next(), 10 * instances.next(), 10 * instances.next()];
          return { x, label: x[0] + x[1] <= theta ? 0 : 1 };
        },
      };
    },
  }),
};
