/**
 * Slow, obvious references for the online metrics: each recomputes its value from scratch over the
 * whole history with explicit weights w_i (1 for cumulative, 1 for the last N else 0 for a window,
 * α^(t−i) for fading), written from the textbook definitions — not from the sums the metrics keep.
 * Also: seeded random streams to compare them on.
 */
import { expect } from 'vitest';
import { createRng } from '../../../../src/ops/random.js';
import type { ClassObservation, Metric, RegressionObservation } from '../../../../src/streams/online/metrics/metric.js';

export type Reference<O> = (obs: readonly O[], w: readonly number[]) => number | null;

const total = (w: readonly number[]): number => w.reduce((a, b) => a + b, 0);

function classesOf(obs: readonly ClassObservation[]): number {
  return 1 + Math.max(0, ...obs.map((o) => Math.max(o.predicted, o.truth)));
}

/** confusion[t][p] = Σ w_i over observations with truth t, prediction p. */
function confusion(obs: readonly ClassObservation[], w: readonly number[]): number[][] {
  const k = classesOf(obs);
  const m = Array.from({ length: k }, () => new Array<number>(k).fill(0));
  obs.forEach((o, i) => (m[o.truth][o.predicted] += w[i]));
  return m;
}

export const refAccuracy: Reference<ClassObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  let hits = 0;
  obs.forEach((o, i) => (hits += o.predicted === o.truth ? w[i] : 0));
  return hits / W;
};

export const refKappa: Reference<ClassObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  const m = confusion(obs, w);
  const k = m.length;
  let p0 = 0;
  let pc = 0;
  for (let a = 0; a < k; a++) {
    p0 += m[a][a] / W;
    const rowSum = m[a].reduce((s, v) => s + v, 0);
    const colSum = m.reduce((s, row) => s + row[a], 0);
    pc += (rowSum / W) * (colSum / W);
  }
  return pc >= 1 - 1e-12 ? null : (p0 - pc) / (1 - pc);
};

/** κ-temporal: the no-change prediction of observation i is the truth of observation i−1 of the whole history (0 for the first). */
export const refKappaTemporal: Reference<ClassObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  let p0 = 0;
  let pnc = 0;
  obs.forEach((o, i) => {
    const previous = i === 0 ? 0 : obs[i - 1].truth;
    if (o.predicted === o.truth) p0 += w[i] / W;
    if (previous === o.truth) pnc += w[i] / W;
  });
  return pnc >= 1 - 1e-12 ? null : (p0 - pnc) / (1 - pnc);
};

/** Macro-F1 as River computes it: per class precision and recall (0 on a zero denominator), F1 (0 when both are 0), mean over the classes present. */
export const refMacroF1: Reference<ClassObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  const m = confusion(obs, w);
  let sum = 0;
  let present = 0;
  for (let c = 0; c < m.length; c++) {
    const trueC = m[c].reduce((s, v) => s + v, 0);
    const predictedC = m.reduce((s, row) => s + row[c], 0);
    if (trueC === 0 && predictedC === 0) continue;
    present++;
    const precision = predictedC === 0 ? 0 : m[c][c] / predictedC;
    const recall = trueC === 0 ? 0 : m[c][c] / trueC;
    sum += precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  }
  return sum / present;
};

export const refLogLoss: Reference<ClassObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  let sum = 0;
  obs.forEach((o, i) => {
    const p = o.probabilities?.[o.truth] ?? NaN;
    sum += w[i] * -Math.log(Math.min(1, Math.max(1e-15, p)));
  });
  return sum / W;
};

export const refMae: Reference<RegressionObservation> = (obs, w) => {
  const W = total(w);
  return W === 0 ? null : obs.reduce((s, o, i) => s + w[i] * Math.abs(o.truth - o.predicted), 0) / W;
};

export const refRmse: Reference<RegressionObservation> = (obs, w) => {
  const W = total(w);
  return W === 0 ? null : Math.sqrt(obs.reduce((s, o, i) => s + w[i] * (o.truth - o.predicted) ** 2, 0) / W);
};

export const refR2: Reference<RegressionObservation> = (obs, w) => {
  const W = total(w);
  if (W === 0) return null;
  const counted = obs.filter((_, i) => w[i] > 0);
  if (counted.every((o) => o.truth === counted[0].truth)) return null;
  const mean = obs.reduce((s, o, i) => s + w[i] * o.truth, 0) / W;
  const ssTot = obs.reduce((s, o, i) => s + w[i] * (o.truth - mean) ** 2, 0);
  const ssRes = obs.reduce((s, o, i) => s + w[i] * (o.truth - o.predicted) ** 2, 0);
  return 1 - ssRes / ssTot;
};

/** The weights of the modes after t+1 observations (indices 0..t). */
export const weights = {
  cumulative: (t: number): number[] => new Array<number>(t + 1).fill(1),
  window: (t: number, n: number): number[] => Array.from({ length: t + 1 }, (_, i) => (i > t - n ? 1 : 0)),
  fading: (t: number, alpha: number): number[] => Array.from({ length: t + 1 }, (_, i) => alpha ** (t - i)),
};

/**
 * A classification stream with temporal dependence (the truth repeats with probability 0.6) and a
 * learner right 70 % of the time; probabilities put most mass on the prediction, sometimes 0 on the
 * truth (so log-loss clips).
 */
export function classStream(seed: number, n: number, k: number): ClassObservation[] {
  const rng = createRng(seed);
  const out: ClassObservation[] = [];
  let truth = rng.int(k);
  for (let i = 0; i < n; i++) {
    if (rng.next() >= 0.6) truth = rng.int(k);
    const predicted = rng.next() < 0.7 ? truth : rng.int(k);
    const raw = Array.from({ length: k }, (_, c) => (c === predicted ? 3 : rng.next() < 0.2 ? 0 : rng.next()));
    const sum = raw.reduce((a, b) => a + b, 0);
    out.push({ predicted, truth, probabilities: raw.map((v) => v / sum) });
  }
  return out;
}

/** A regression stream: a random-walk truth (a large offset, so sums about 0 would cancel) and a noisy prediction. */
export function regressionStream(seed: number, n: number): RegressionObservation[] {
  const rng = createRng(seed);
  const out: RegressionObservation[] = [];
  let truth = 1000;
  for (let i = 0; i < n; i++) {
    truth += rng.normal();
    out.push({ truth, predicted: truth + 0.5 * rng.normal() + 0.1 });
  }
  return out;
}

/** Feeds `obs` to `metric` and checks its value after every observation against `reference` with the mode's weights. */
export function expectMatchesReference<O>(metric: Metric<O>, reference: Reference<O>, obs: readonly O[], weightsAt: (t: number) => number[]): void {
  let worst = 0;
  obs.forEach((o, t) => {
    metric.update(o);
    const got = metric.value();
    const want = reference(obs.slice(0, t + 1), weightsAt(t));
    if (want === null || got === null) {
      expect({ t, got }).toEqual({ t, got: want });
      return;
    }
    const error = Math.abs(got - want) / Math.max(1, Math.abs(want));
    worst = Math.max(worst, error);
    if (error > 1e-9) expect({ t, got }).toEqual({ t, got: want });
  });
  expect(worst).toBeLessThan(1e-9);
}
