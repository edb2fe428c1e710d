import { describe, expect, it } from 'vitest';
import { describeGenerator, generateRows } from '../../../../src/streams/sources/generators/generateRows.js';

/** STAGGER's concepts as Schlimmer & Granger state them, on size (small, medium, large), color (red, blue, green), shape (circle, square, triangle). */
function isPositive(concept: number, size: string, color: string, shape: string): boolean {
  if (concept === 1) return size === 'small' && color === 'red';
  if (concept === 2) return color === 'green' || shape === 'circle';
  return size === 'medium' || size === 'large';
}

describe('stagger', () => {
  it('every row satisfies its concept (1: small ∧ red, 2: green ∨ circle, 3: medium ∨ large), and each attribute value occurs', () => {
    const options = { rows: 9000, driftAt: [3000, 6000], seed: 7 };
    const { concepts, features } = describeGenerator('stagger', options);
    expect(features).toEqual(['size', 'color', 'shape']);
    expect(concepts).toEqual([1, 2, 3]);
    const values = new Set<string>();
    let wrong = 0;
    for (const { x, label, concept } of generateRows('stagger', options)) {
      const [size, color, shape] = [['small', 'medium', 'large'][x[0]], ['red', 'blue', 'green'][x[1]], ['circle', 'square', 'triangle'][x[2]]];
      x.forEach((v, i) => values.add(`${i}:${v}`));
      if (label !== (isPositive(concepts[concept], size, color, shape) ? 1 : 0)) wrong++;
    }
    expect(wrong).toBe(0);
    expect(values.size).toBe(9);
  });
});
