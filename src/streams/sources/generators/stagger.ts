/**
 * STAGGER concepts (Schlimmer & Granger, "Incremental learning from noisy data", Machine Learning 1,
 * 1986, p. 341; MOA's STAGGERGenerator).
 *
 *   attributes  size  ∈ {0 small, 1 medium, 2 large}
 *               color ∈ {0 red, 1 blue, 2 green}
 *               shape ∈ {0 circle, 1 square, 2 triangle}          each uniform, written as these numbers
 *   concept 1   label = 1 if size = small and color = red
 *   concept 2   label = 1 if color = green or shape = circle
 *   concept 3   label = 1 if size = medium or size = large;        else 0
 *
 * Draws per row: three `int(3)` from the instance stream, in attribute order. Default concept
 * sequence: 1, 2, 3, 1, … . MOA's `balanceClasses` is not offered.
 */
import type { GeneratorDefinition } from './generator.js';

const RULES: readonly ((size: number, color: number, shape: number) => boolean)[] = [
  (size, color) => size === 0 && color === 0,
  (_size, color, shape) => color === 2 || shape === 0,
  (size) => size === 1 || size === 2,
];

export const stagger: GeneratorDefinition = {
  name: 'stagger',
  options: [],
  conceptCount: 3,
  prepare: () => ({
    features: ['size', 'color', 'shape'],
    classes: 2,
    concept(id) {
      const rule = RULES[id - 1];
      return {
        sample(instances) {
          const x = [instances.int(3), instances.int(3), instances.int(3)];
          return { x, label: rule(x[0], x[1], x[2]) ? 1 : 0 };
        },
      };
    },
  }),
};
