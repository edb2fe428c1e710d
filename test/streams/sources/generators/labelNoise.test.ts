import { describe, expect, it } from 'vitest';
import { generateRows } from '../../../../src/streams/sources/generators/generateRows.js';
import { expectBinomial } from './bounds.js';

describe('label noise', () => {
  for (const [name, p, extra] of [['sea', 0.1, {}], ['agrawal', 0.25, { perturb: 0 }], ['stagger', 0.05, {}], ['hyperplane', 0.3, {}]] as const) {
    it(`${name}, noise ${p}: the same seed without noise gives the same attributes, and labels differ in a fraction p of rows (binomial bound)`, () => {
      const clean = [...generateRows(name, { rows: 20_000, seed: 18, ...extra })];
      const noisy = [...generateRows(name, { rows: 20_000, seed: 18, noise: p, ...extra })];
      expect(noisy.map((r) => r.x)).toEqual(clean.map((r) => r.x));
      expectBinomial(noisy.filter((r, t) => r.label !== clean[t].label).length, 20_000, p, `${name} flips`);
    });
  }

  it('sea with noise: the rows that break the formula are the flipped ones, at rate p', () => {
    const rows = [...generateRows('sea', { rows: 20_000, seed: 19, noise: 0.2 })];
    expectBinomial(rows.filter((r) => r.label !== (r.x[0] + r.x[1] <= 8 ? 0 : 1)).length, 20_000, 0.2, 'sea rows breaking θ = 8');
  });

  it('rbf, 5 classes, noise 0.4: a flipped label goes to each other class with probability 1/4', () => {
    const clean = [...generateRows('rbf', { rows: 20_000, seed: 20, classes: 5 })];
    const noisy = [...generateRows('rbf', { rows: 20_000, seed: 20, classes: 5, noise: 0.4 })];
    const shifts = [0, 0, 0, 0];
    let flips = 0;
    noisy.forEach((r, t) => {
      if (r.label === clean[t].label) return;
      flips++;
      shifts[(r.label - clean[t].label + 5) % 5 - 1]++;
    });
    expectBinomial(flips, 20_000, 0.4, 'flips');
    shifts.forEach((count, i) => expectBinomial(count, flips, 0.25, `shift by ${i + 1}`));
  });

  it('a higher rate flips a superset of the rows, to the same classes', () => {
    const low = [...generateRows('rbf', { rows: 5000, seed: 21, classes: 3, noise: 0.1 })];
    const high = [...generateRows('rbf', { rows: 5000, seed: 21, classes: 3, noise: 0.3 })];
    const clean = [...generateRows('rbf', { rows: 5000, seed: 21, classes: 3 })];
    const lowFlipped = low.filter((r, t) => r.label !== clean[t].label && r.label !== high[t].label);
    expect(lowFlipped).toEqual([]);
  });
});
