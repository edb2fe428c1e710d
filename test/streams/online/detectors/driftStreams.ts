/**
 * Seeded streams with a known change, for the drift detector tests, and the figures measured on them.
 *
 * - abrupt: Bernoulli(0.2) for rows 0 … 999, then Bernoulli(0.8) (the error rate of a learner whose
 *   concept just changed);
 * - ramp: Bernoulli(0.2) until row 1000, rising linearly to 0.8 at row 1500, then 0.8;
 * - stationary: Bernoulli(0.2) throughout.
 */
import { createRng } from '../../../../src/ops/random.js';
import type { DriftDetector } from '../../../../src/streams/online/detectors/detector.js';

export const CHANGE_AT = 1000;
export const RAMP_WIDTH = 500;

export type MeanAt = (t: number) => number;

export const abrupt: MeanAt = (t) => (t < CHANGE_AT ? 0.2 : 0.8);
export const ramp: MeanAt = (t) => (t < CHANGE_AT ? 0.2 : t >= CHANGE_AT + RAMP_WIDTH ? 0.8 : 0.2 + (0.6 * (t - CHANGE_AT)) / RAMP_WIDTH);
export const stationary: MeanAt = () => 0.2;

/** n draws of Bernoulli(meanAt(t)) as 0/1, from seed. */
export function bernoulli(seed: number, n: number, meanAt: MeanAt): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, t) => (rng.next() < meanAt(t) ? 1 : 0));
}

/** n uniform draws in [0, 1), from seed. */
export function uniform(seed: number, n: number): number[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, () => rng.next());
}

/** The rows at which `detector` signals drift and warning over `values`. */
export function signals(detector: DriftDetector, values: readonly number[]): { drifts: number[]; warnings: number[] } {
  const drifts: number[] = [];
  const warnings: number[] = [];
  values.forEach((x, t) => {
    const s = detector.update(x);
    if (s.drift) drifts.push(t);
    if (s.warning) warnings.push(t);
  });
  return { drifts, warnings };
}

export interface DelayFigures {
  /** First drift at or after the change, minus the change row, per seed that detected. */
  readonly delays: number[];
  /** Seeds without a drift in the rows after the change. */
  readonly missed: number;
  /** Drifts before the change, over all seeds. */
  readonly falseAlarms: number;
  readonly median: number;
  readonly mean: number;
  readonly max: number;
}

/** Detection delays of fresh detectors over `seeds` streams of `n` rows following `meanAt`. */
export function delayFigures(make: () => DriftDetector, meanAt: MeanAt, seeds: readonly number[], n: number): DelayFigures {
  const delays: number[] = [];
  let missed = 0;
  let falseAlarms = 0;
  for (const seed of seeds) {
    const { drifts } = signals(make(), bernoulli(seed, n, meanAt));
    falseAlarms += drifts.filter((t) => t < CHANGE_AT).length;
    const first = drifts.find((t) => t >= CHANGE_AT);
    if (first === undefined) missed++;
    else delays.push(first - CHANGE_AT);
  }
  const sorted = [...delays].sort((a, b) => a - b);
  return {
    delays,
    missed,
    falseAlarms,
    median: sorted[Math.floor(sorted.length / 2)],
    mean: delays.reduce((a, b) => a + b, 0) / delays.length,
    max: sorted[sorted.length - 1],
  };
}

/** Seeds 1 … count (the delay streams) and 10001 … 10000 + count (the stationary streams). */
export function seeds(count: number, from = 1): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}
