/**
 * What a synthetic drift-stream generator is: the options every generator takes, a definition per
 * generator (sea.ts, hyperplane.ts, rbf.ts, agrawal.ts, stagger.ts), and the rows they produce.
 *
 * A generator has *concepts*, numbered from 1: SEA's four functions, Agrawal's ten, STAGGER's three;
 * for hyperplane and rbf, concept c is a random model (a hyperplane, a set of centroids) drawn from
 * its own seeded generator, so the same c is the same model. A stream is a sequence of concepts — the
 * first until the first drift point, the k-th after the k-th — mixed abruptly or gradually
 * (driftSchedule.ts), with label noise on top (labelNoise.ts). docs/generators.md has the formulas.
 */
import type { Rng } from '../../../ops/random.js';

export type GeneratorName = 'sea' | 'hyperplane' | 'rbf' | 'agrawal' | 'stagger';

/** One generated row: the attributes, the (possibly noisy) class, and the position in the concept sequence it came from. */
export interface GeneratedRow {
  readonly x: number[];
  /** Class index 0..classes−1, after label noise. */
  readonly label: number;
  /** Index into the concept sequence: 0 before the first drift point, k after the k-th (`concepts[k]` is its concept id). */
  readonly concept: number;
}

/** Options of `generate` / `generateRows`; those of one generator only are refused for the others. */
export interface GenerateOptions {
  /** Rows to generate; omitted, the stream never ends (take what you need). */
  readonly rows?: number;
  /** Seed of every random draw (default 1). */
  readonly seed?: number;
  /** Row indices where the concept changes, increasing: rows ≥ driftAt[k−1] belong to concept k (abrupt). */
  readonly driftAt?: readonly number[];
  /** Width W of each gradual change (MOA's ConceptDriftStream sigmoid); 0 or omitted: abrupt. */
  readonly width?: number;
  /** Concept ids, one per segment (driftAt.length + 1); default: the generator's own sequence (SEA 1, 2, 3, 4, 1, …). */
  readonly concepts?: readonly number[];
  /** Probability that a label is replaced by another class, chosen uniformly (default 0). */
  readonly noise?: number;
  /** hyperplane, rbf: number of attributes (default 10). */
  readonly features?: number;
  /** hyperplane: attributes whose weight drifts (default 2). */
  readonly driftFeatures?: number;
  /** hyperplane: change of each drifting weight per row (default 0). */
  readonly magChange?: number;
  /** hyperplane: probability that a drifting weight reverses direction, per row (default 0.1). */
  readonly sigma?: number;
  /** rbf: number of classes (default 2). */
  readonly classes?: number;
  /** rbf: number of centroids (default 50). */
  readonly centroids?: number;
  /** rbf: distance each drifting centroid moves per row (default 0). */
  readonly speed?: number;
  /** rbf: centroids that move (default 50, capped at the number of centroids). */
  readonly driftCentroids?: number;
  /** agrawal: perturbation fraction of the numeric attributes, after labelling (default 0.05). */
  readonly perturb?: number;
}

/** One concept's row maker: attributes drawn from `instances` and the concept's clean label. */
export interface ConceptSampler {
  sample(instances: Rng): { x: number[]; label: number };
}

/** A generator with its options read. */
export interface PreparedGenerator {
  readonly features: readonly string[];
  readonly classes: number;
  /** The sampler of concept `id`; `model` is that concept's own generator (hyperplane and rbf draw their model from it). */
  concept(id: number, model: Rng): ConceptSampler;
  /** Changes attributes after labelling (Agrawal's perturbation), drawing from `rng`. */
  perturb?(x: number[], rng: Rng): void;
}

export interface GeneratorDefinition {
  readonly name: GeneratorName;
  /** The options of this generator only. */
  readonly options: readonly (keyof GenerateOptions)[];
  /** How many predefined concepts (ids 1..n), or null: any id ≥ 1 names a random model. */
  readonly conceptCount: number | null;
  /** Reads and checks this generator's options; `where` prefixes errors. */
  prepare(options: GenerateOptions, where: string): PreparedGenerator;
}
