/**
 * sumSlices (src/streams/parallel/sumSlices.ts) against the obvious float64 accumulator: bitwise the
 * same float32 for 0 to 5 workers, at offsets into the workers' areas.
 */
import { describe, expect, it } from 'vitest';
import { createRng } from '../../../src/ops/random.js';
import { sumSlices } from '../../../src/streams/parallel/sumSlices.js';

/** acc = float64(g0); acc += g_j[at + e] for each worker in order; one rounding to float32. */
function oracle(g0: Float32Array, others: readonly Float32Array[], at: number): Float32Array {
  const acc = Float64Array.from(g0);
  for (const g of others) for (let e = 0; e < acc.length; e++) acc[e] += g[at + e];
  return Float32Array.from(acc);
}

const bits = (x: Float32Array): number[] => Array.from(new Int32Array(x.buffer, x.byteOffset, x.length));

describe('sumSlices', () => {
  it.each([0, 1, 2, 3, 4, 5])('%i workers: bitwise the float64 accumulator, values of very different scales', (workers) => {
    const rng = createRng(10 + workers);
    const spread = (n: number) => Float32Array.from({ length: n }, () => rng.normal() * 2 ** (rng.int(60) - 30));
    for (const n of [0, 1, 7, 100]) {
      const at = rng.int(5);
      const g0 = spread(n);
      const others = Array.from({ length: workers }, () => spread(at + n + 3));
      const out = new Float32Array(n);
      sumSlices(out, g0, others, at);
      expect(bits(out)).toEqual(bits(oracle(g0, others, at)));
    }
  });

  it('names the mismatch: out of another length, a tensor past the end of a worker area', () => {
    expect(() => sumSlices(new Float32Array(2), new Float32Array(3), [], 0)).toThrow('sumSlices: out has 2 elements, slice 0\'s tensor 3');
    expect(() => sumSlices(new Float32Array(3), new Float32Array(3), [new Float32Array(4)], 2)).toThrow("sumSlices: elements [2, 5) lie outside a worker's gradient area of 4");
  });
});
