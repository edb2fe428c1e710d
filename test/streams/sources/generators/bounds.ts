/** Binomial bounds for the statistical checks of the generators: z = 4.5 standard deviations (two-sided ≈ 7e-6 per check). */
import { expect } from 'vitest';

export const Z = 4.5;

/** `count` successes of `n` trials of probability `p` lie within Z standard deviations of n·p. */
export function expectBinomial(count: number, n: number, p: number, what: string): void {
  const sd = Math.sqrt(n * p * (1 - p));
  expect({ what, count, isWithin: Math.abs(count - n * p) <= Z * sd + 1e-9 }).toEqual({ what, count, isWithin: true });
}

/** `count` successes of independent trials of probabilities `ps` lie within Z standard deviations of Σ p (a Poisson binomial). */
export function expectPoissonBinomial(count: number, ps: readonly number[], what: string): void {
  const mean = ps.reduce((s, p) => s + p, 0);
  const sd = Math.sqrt(ps.reduce((s, p) => s + p * (1 - p), 0));
  expect({ what, count, mean, isWithin: Math.abs(count - mean) <= Z * sd + 1e-9 }).toEqual({ what, count, mean, isWithin: true });
}
