import { describe, expect, it } from 'vitest';
import { addToConfusion, argmaxRow, countCorrect, createConfusion } from '../../src/ops/metrics.js';

describe('metrics', () => {
  // 4 samples × 3 classes; predicted: 1, 0, 2, 0 (the tie in row 3 goes to the first index).
  const output = Float32Array.from([0.1, 0.8, 0.1, 2, 1, 0, -1, -2, 3, 5, 5, 1]);
  const labels = Int32Array.from([1, 2, 2, 0]);

  it('argmax takes the first maximum', () => {
    expect([0, 1, 2, 3].map((i) => argmaxRow(output, i, 3))).toEqual([1, 0, 2, 0]);
  });

  it('counts correct predictions: 3 of 4', () => {
    expect(countCorrect(output, labels, 4, 3)).toBe(3);
  });

  it('confusion rows are true classes, columns predicted', () => {
    const c = addToConfusion(createConfusion(3), output, labels, 4, 3);
    expect(c).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [1, 0, 1],
    ]);
  });

  it('an out-of-range label is refused with its row', () => {
    expect(() => addToConfusion(createConfusion(3), output, Int32Array.from([1, 3, 2, 0]), 4, 3)).toThrow('addToConfusion: label 3 of row 1 not in [0,3)');
  });
});
