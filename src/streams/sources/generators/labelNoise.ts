/**
 * Label noise: with probability p a row's label is replaced by one of the other k − 1 classes, chosen
 * uniformly, so the noisy label differs from the clean one in a fraction p of rows.
 *
 * Per row, two draws from the noise stream (generatorRngs.ts), always both: v = next() and
 * c = int(k − 1). The label flips when v < p, to (label + 1 + c) mod k. For two classes that is MOA's
 * flip to the other class, with MOA's probability (its `noisePercentage` n is p = n / 100). Drawing
 * both every row makes a higher p flip a superset of the rows a lower p flips, to the same classes.
 */
import type { Rng } from '../../../ops/random.js';

/**
 * The label after noise.
 *
 * @example noisyLabel(1, 2, 0.1, rngs.noise); // 1, or 0 with probability 0.1
 */
export function noisyLabel(label: number, classes: number, p: number, noise: Rng): number {
  const v = noise.next();
  const c = noise.int(classes - 1);
  return v < p ? (label + 1 + c) % classes : label;
}
