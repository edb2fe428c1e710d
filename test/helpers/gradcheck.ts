/**
 * Finite-difference gradient checks (MATH.md §5, RELIABILITY.md #36).
 *
 * Each layer kind has a float64 reference forward written straight from its equations with plain
 * loops — independent of src/ops — so the check compares the layer's float32 analytic delta step with
 * numerical derivatives of an independent float64 function:
 *
 *   cost C(x, θ) = Σ r ⊙ y(x, θ) for a fixed random r (so ∂C/∂y = r is the δy fed to the layer),
 *   numeric ∂C/∂v ≈ (C(v + ε) − C(v − ε)) / 2ε in float64, ε = 1e-6,
 *   relative error max|a − n| / max(max|a|, max|n|, tiny) must stay under 1e-4.
 *
 * Kinks (ReLU at 0, max-pool ties) are handled by recording each reference forward's decisions
 * (ReLU signs, argmax positions): a coordinate whose ±ε step changes a decision is skipped and counted.
 */
import { sizeOf, type Tensor } from '../../src/ops/tensor.js';
import type { Layer, LayerKind, LayerSpec, SpecOf } from '../../src/layers/layer.js';
import type { Model } from '../../src/layers/sequential.js';
import { createRng, type Rng } from '../../src/ops/random.js';
import { softmaxCrossEntropy } from '../../src/ops/loss.js';

export const EPS = 1e-6;
export const GRAD_TOL = 1e-4;
export const FORWARD_TOL = 1e-5;
const TINY = 1e-12;

/** A reference forward's output and its decisions (ReLU signs, argmax indices) for kink detection. */
export interface RefResult {
  readonly y: Float64Array;
  readonly outShape: readonly number[];
  readonly decisions: readonly number[];
}

type RefForward<K extends LayerKind> = (spec: SpecOf<K>, inShape: readonly number[], params: readonly Float64Array[], x: Float64Array, m: number) => RefResult;

const outSize = (n: number, k: number, s: number, p: number): number => Math.floor((n + 2 * p - k) / s) + 1;

// (1.1) z[n, o] = b[o] + Σ_i W[o, i] x[n, i]
const denseRef: RefForward<'dense'> = (spec, inShape, [W, b], x, m) => {
  const nIn = inShape[0];
  const n = spec.units;
  const y = new Float64Array(m * n);
  for (let s = 0; s < m; s++) {
    for (let o = 0; o < n; o++) {
      let z = b[o];
      for (let i = 0; i < nIn; i++) z += W[o * nIn + i] * x[s * nIn + i];
      y[s * n + o] = z;
    }
  }
  return { y, outShape: [n], decisions: [] };
};

// (3.5) z[o, i, j] = b[o] + Σ_c Σ_{u,v} x[c, i·sH + u − pH, j·sW + v − pW] · W[o, c, u, v]
const conv2dRef: RefForward<'conv2d'> = (spec, [cIn, inH, inW], [W, b], x, m) => {
  const [kH, kW] = spec.kernel;
  const [sH, sW] = spec.stride;
  const [pH, pW] = spec.padding;
  const cOut = spec.filters;
  const outH = outSize(inH, kH, sH, pH);
  const outW = outSize(inW, kW, sW, pW);
  const y = new Float64Array(m * cOut * outH * outW);
  for (let n = 0; n < m; n++) {
    for (let o = 0; o < cOut; o++) {
      for (let i = 0; i < outH; i++) {
        for (let j = 0; j < outW; j++) {
          let z = b[o];
          for (let c = 0; c < cIn; c++) {
            for (let u = 0; u < kH; u++) {
              for (let v = 0; v < kW; v++) {
                const h = i * sH + u - pH;
                const w = j * sW + v - pW;
                if (h < 0 || h >= inH || w < 0 || w >= inW) continue;
                z += x[((n * cIn + c) * inH + h) * inW + w] * W[((o * cIn + c) * kH + u) * kW + v];
              }
            }
          }
          y[((n * cOut + o) * outH + i) * outW + j] = z;
        }
      }
    }
  }
  return { y, outShape: [cOut, outH, outW], decisions: [] };
};

/** (2.1)/(2.3) pooling over windows; `isMax` picks max (recording the argmax) or mean. */
function poolRef(size: readonly [number, number], stride: readonly [number, number], [c, inH, inW]: readonly number[], x: Float64Array, m: number, isMax: boolean): RefResult {
  const [kH, kW] = size;
  const [sH, sW] = stride;
  const outH = outSize(inH, kH, sH, 0);
  const outW = outSize(inW, kW, sW, 0);
  const y = new Float64Array(m * c * outH * outW);
  const decisions: number[] = [];
  for (let plane = 0; plane < m * c; plane++) {
    for (let i = 0; i < outH; i++) {
      for (let j = 0; j < outW; j++) {
        let best = -Infinity;
        let bestAt = -1;
        let sum = 0;
        for (let u = 0; u < kH; u++) {
          for (let v = 0; v < kW; v++) {
            const at = (plane * inH + i * sH + u) * inW + j * sW + v;
            sum += x[at];
            if (x[at] > best) {
              best = x[at];
              bestAt = at;
            }
          }
        }
        y[(plane * outH + i) * outW + j] = isMax ? best : sum / (kH * kW);
        if (isMax) decisions.push(bestAt);
      }
    }
  }
  return { y, outShape: [c, outH, outW], decisions };
}

const maxPool2dRef: RefForward<'maxPool2d'> = (spec, inShape, _p, x, m) => poolRef(spec.size, spec.stride, inShape, x, m, true);
const avgPool2dRef: RefForward<'avgPool2d'> = (spec, inShape, _p, x, m) => poolRef(spec.size, spec.stride, inShape, x, m, false);
const flattenRef: RefForward<'flatten'> = (_s, inShape, _p, x) => ({ y: Float64Array.from(x), outShape: [sizeOf(inShape)], decisions: [] });

function elementwise(f: (z: number) => number, hasKink: boolean): (spec: LayerSpec, inShape: readonly number[], p: readonly Float64Array[], x: Float64Array) => RefResult {
  return (_s, inShape, _p, x) => ({ y: x.map(f), outShape: inShape, decisions: hasKink ? Array.from(x, (z) => (z > 0 ? 1 : 0)) : [] });
}

const refs: { [K in LayerKind]: RefForward<K> } = {
  dense: denseRef,
  conv2d: conv2dRef,
  maxPool2d: maxPool2dRef,
  avgPool2d: avgPool2dRef,
  flatten: flattenRef,
  relu: elementwise((z) => (z > 0 ? z : 0), true),
  sigmoid: elementwise((z) => 1 / (1 + Math.exp(-z)), false),
  tanh: elementwise(Math.tanh, false),
};

function refOf<K extends LayerKind>(kind: K): RefForward<K> {
  return refs[kind];
}

/** The float64 reference forward of `layer`'s kind, at `layer`'s input shape, with the given parameter values. */
export function referenceForward(layer: Layer, x: Float64Array, params: readonly Float64Array[], m: number): RefResult {
  return refOf(layer.spec.kind)(layer.spec, layer.inShape, params, x, m);
}

/** Relative error max|a − n| / max(max|a|, max|n|, tiny), with the worst index and both values there. */
export interface Comparison {
  readonly name: string;
  readonly err: number;
  readonly worst: number;
  readonly analytic: number;
  readonly numeric: number;
  readonly skipped: number;
}

export function compare(name: string, analytic: ArrayLike<number>, numeric: ArrayLike<number>, skip: ReadonlySet<number> = new Set()): Comparison {
  if (analytic.length !== numeric.length) throw new Error(`${name}: ${analytic.length} analytic values, ${numeric.length} numeric`);
  let maxDiff = 0;
  let scale = TINY;
  let worst = -1;
  for (let i = 0; i < analytic.length; i++) {
    if (skip.has(i)) continue;
    const d = Math.abs(analytic[i] - numeric[i]);
    if (Number.isNaN(d)) return { name, err: NaN, worst: i, analytic: analytic[i], numeric: numeric[i], skipped: skip.size };
    scale = Math.max(scale, Math.abs(analytic[i]), Math.abs(numeric[i]));
    if (d > maxDiff || worst < 0) {
      maxDiff = d;
      worst = i;
    }
  }
  return { name, err: maxDiff / scale, worst, analytic: analytic[worst] ?? NaN, numeric: numeric[worst] ?? NaN, skipped: skip.size };
}

/** Throws with the tensor name, the worst index and both values when `c.err` ≥ `tol`. */
export function assertClose(c: Comparison, tol: number): void {
  if (!(c.err < tol)) {
    throw new Error(`${c.name}: relative error ${c.err.toExponential(3)} ≥ ${tol} at index ${c.worst}: analytic ${c.analytic}, numeric ${c.numeric} (${c.skipped} kink coordinates skipped)`);
  }
}

const sameDecisions = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);

/**
 * Central differences of `cost` with respect to every entry of `v` (perturbed in place and restored).
 * Entries whose step changes the decisions are skipped (numeric value NaN, index in `skipped`).
 */
export function numericGradient(v: Float64Array, cost: () => { c: number; decisions: readonly number[] }, base: readonly number[]): { grad: Float64Array; skipped: Set<number> } {
  const grad = new Float64Array(v.length);
  const skipped = new Set<number>();
  for (let i = 0; i < v.length; i++) {
    const keep = v[i];
    v[i] = keep + EPS;
    const plus = cost();
    v[i] = keep - EPS;
    const minus = cost();
    v[i] = keep;
    if (!sameDecisions(plus.decisions, base) || !sameDecisions(minus.decisions, base)) {
      skipped.add(i);
      grad[i] = NaN;
    } else {
      grad[i] = (plus.c - minus.c) / (2 * EPS);
    }
  }
  return { grad, skipped };
}

/** Uniform float32 values in [−1, 1). */
export function randomF32(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

/**
 * Values in [−1, 1) that are pairwise at least 2/n apart and at least 1/(2n) from 0, in random order,
 * so no ReLU kink or max-pool tie lies within a finite-difference step.
 */
export function distinctF32(rng: Rng, n: number): Float32Array {
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [order[i], order[j]] = [order[j], order[i]];
  }
  // k + 0.25 is never n/2, so no value is 0 (the nearest is 1/(2n) away).
  return Float32Array.from(order, (k) => ((k + 0.25) / n) * 2 - 1);
}

export interface LayerCheck {
  /** Float32 forward vs float64 reference: relative max error. */
  readonly forward: Comparison;
  /** δx (when the layer has an input delta) and every parameter gradient. */
  readonly grads: readonly Comparison[];
}

function dot(r: Float32Array, y: Float64Array): number {
  let c = 0;
  for (let i = 0; i < y.length; i++) c += r[i] * y[i];
  return c;
}

/**
 * Check one layer: forward against the reference, and δx and every parameter gradient against
 * central differences of C = Σ r ⊙ y for a random r drawn from `seed`.
 */
export function gradcheckLayer(layer: Layer, x: Float32Array, m: number, seed: number): LayerCheck {
  const rng = createRng(seed);
  const x64 = Float64Array.from(x);
  const params64 = layer.params.map((p) => Float64Array.from(p.value));
  const xT: Tensor = { data: x, shape: [m, ...layer.inShape] };
  const { y, cache } = layer.forward(xT);
  const ref = referenceForward(layer, x64, params64, m);
  const forward = compare('forward y', y.data, ref.y);

  const r = randomF32(rng, ref.y.length);
  const { deltaX, grads } = layer.delta({ data: r, shape: y.shape }, cache);
  const cost = (): { c: number; decisions: readonly number[] } => {
    const out = referenceForward(layer, x64, params64, m);
    return { c: dot(r, out.y), decisions: out.decisions };
  };
  const results: Comparison[] = [];
  if (deltaX === null) throw new Error('delta step returned no deltaX although needDeltaX defaulted to true');
  const nx = numericGradient(x64, cost, ref.decisions);
  results.push(compare('deltaX', deltaX.data, nx.grad, nx.skipped));
  layer.params.forEach((p, i) => {
    const np = numericGradient(params64[i], cost, ref.decisions);
    results.push(compare(`d${p.name}`, grads[i], np.grad, np.skipped));
  });
  return { forward, grads: results };
}

/** Assert a LayerCheck: forward within FORWARD_TOL, every gradient within GRAD_TOL, no more than `maxSkipped` kink skips each. */
export function assertLayerCheck(check: LayerCheck, maxSkipped = 0): void {
  assertClose(check.forward, FORWARD_TOL);
  for (const g of check.grads) {
    assertClose(g, GRAD_TOL);
    if (g.skipped > maxSkipped) throw new Error(`${g.name}: ${g.skipped} coordinates skipped at kinks (more than ${maxSkipped})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Whole models

/** (4.2) float64 softmax cross-entropy summed over the batch, log-sum-exp form. */
export function softmaxCrossEntropyRef(z: Float64Array, target: ArrayLike<number>, m: number, n: number): number {
  let loss = 0;
  for (let s = 0; s < m; s++) {
    let max = -Infinity;
    for (let k = 0; k < n; k++) max = Math.max(max, z[s * n + k]);
    let sum = 0;
    for (let k = 0; k < n; k++) sum += Math.exp(z[s * n + k] - max);
    const logSum = max + Math.log(sum);
    for (let k = 0; k < n; k++) loss -= target[s * n + k] * (z[s * n + k] - logSum);
  }
  return loss;
}

/** The reference forward of a whole model, chained layer by layer, with every layer's decisions. */
export function referenceForwardModel(model: Model, x: Float64Array, params: readonly (readonly Float64Array[])[], m: number): RefResult {
  let a = x;
  const decisions: number[] = [];
  model.layers.forEach((layer, i) => {
    const out = referenceForward(layer, a, params[i], m);
    decisions.push(...out.decisions);
    a = out.y;
  });
  return { y: a, outShape: model.outShape, decisions };
}

/**
 * Check a whole model end to end with softmax cross-entropy (src/ops/loss.ts) on top: the float32
 * forward through every layer against the chained float64 references, then δx of the model input and
 * every parameter gradient of every layer against central differences of the float64 loss.
 */
export function gradcheckModel(model: Model, x: Float32Array, target: Float32Array, m: number): Comparison[] {
  const nOut = sizeOf(model.outShape);
  let a: Tensor = { data: x, shape: [m, ...model.input] };
  const caches: unknown[] = [];
  for (const layer of model.layers) {
    const { y, cache } = layer.forward(a);
    caches.push(cache);
    a = y;
  }
  let deltaY: Tensor = { data: softmaxCrossEntropy(a.data, target, m, nOut).delta, shape: a.shape };
  const grads: (readonly Float32Array[])[] = [];
  for (let i = model.layers.length - 1; i >= 0; i--) {
    const { deltaX, grads: g } = model.layers[i].delta(deltaY, caches[i]);
    grads[i] = g;
    if (deltaX === null) throw new Error(`layer ${i} returned no deltaX`);
    deltaY = deltaX;
  }

  const x64 = Float64Array.from(x);
  const params64 = model.layers.map((l) => l.params.map((p) => Float64Array.from(p.value)));
  const ref = referenceForwardModel(model, x64, params64, m);
  const cost = (): { c: number; decisions: readonly number[] } => {
    const out = referenceForwardModel(model, x64, params64, m);
    return { c: softmaxCrossEntropyRef(out.y, target, m, nOut), decisions: out.decisions };
  };
  const results = [compare('forward logits', a.data, ref.y)];
  const nx = numericGradient(x64, cost, ref.decisions);
  results.push(compare('deltaX (model input)', deltaY.data, nx.grad, nx.skipped));
  model.layers.forEach((layer, i) => {
    layer.params.forEach((p, j) => {
      const np = numericGradient(params64[i][j], cost, ref.decisions);
      results.push(compare(`layer ${i} (${layer.kind}) d${p.name}`, grads[i][j], np.grad, np.skipped));
    });
  });
  return results;
}
