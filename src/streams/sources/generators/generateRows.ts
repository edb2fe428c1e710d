/**
 * The synthetic drift streams as plain iterables of rows: `generateRows('sea', { rows, driftAt, … })`.
 *
 * Row t (0-based) is made in this order, each step from its own random stream (generatorRngs.ts):
 *
 *   1. u_t = mixing.next();  j = the concept index of row t (driftSchedule.ts)
 *   2. (x, clean label) from concept `concepts[j]`'s sampler, attributes drawn from the instance stream
 *   3. label = noisyLabel(clean label) from the noise stream (labelNoise.ts)
 *   4. x perturbed from the perturbation stream (agrawal only)
 *
 * Each position j of the concept sequence has its own sampler (for hyperplane and rbf, its own
 * drifting model, started from concept `concepts[j]`'s model stream); a sampler advances only on the
 * rows drawn from it, as each stream of MOA's ConceptDriftStream does.
 */
import { agrawal } from './agrawal.js';
import { conceptIndexAt } from './driftSchedule.js';
import type { ConceptSampler, GeneratedRow, GenerateOptions, GeneratorDefinition, GeneratorName, PreparedGenerator } from './generator.js';
import { generatorOptionError, intOption, numberOption } from './generatorOptions.js';
import { generatorRngs } from './generatorRngs.js';
import { hyperplane } from './hyperplane.js';
import { noisyLabel } from './labelNoise.js';
import { rbf } from './rbf.js';
import { sea } from './sea.js';
import { stagger } from './stagger.js';

export const GENERATORS: Readonly<Record<GeneratorName, GeneratorDefinition>> = { sea, hyperplane, rbf, agrawal, stagger };

/** The generator names, in documentation order. */
export const generatorNames: readonly GeneratorName[] = ['sea', 'hyperplane', 'rbf', 'agrawal', 'stagger'];

/** What a stream will be, with every default filled in. */
export interface GeneratorDescription {
  readonly name: GeneratorName;
  /** Attribute names, in row order (the CSV header before `label`). */
  readonly features: readonly string[];
  readonly classes: number;
  /** Rows, or null for an endless stream. */
  readonly rows: number | null;
  readonly seed: number;
  readonly driftAt: readonly number[];
  /** 0: abrupt. */
  readonly width: number;
  /** Concept id of each segment: `concepts[k]` after the k-th drift point. */
  readonly concepts: readonly number[];
  readonly noise: number;
}

/** The id sequence a generator uses when none is given: its concepts in turn (1, 2, …, n, 1, …), or 1, 2, 3, … for random models. */
function defaultConcepts(definition: GeneratorDefinition, segments: number): number[] {
  const n = definition.conceptCount;
  return Array.from({ length: segments }, (_, k) => (n === null ? k + 1 : (k % n) + 1));
}

function isGeneratorName(name: string): name is GeneratorName {
  return (generatorNames as readonly string[]).includes(name);
}

/** Checks the options of generator `name` and fills in the defaults. */
function prepare(name: string, options: GenerateOptions): { description: GeneratorDescription; prepared: PreparedGenerator } {
  if (!isGeneratorName(name)) throw generatorOptionError('generate', 'name', `one of: ${generatorNames.join(', ')}`, name);
  const where = `generate(${name})`;
  const definition = GENERATORS[name];
  for (const key of Object.keys(options)) {
    const owners = generatorNames.filter((g) => (GENERATORS[g].options as readonly string[]).includes(key));
    const isCommon = ['rows', 'seed', 'driftAt', 'width', 'concepts', 'noise'].includes(key);
    if (isCommon || owners.includes(name)) continue;
    const detail = owners.length > 0 ? `applies to ${owners.join(' and ')}, not to ${name}` : `is unknown (known: rows, seed, driftAt, width, concepts, noise${definition.options.map((o) => `, ${o}`).join('')})`;
    throw generatorOptionError(where, key, 'an option of this generator', options[key as keyof GenerateOptions], detail);
  }
  const rows = options.rows === undefined ? null : intOption(where, 'rows', options.rows, 0, 0);
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw generatorOptionError(where, 'seed', 'an integer', seed);
  const driftAt = options.driftAt ?? [];
  const range = rows === null ? 'integers ≥ 0' : `row indices in [0, ${rows})`;
  const isIncreasing = driftAt.every((p, k) => Number.isSafeInteger(p) && p >= 0 && (rows === null || p < rows) && (k === 0 || p > driftAt[k - 1]));
  if (!isIncreasing) throw generatorOptionError(where, 'driftAt', `increasing ${range}`, driftAt);
  const width = numberOption(where, 'width', options.width, 0, 0);
  if (width > 0 && driftAt.length === 0) throw generatorOptionError(where, 'width', 'given with driftAt', width, 'needs driftAt (the drift points it widens)');
  const segments = driftAt.length + 1;
  const concepts = options.concepts ?? defaultConcepts(definition, segments);
  const n = definition.conceptCount;
  const idRule = n === null ? 'integers ≥ 1' : `integers in [1, ${n}]`;
  if (concepts.length !== segments) {
    throw generatorOptionError(where, 'concepts', `${segments} concept id${segments === 1 ? '' : 's'} (one before the first drift point and one after each)`, concepts);
  }
  if (!concepts.every((c) => Number.isSafeInteger(c) && c >= 1 && (n === null || c <= n))) throw generatorOptionError(where, 'concepts', idRule, concepts);
  const noise = numberOption(where, 'noise', options.noise, 0, 0, 1);
  const prepared = definition.prepare(options, where);
  const description: GeneratorDescription = { name, features: prepared.features, classes: prepared.classes, rows, seed, driftAt, width, concepts, noise };
  return { description, prepared };
}

/**
 * What `generateRows(name, options)` would produce: names, classes, and every option with its default.
 *
 * @example describeGenerator('sea', { rows: 1000 }).features; // ['attrib1', 'attrib2', 'attrib3']
 */
export function describeGenerator(name: string, options: GenerateOptions = {}): GeneratorDescription {
  return prepare(name, options).description;
}

/**
 * The rows of a generated stream. Options are checked at once; each iteration starts the same stream afresh.
 *
 * @example
 * for (const { x, label, concept } of generateRows('sea', { rows: 10_000, driftAt: [5000], width: 500, seed: 7 })) …
 */
export function generateRows(name: string, options: GenerateOptions = {}): Iterable<GeneratedRow> {
  const { description, prepared } = prepare(name, options);
  const { rows, seed, driftAt, width, concepts, noise, classes } = description;
  return {
    *[Symbol.iterator]() {
      const rngs = generatorRngs(seed);
      const samplers: (ConceptSampler | undefined)[] = concepts.map(() => undefined);
      for (let t = 0; rows === null || t < rows; t++) {
        const j = conceptIndexAt(t, rngs.mixing.next(), driftAt, width);
        let sampler = samplers[j];
        if (sampler === undefined) {
          sampler = prepared.concept(concepts[j], rngs.model(concepts[j]));
          samplers[j] = sampler;
        }
        const { x, label } = sampler.sample(rngs.instances);
        const noisy = noisyLabel(label, classes, noise, rngs.noise);
        prepared.perturb?.(x, rngs.perturb);
        yield { x, label: noisy, concept: j };
      }
    },
  };
}
