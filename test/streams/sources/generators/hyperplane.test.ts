import { describe, expect, it } from 'vitest';
import { describeGenerator, generateRows } from '../../../../src/streams/sources/generators/generateRows.js';
import { generatorRngs } from '../../../../src/streams/sources/generators/generatorRngs.js';

describe('hyperplane', () => {
  it('without change every row satisfies its concept: label 1 exactly when Σ w_i x_i ≥ ½ Σ w_i, w from the concept\'s model stream', () => {
    const options = { rows: 6000, driftAt: [3000], seed: 10, features: 5 };
    const { concepts, features } = describeGenerator('hyperplane', options);
    expect(features).toEqual(['att1', 'att2', 'att3', 'att4', 'att5']);
    const weightsOf = (id: number) => {
      const model = generatorRngs(10).model(id);
      return Array.from({ length: 5 }, () => model.next());
    };
    const w = concepts.map(weightsOf);
    let wrong = 0;
    let outOfRange = 0;
    let flippedByOtherConcept = 0;
    for (const { x, label, concept } of generateRows('hyperplane', options)) {
      const side = (ws: number[]) => (ws.reduce((s, wi, i) => s + wi * x[i], 0) >= 0.5 * ws.reduce((s, wi) => s + wi, 0) ? 1 : 0);
      if (label !== side(w[concept])) wrong++;
      if (label !== side(w[1 - concept])) flippedByOtherConcept++;
      if (!x.every((v) => v >= 0 && v < 1)) outOfRange++;
    }
    expect({ wrong, outOfRange }).toEqual({ wrong: 0, outOfRange: 0 });
    // The two concepts are different hyperplanes.
    expect(flippedByOtherConcept).toBeGreaterThan(100);
  });

  it('with magChange the first driftFeatures weights move by ±t per row, reversing with probability sigma (a re-implementation of the documented steps)', () => {
    const [d, K, t, s] = [4, 2, 0.01, 0.2];
    const got = [...generateRows('hyperplane', { rows: 2000, seed: 11, features: d, driftFeatures: K, magChange: t, sigma: s })];
    const rngs = generatorRngs(11);
    const model = rngs.model(1);
    const w = Array.from({ length: d }, () => model.next());
    const start = [...w];
    const sigma = [1, 1, 0, 0];
    const want = got.map(() => {
      rngs.mixing.next();
      const x = Array.from({ length: d }, () => rngs.instances.next());
      const label = x.reduce((acc, xi, i) => acc + w[i] * xi, 0) >= 0.5 * w.reduce((a, b) => a + b, 0) ? 1 : 0;
      for (let i = 0; i < K; i++) {
        w[i] += sigma[i] * t;
        if (model.next() < s) sigma[i] *= -1;
      }
      return { x, label, concept: 0 };
    });
    expect(got).toEqual(want);
    // The first two weights moved, the others did not.
    expect(w.map((wi, i) => wi !== start[i])).toEqual([true, true, false, false]);
  });

  it('refuses more drifting features than features', () => {
    expect(() => describeGenerator('hyperplane', { features: 3, driftFeatures: 4 })).toThrow('generate(hyperplane): option "driftFeatures" must be an integer in [0, 3], got 4');
  });
});
