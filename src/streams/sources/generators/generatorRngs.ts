/**
 * The random streams of a generated stream, all from one seed, each for one concern, so that changing
 * one option never shifts the draws of another concern:
 *
 *   splitter  = createRng(seed); w0 … w4 = five draws splitter.int(2³²)
 *   instances = createRng(w0)       attributes (and the concept's choices among its parts, e.g. rbf's centroid)
 *   mixing    = createRng(w1)       one uniform u_t per row: which concept row t comes from (driftSchedule.ts)
 *   noise     = createRng(w2)       two draws per row: whether the label flips, and to which class (labelNoise.ts)
 *   perturb   = createRng(w3)       attribute perturbation after labelling (agrawal: six draws per row)
 *   model(c)  = createRng(w4 + c)   concept c's own model: hyperplane weights, rbf centroids, and their drift
 *
 * Consequences: the same seed with a different noise rate gives the same attributes and the same clean
 * labels (and a higher rate flips a superset of the rows); a different width or drift point changes
 * which concept each row comes from but not the draws u_t that decide it.
 */
import { createRng, type Rng } from '../../../ops/random.js';

export interface GeneratorRngs {
  readonly instances: Rng;
  readonly mixing: Rng;
  readonly noise: Rng;
  readonly perturb: Rng;
  /** A fresh generator of concept `id`'s model (the same id gives the same sequence). */
  model(id: number): Rng;
}

const TWO_32 = 4294967296;

/**
 * The streams of `seed`.
 *
 * @example const { instances, mixing } = generatorRngs(1);
 */
export function generatorRngs(seed: number): GeneratorRngs {
  const splitter = createRng(seed);
  const words = Array.from({ length: 5 }, () => splitter.int(TWO_32));
  return {
    instances: createRng(words[0]),
    mixing: createRng(words[1]),
    noise: createRng(words[2]),
    perturb: createRng(words[3]),
    model: (id) => createRng(words[4] + id),
  };
}
