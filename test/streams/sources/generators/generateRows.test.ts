import { describe, expect, it } from 'vitest';
import { describeGenerator, generateRows, generatorNames } from '../../../../src/streams/sources/generators/generateRows.js';

const take = <T>(rows: Iterable<T>, n: number): T[] => {
  const out: T[] = [];
  for (const row of rows) {
    if (out.length === n) break;
    out.push(row);
  }
  return out;
};

describe('generateRows: determinism', () => {
  for (const name of generatorNames) {
    it(`${name}: the same seed gives the same rows, bit for bit; another seed others; each iteration starts afresh`, () => {
      const options = { rows: 300, driftAt: [150], width: 40, noise: 0.1, seed: 22 };
      const rows = generateRows(name, options);
      const first = [...rows];
      expect([...rows]).toEqual(first);
      expect([...generateRows(name, options)]).toEqual(first);
      const other = [...generateRows(name, { ...options, seed: 23 })];
      expect(other.filter((r, t) => r.x.some((v, i) => v !== first[t].x[i])).length).toBeGreaterThan(250);
      expect(first).toHaveLength(300);
    });
  }

  it('changing the width changes which rows drift, not the attributes of a concept that stays', () => {
    const abrupt = [...generateRows('sea', { rows: 2000, driftAt: [1000], seed: 24 })];
    const gradual = [...generateRows('sea', { rows: 2000, driftAt: [1000], width: 300, seed: 24 })];
    expect(gradual.map((r) => r.x)).toEqual(abrupt.map((r) => r.x));
    expect(gradual.filter((r, t) => r.concept !== abrupt[t].concept).length).toBeGreaterThan(50);
  });

  it('without rows the stream never ends: take what you need', () => {
    expect(take(generateRows('stagger', { seed: 25 }), 5000)).toHaveLength(5000);
    expect(describeGenerator('stagger').rows).toBeNull();
  });
});

describe('describeGenerator', () => {
  it('fills in the defaults: seed 1, abrupt, no noise, the generator\'s concept sequence', () => {
    expect(describeGenerator('sea', { rows: 10, driftAt: [1, 2, 3, 4, 5] })).toEqual({
      name: 'sea', features: ['attrib1', 'attrib2', 'attrib3'], classes: 2, rows: 10, seed: 1, driftAt: [1, 2, 3, 4, 5], width: 0, concepts: [1, 2, 3, 4, 1, 2], noise: 0,
    });
    expect(describeGenerator('agrawal', { driftAt: [5] }).concepts).toEqual([1, 2]);
    expect(describeGenerator('rbf', { driftAt: [5, 9], classes: 4 })).toMatchObject({ concepts: [1, 2, 3], classes: 4 });
  });
});

describe('generateRows: options', () => {
  const cases: [string, Record<string, unknown>, string][] = [
    ['nope', {}, 'generate: option "name" must be one of: sea, hyperplane, rbf, agrawal, stagger, got "nope"'],
    ['sea', { rows: -1 }, 'generate(sea): option "rows" must be an integer ≥ 0, got -1'],
    ['sea', { rows: 100, driftAt: [50, 20] }, 'generate(sea): option "driftAt" must be increasing row indices in [0, 100), got [50, 20]'],
    ['sea', { rows: 100, driftAt: [100] }, 'generate(sea): option "driftAt" must be increasing row indices in [0, 100), got [100]'],
    ['sea', { width: 10 }, 'generate(sea): option "width" needs driftAt (the drift points it widens)'],
    ['sea', { driftAt: [5], width: -1 }, 'generate(sea): option "width" must be a number ≥ 0, got -1'],
    ['sea', { driftAt: [5], concepts: [1] }, 'generate(sea): option "concepts" must be 2 concept ids (one before the first drift point and one after each), got [1]'],
    ['sea', { concepts: [5] }, 'generate(sea): option "concepts" must be integers in [1, 4], got [5]'],
    ['hyperplane', { concepts: [0] }, 'generate(hyperplane): option "concepts" must be integers ≥ 1, got [0]'],
    ['sea', { noise: 1.5 }, 'generate(sea): option "noise" must be a number in [0, 1], got 1.5'],
    ['sea', { seed: 0.5 }, 'generate(sea): option "seed" must be an integer, got 0.5'],
    ['sea', { centroids: 3 }, 'generate(sea): option "centroids" applies to rbf, not to sea'],
    ['agrawal', { features: 3 }, 'generate(agrawal): option "features" applies to hyperplane and rbf, not to agrawal'],
    ['stagger', { colour: 3 }, 'generate(stagger): option "colour" is unknown (known: rows, seed, driftAt, width, concepts, noise)'],
    ['rbf', { classes: 1 }, 'generate(rbf): option "classes" must be an integer ≥ 2, got 1'],
    ['rbf', { speed: -0.1 }, 'generate(rbf): option "speed" must be a number ≥ 0, got -0.1'],
    ['hyperplane', { magChange: 2 }, 'generate(hyperplane): option "magChange" must be a number in [0, 1], got 2'],
    ['agrawal', { perturb: -0.01 }, 'generate(agrawal): option "perturb" must be a number in [0, 1], got -0.01'],
  ];
  for (const [name, options, message] of cases) {
    it(`${name} ${JSON.stringify(options)}: ${message}`, () => {
      expect(() => generateRows(name, options)).toThrow(message);
    });
  }
});
