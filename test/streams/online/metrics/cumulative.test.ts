/** The cumulative mode (a metric by itself): every built-in metric against its slow reference over the whole history. */
import { describe, it } from 'vitest';
import { CLASSIFICATION_CASES, REGRESSION_CASES } from './cases.js';
import { classStream, expectMatchesReference, regressionStream, weights } from './reference.js';

describe('every classification metric, cumulative, equals a recomputation over the whole history', () => {
  for (const [name, make, reference] of CLASSIFICATION_CASES) {
    for (const [seed, k] of [[21, 2], [22, 3], [23, 6]] as const) {
      it(`${name}, ${k} classes, seed ${seed}: after every one of 300 observations`, () => {
        expectMatchesReference(make(), reference, classStream(seed, 300, k), weights.cumulative);
      });
    }
  }
});

describe('every regression metric, cumulative, equals a recomputation over the whole history', () => {
  for (const [name, make, reference] of REGRESSION_CASES) {
    for (const seed of [31, 32]) {
      it(`${name}, seed ${seed}: after every one of 300 observations`, () => {
        expectMatchesReference(make(), reference, regressionStream(seed, 300), weights.cumulative);
      });
    }
  }
});
