/**
 * Random radial basis functions (MOA's RandomRBFGenerator, and RandomRBFGeneratorDrift for moving
 * centroids).
 *
 *   concept c   n = `centroids` (default 50) centroids, drawn from concept c's model stream, each:
 *                 centre ∈ [0, 1)^d (d `next()`), class = int(k), spread σ = next(), weight = next()
 *               then, for the first m = min(`driftCentroids`, n) centroids (default 50), a direction:
 *                 d `next()` scaled to unit length
 *   row         from the instance stream: a centroid chosen with probability ∝ its weight (one next()),
 *               a direction v with v_i = 2·next() − 1, a length ℓ = normal() · σ, and
 *                 x = centre + v · ℓ / ‖v‖,   label = the centroid's class
 *   drift       before each row of the concept, each of the m centroids moves by `speed` (default 0)
 *               along its direction, bouncing off the faces of [0, 1]^d (the coordinate is clamped
 *               and that direction component negated)
 *
 * d = `features` (default 10), k = `classes` (default 2). x is not bounded: it leaves [0, 1]^d by a
 * Gaussian multiple of σ. Concept ids are any integer ≥ 1 (default sequence 1, 2, 3, …); a repeated id
 * repeats its centroids (from their starting places). MOA draws the directions from a second generator
 * with the model seed; here they follow the centroids in concept c's model stream.
 */
import type { GeneratorDefinition } from './generator.js';
import { intOption, numberOption } from './generatorOptions.js';

interface Centroid {
  readonly centre: number[];
  readonly label: number;
  readonly spread: number;
}

export const rbf: GeneratorDefinition = {
  name: 'rbf',
  options: ['features', 'classes', 'centroids', 'speed', 'driftCentroids'],
  conceptCount: null,
  prepare(options, where) {
    const d = intOption(where, 'features', options.features, 1, 10);
    const k = intOption(where, 'classes', options.classes, 2, 2);
    const n = intOption(where, 'centroids', options.centroids, 1, 50);
    const speed = numberOption(where, 'speed', options.speed, 0, 0);
    const m = Math.min(n, intOption(where, 'driftCentroids', options.driftCentroids, 0, 50));
    return {
      features: Array.from({ length: d }, (_, i) => `att${i + 1}`),
      classes: k,
      concept(_id, model) {
        const centroids: Centroid[] = [];
        const weights: number[] = [];
        for (let j = 0; j < n; j++) {
          const centre = Array.from({ length: d }, () => model.next());
          centroids.push({ centre, label: model.int(k), spread: model.next() });
          weights.push(model.next());
        }
        const directions = Array.from({ length: m }, () => {
          const v = Array.from({ length: d }, () => model.next());
          const norm = Math.sqrt(v.reduce((s, vi) => s + vi * vi, 0));
          return norm > 0 ? v.map((vi) => vi / norm) : v;
        });
        const totalWeight = weights.reduce((s, w) => s + w, 0);
        return {
          sample(instances) {
            for (let j = 0; j < m; j++) {
              const { centre } = centroids[j];
              const dir = directions[j];
              for (let i = 0; i < d; i++) {
                centre[i] += dir[i] * speed;
                if (centre[i] > 1) {
                  centre[i] = 1;
                  dir[i] = -dir[i];
                } else if (centre[i] < 0) {
                  centre[i] = 0;
                  dir[i] = -dir[i];
                }
              }
            }
            // The first centroid whose cumulative weight exceeds u · Σ weights (MOA's chooseRandomIndexBasedOnWeights).
            const probe = instances.next() * totalWeight;
            let chosen = 0;
            let cumulative = weights[0];
            while (cumulative <= probe && chosen < n - 1) cumulative += weights[++chosen];
            const c = centroids[chosen];
            const v = Array.from({ length: d }, () => 2 * instances.next() - 1);
            const norm = Math.sqrt(v.reduce((s, vi) => s + vi * vi, 0));
            const length = instances.normal() * c.spread;
            const scale = norm > 0 ? length / norm : 0;
            return { x: c.centre.map((ci, i) => ci + v[i] * scale), label: c.label };
          },
        };
      },
    };
  },
};
