import { describe, expect, it } from 'vitest';
import type { Rng } from '../../../../src/ops/random.js';
import { describeGenerator, generateRows } from '../../../../src/streams/sources/generators/generateRows.js';
import { generatorRngs } from '../../../../src/streams/sources/generators/generatorRngs.js';

/** The documented random-RBF procedure, step by step (docs/generators.md), for one concept and no drift points. */
function rbfByHand(seed: number, rows: number, d: number, k: number, n: number, speed: number, m: number) {
  const rngs = generatorRngs(seed);
  const model: Rng = rngs.model(1);
  const centres: number[][] = [];
  const classes: number[] = [];
  const spreads: number[] = [];
  const weights: number[] = [];
  for (let j = 0; j < n; j++) {
    centres.push(Array.from({ length: d }, () => model.next()));
    classes.push(model.int(k));
    spreads.push(model.next());
    weights.push(model.next());
  }
  const directions = Array.from({ length: Math.min(m, n) }, () => {
    const v = Array.from({ length: d }, () => model.next());
    const len = Math.hypot(...v);
    return v.map((vi) => vi / len);
  });
  const out = [];
  for (let t = 0; t < rows; t++) {
    rngs.mixing.next();
    directions.forEach((dir, j) => {
      for (let i = 0; i < d; i++) {
        centres[j][i] += dir[i] * speed;
        if (centres[j][i] > 1 || centres[j][i] < 0) {
          centres[j][i] = centres[j][i] > 1 ? 1 : 0;
          dir[i] = -dir[i];
        }
      }
    });
    const probe = rngs.instances.next() * weights.reduce((a, b) => a + b, 0);
    let j = 0;
    for (let acc = weights[0]; acc <= probe && j < n - 1; ) acc += weights[++j];
    const v = Array.from({ length: d }, () => 2 * rngs.instances.next() - 1);
    const length = rngs.instances.normal() * spreads[j];
    const x = centres[j].map((c, i) => c + (v[i] * length) / Math.hypot(...v));
    const label = classes[j];
    out.push({ x, label, concept: 0 });
  }
  return out;
}

describe('rbf', () => {
  it('each row is its weighted-chosen centroid plus a Gaussian-length step, labelled with the centroid\'s class (MOA defaults: 10 features, 2 classes, 50 centroids)', () => {
    expect(describeGenerator('rbf').features).toHaveLength(10);
    const got = [...generateRows('rbf', { rows: 500, seed: 12 })];
    const want = rbfByHand(12, 500, 10, 2, 50, 0, 50);
    got.forEach((row, t) => {
      expect(row.label).toBe(want[t].label);
      row.x.forEach((v, i) => expect(Math.abs(v - want[t].x[i])).toBeLessThan(1e-12));
    });
  });

  it('with speed, drifting centroids move and bounce inside [0, 1]^d (5 classes, 7 centroids, 3 of them moving)', () => {
    const got = [...generateRows('rbf', { rows: 3000, seed: 13, features: 3, classes: 5, centroids: 7, speed: 0.01, driftCentroids: 3 })];
    const want = rbfByHand(13, 3000, 3, 5, 7, 0.01, 3);
    let worst = 0;
    got.forEach((row, t) => {
      expect(row.label).toBe(want[t].label);
      row.x.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - want[t].x[i]))));
    });
    expect(worst).toBeLessThan(1e-9);
    expect(new Set(got.map((r) => r.label)).size).toBeGreaterThan(1);
  });

  it('a different concept id is a different set of centroids', () => {
    const a = [...generateRows('rbf', { rows: 200, seed: 14, concepts: [1] })];
    const b = [...generateRows('rbf', { rows: 200, seed: 14, concepts: [2] })];
    expect(a.filter((r, t) => r.label !== b[t].label).length).toBeGreaterThan(10);
  });
});
