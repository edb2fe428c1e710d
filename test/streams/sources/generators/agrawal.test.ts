import { describe, expect, it } from 'vitest';
import { describeGenerator, generateRows } from '../../../../src/streams/sources/generators/generateRows.js';

/** Agrawal et al.'s ten functions written out as the paper's nested conditions: true = group A (label 0). */
function groupA(f: number, a: Record<string, number>): boolean {
  const { salary, commission, age, elevel, hvalue, hyears, loan } = a;
  const inRange = (v: number, lo: number, hi: number) => v >= lo && v <= hi;
  switch (f) {
    case 1:
      return age < 40 || age >= 60;
    case 2:
      if (age < 40) return inRange(salary, 50000, 100000);
      if (age < 60) return inRange(salary, 75000, 125000);
      return inRange(salary, 25000, 75000);
    case 3:
      if (age < 40) return elevel === 0 || elevel === 1;
      if (age < 60) return elevel >= 1 && elevel <= 3;
      return elevel >= 2 && elevel <= 4;
    case 4:
      if (age < 40) return elevel <= 1 ? inRange(salary, 25000, 75000) : inRange(salary, 50000, 100000);
      if (age < 60) return elevel >= 1 && elevel <= 3 ? inRange(salary, 50000, 100000) : inRange(salary, 75000, 125000);
      return elevel >= 2 ? inRange(salary, 50000, 100000) : inRange(salary, 25000, 75000);
    case 5:
      if (age < 40) return inRange(salary, 50000, 100000) ? inRange(loan, 100000, 300000) : inRange(loan, 200000, 400000);
      if (age < 60) return inRange(salary, 75000, 125000) ? inRange(loan, 200000, 400000) : inRange(loan, 300000, 500000);
      return inRange(salary, 25000, 75000) ? inRange(loan, 300000, 500000) : inRange(loan, 100000, 300000);
    case 6: {
      const total = salary + commission;
      if (age < 40) return inRange(total, 50000, 100000);
      if (age < 60) return inRange(total, 75000, 125000);
      return inRange(total, 25000, 75000);
    }
    case 7:
      return (2 / 3) * (salary + commission) - loan / 5 - 20000 > 0;
    case 8:
      return (2 / 3) * (salary + commission) - 5000 * elevel - 20000 > 0;
    case 9:
      return (2 / 3) * (salary + commission) - 5000 * elevel - loan / 5 - 10000 > 0;
    default: {
      const equity = hyears >= 20 ? (hvalue * (hyears - 20)) / 10 : 0;
      return (2 / 3) * (salary + commission) - 5000 * elevel + equity / 5 - 10000 > 0;
    }
  }
}

const NAMES = ['salary', 'commission', 'age', 'elevel', 'car', 'zipcode', 'hvalue', 'hyears', 'loan'];
const record = (x: readonly number[]) => Object.fromEntries(NAMES.map((n, i) => [n, x[i]]));

describe('agrawal', () => {
  it('without perturbation every row satisfies its function, for each of the ten, with attributes in their ranges', () => {
    const options = { rows: 30_000, driftAt: [3000, 6000, 9000, 12_000, 15_000, 18_000, 21_000, 24_000, 27_000], perturb: 0, seed: 8 };
    const { concepts, features } = describeGenerator('agrawal', options);
    expect(features).toEqual(NAMES);
    expect(concepts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    const wrong = new Array<number>(11).fill(0);
    const labels = new Array<number>(11).fill(0);
    const outOfRange: string[] = [];
    const check = (isOk: boolean, what: string, x: readonly number[]) => {
      if (!isOk && outOfRange.length < 5) outOfRange.push(`${what}: [${x.join(', ')}]`);
    };
    for (const { x, label, concept } of generateRows('agrawal', options)) {
      const a = record(x);
      const f = concepts[concept];
      if (label !== (groupA(f, a) ? 0 : 1)) wrong[f]++;
      labels[f] += label;
      check(a.salary >= 20000 && a.salary < 150000, 'salary', x);
      check(a.salary >= 75000 ? a.commission === 0 : a.commission >= 10000 && a.commission < 75000, 'commission', x);
      check(Number.isInteger(a.age) && a.age >= 20 && a.age <= 80, 'age', x);
      check([a.elevel, a.car, a.zipcode].every(Number.isInteger) && a.elevel >= 0 && a.elevel <= 4 && a.car >= 0 && a.car <= 19 && a.zipcode >= 0 && a.zipcode <= 8, 'categorical', x);
      check(a.hvalue >= (9 - a.zipcode) * 50000 && a.hvalue < (9 - a.zipcode) * 150000 + 1e-6, 'hvalue', x);
      check(Number.isInteger(a.hyears) && a.hyears >= 1 && a.hyears <= 30, 'hyears', x);
      check(a.loan >= 0 && a.loan < 500000, 'loan', x);
    }
    expect(outOfRange).toEqual([]);
    expect(wrong).toEqual(new Array<number>(11).fill(0));
    // Both classes occur under every function (the formulas are not trivially satisfied).
    for (let f = 1; f <= 10; f++) expect(labels[f] > 0 && labels[f] < 3000).toBe(true);
  });

  it('perturbation moves each numeric attribute by at most span · fraction, clamped, after labelling: the same seed without it gives the same labels', () => {
    const clean = [...generateRows('agrawal', { rows: 5000, perturb: 0, seed: 9 })];
    const shaken = [...generateRows('agrawal', { rows: 5000, perturb: 0.05, seed: 9 })];
    const spans: Record<string, [number, number, number]> = {
      salary: [130000, 20000, 150000], commission: [65000, 10000, 75000], age: [60, 20, 80], hyears: [29, 1, 30], loan: [500000, 0, 500000],
    };
    let moved = 0;
    const bad: string[] = [];
    shaken.forEach((row, i) => {
      const a = record(row.x);
      const b = record(clean[i].x);
      const note = (isOk: boolean, what: string) => {
        if (!isOk && bad.length < 5) bad.push(`row ${i} ${what}: ${b[what]} → ${a[what]}`);
      };
      note(row.label === clean[i].label, 'label');
      for (const name of ['elevel', 'car', 'zipcode']) note(a[name] === b[name], name);
      for (const [name, [span, lo, hi]] of Object.entries(spans)) {
        const rounding = name === 'age' || name === 'hyears' ? 0.5 : 0;
        if (name === 'commission' && b.commission === 0) note(a.commission === 0, name);
        else note(Math.abs(a[name] - b[name]) <= span * 0.05 + rounding + 1e-9 && a[name] >= lo && a[name] <= hi, name);
      }
      note(Math.abs(a.hvalue - b.hvalue) <= (9 - b.zipcode) * 100000 * 0.05 + 1e-6 && a.hvalue >= 0, 'hvalue');
      if (a.salary !== b.salary) moved++;
    });
    expect(bad).toEqual([]);
    expect(moved).toBeGreaterThan(4900);
  });
});
