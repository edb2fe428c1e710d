/**
 * Agrawal's loan functions (Agrawal, Imielinski & Swami, "Database mining: a performance
 * perspective", IEEE TKDE 5(6), 1993, p. 924; MOA's AgrawalGenerator).
 *
 * Attributes, drawn in this order from the instance stream (categorical ones written as their index):
 *
 *   salary      20,000 + 130,000 · next()                          in [20k, 150k)
 *   commission  0 if salary ≥ 75,000, else 10,000 + 65,000 · next()  (drawn only when salary < 75k)
 *   age         20 + int(61)                                       20 … 80
 *   elevel      int(5)                                             education level 0 … 4
 *   car         int(20)                                            make 0 … 19 (MOA's car1 … car20)
 *   zipcode     int(9)                                             0 … 8 (MOA's zipcode1 … zipcode9)
 *   hvalue      (9 − zipcode) · 100,000 · (0.5 + next())           house value
 *   hyears      1 + int(30)                                        years owned, 1 … 30
 *   loan        500,000 · next()                                   in [0, 500k)
 *
 * Concepts (label 0 = MOA's groupA, 1 = groupB); "in [a, b]" is inclusive, and a label is 0 when the
 * condition holds:
 *
 *   1   age < 40 or age ≥ 60
 *   2   salary in [50k, 100k] if age < 40; [75k, 125k] if 40 ≤ age < 60; [25k, 75k] if age ≥ 60
 *   3   elevel in {0, 1} if age < 40; {1, 2, 3} if 40 ≤ age < 60; {2, 3, 4} if age ≥ 60
 *   4   age < 40:       salary in [25k, 75k] if elevel in {0, 1}, else salary in [50k, 100k]
 *       40 ≤ age < 60:  salary in [50k, 100k] if elevel in {1, 2, 3}, else [75k, 125k]
 *       age ≥ 60:       salary in [50k, 100k] if elevel in {2, 3, 4}, else [25k, 75k]
 *   5   age < 40:       loan in [100k, 300k] if salary in [50k, 100k], else loan in [200k, 400k]
 *       40 ≤ age < 60:  loan in [200k, 400k] if salary in [75k, 125k], else [300k, 500k]
 *       age ≥ 60:       loan in [300k, 500k] if salary in [25k, 75k], else [100k, 300k]
 *   6   as 2, on salary + commission
 *   7   2/3 · (salary + commission) − loan / 5 − 20,000 > 0
 *   8   2/3 · (salary + commission) − 5,000 · elevel − 20,000 > 0
 *   9   2/3 · (salary + commission) − 5,000 · elevel − loan / 5 − 10,000 > 0
 *   10  2/3 · (salary + commission) − 5,000 · elevel + equity / 5 − 10,000 > 0,
 *       equity = hvalue · (hyears − 20) / 10 if hyears ≥ 20, else 0
 *
 * Perturbation (after labelling, so with `perturb` > 0 the rows no longer satisfy the formula
 * exactly; default 0.05 as MOA): each numeric attribute v with range [lo, hi] and span r becomes
 * clamp(v + r · (2u − 1) · perturb, lo, hi), u a `next()` of the perturbation stream, six draws per row
 * always, in the order salary [20k, 150k], commission [10k, 75k] (applied only when it is > 0), age
 * [20, 80] then rounded, hvalue (span (9 − zipcode) · 100k, clamped to [0, 1,350,000]), hyears [1, 30]
 * then rounded, loan [0, 500k]. MOA clamps hvalue to 135,000 — apparently a typo, since house values
 * reach 1,350,000 — which flattens the attribute; deltaflow clamps to 1,350,000. Default concept
 * sequence 1, 2, …, 10, 1, … . MOA's `balanceClasses` is not offered.
 */
import type { GeneratorDefinition } from './generator.js';
import { numberOption } from './generatorOptions.js';

interface Loan {
  readonly salary: number;
  readonly commission: number;
  readonly age: number;
  readonly elevel: number;
  readonly hvalue: number;
  readonly hyears: number;
  readonly loan: number;
}

const within = (v: number, lo: number, hi: number): boolean => lo <= v && v <= hi;

/** Which of the three age bands: 0 below 40, 1 from 40 to 59, 2 from 60. */
const band = (age: number): number => (age < 40 ? 0 : age < 60 ? 1 : 2);

/** The salary ranges of functions 2 and 6, by age band. */
const SALARY_BANDS: readonly (readonly [number, number])[] = [[50_000, 100_000], [75_000, 125_000], [25_000, 75_000]];

/** Group A (label 0) when the function holds: functions 1 … 10, index f − 1. */
const GROUP_A: readonly ((a: Loan) => boolean)[] = [
  (a) => a.age < 40 || a.age >= 60,
  (a) => within(a.salary, ...SALARY_BANDS[band(a.age)]),
  (a) => [[0, 1], [1, 2, 3], [2, 3, 4]][band(a.age)].includes(a.elevel),
  (a) => {
    const b = band(a.age);
    const isLevel = [[0, 1], [1, 2, 3], [2, 3, 4]][b].includes(a.elevel);
    const ranges: readonly (readonly [number, number])[][] = [
      [[25_000, 75_000], [50_000, 100_000]],
      [[50_000, 100_000], [75_000, 125_000]],
      [[50_000, 100_000], [25_000, 75_000]],
    ];
    return within(a.salary, ...ranges[b][isLevel ? 0 : 1]);
  },
  (a) => {
    const b = band(a.age);
    const hasSalary = within(a.salary, ...SALARY_BANDS[b]);
    const ranges: readonly (readonly [number, number])[][] = [
      [[100_000, 300_000], [200_000, 400_000]],
      [[200_000, 400_000], [300_000, 500_000]],
      [[300_000, 500_000], [100_000, 300_000]],
    ];
    return within(a.loan, ...ranges[b][hasSalary ? 0 : 1]);
  },
  (a) => within(a.salary + a.commission, ...SALARY_BANDS[band(a.age)]),
  (a) => (2 * (a.salary + a.commission)) / 3 - a.loan / 5 - 20_000 > 0,
  (a) => (2 * (a.salary + a.commission)) / 3 - 5_000 * a.elevel - 20_000 > 0,
  (a) => (2 * (a.salary + a.commission)) / 3 - 5_000 * a.elevel - a.loan / 5 - 10_000 > 0,
  (a) => {
    const equity = a.hyears >= 20 ? (a.hvalue * (a.hyears - 20)) / 10 : 0;
    return (2 * (a.salary + a.commission)) / 3 - 5_000 * a.elevel + equity / 5 - 10_000 > 0;
  },
];

/** Feature order of the rows. */
const FEATURES = ['salary', 'commission', 'age', 'elevel', 'car', 'zipcode', 'hvalue', 'hyears', 'loan'];
const SALARY = 0;
const COMMISSION = 1;
const AGE = 2;
const ZIPCODE = 5;
const HVALUE = 6;
const HYEARS = 7;
const LOAN = 8;

export const agrawal: GeneratorDefinition = {
  name: 'agrawal',
  options: ['perturb'],
  conceptCount: 10,
  prepare(options, where) {
    const fraction = numberOption(where, 'perturb', options.perturb, 0, 0.05, 1);
    /** v + span · (2u − 1) · fraction, clamped to [lo, hi]. */
    const shake = (v: number, span: number, lo: number, hi: number, u: number): number => Math.min(hi, Math.max(lo, v + span * (2 * u - 1) * fraction));
    return {
      features: FEATURES,
      classes: 2,
      concept(id) {
        const isGroupA = GROUP_A[id - 1];
        return {
          sample(instances) {
            const salary = 20_000 + 130_000 * instances.next();
            const commission = salary >= 75_000 ? 0 : 10_000 + 65_000 * instances.next();
            const age = 20 + instances.int(61);
            const elevel = instances.int(5);
            const car = instances.int(20);
            const zipcode = instances.int(9);
            const hvalue = (9 - zipcode) * 100_000 * (0.5 + instances.next());
            const hyears = 1 + instances.int(30);
            const loan = 500_000 * instances.next();
            const label = isGroupA({ salary, commission, age, elevel, hvalue, hyears, loan }) ? 0 : 1;
            return { x: [salary, commission, age, elevel, car, zipcode, hvalue, hyears, loan], label };
          },
        };
      },
      perturb(x, rng) {
        const u = Array.from({ length: 6 }, () => rng.next());
        x[SALARY] = shake(x[SALARY], 130_000, 20_000, 150_000, u[0]);
        if (x[COMMISSION] > 0) x[COMMISSION] = shake(x[COMMISSION], 65_000, 10_000, 75_000, u[1]);
        x[AGE] = Math.round(shake(x[AGE], 60, 20, 80, u[2]));
        x[HVALUE] = shake(x[HVALUE], (9 - x[ZIPCODE]) * 100_000, 0, 1_350_000, u[3]);
        x[HYEARS] = Math.round(shake(x[HYEARS], 29, 1, 30, u[4]));
        x[LOAN] = shake(x[LOAN], 500_000, 0, 500_000, u[5]);
      },
    };
  },
};
