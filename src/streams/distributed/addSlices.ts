/**
 * The coordinator's reduce: the slices' results of one batch added in slice order, exactly as
 * parallelBackprop's pool adds its threads' slices (parallel/parallelBackprop.ts, `combine`):
 *
 *   grads[e]  = float32( ((g_0[e] + g_1[e]) + g_2[e]) + … )   in float64, rounded once
 *   lossSum   = ((l_0 + l_1) + l_2) + …                       (float64)
 *   correct   = ((c_0 + c_1) + c_2) + …
 *   output    = the slices' outputs at their rows, [m, nOut]
 *
 * Elementwise over the flat gradient vector (model order), which is the pool's per-tensor sum element
 * by element: so N worker processes give the bits N threads give.
 */

/** One slice's result: Σ-gradients `[P]`, its loss sum and correct count, its outputs `[rows, nOut]`. */
export interface SliceResult {
  readonly grads: Float32Array;
  readonly lossSum: number;
  readonly correct: number;
  readonly output: Float32Array;
}

export interface BatchSum {
  readonly grads: Float32Array<ArrayBuffer>;
  readonly lossSum: number;
  readonly correct: number;
  readonly output: Float32Array<ArrayBuffer>;
}

/**
 * Add `results` (slice s starting at row `starts[s]`) of a batch of m rows; throws naming a missing slice.
 *
 * @example const sum = addSlices([r0, r1], [0, 32], 64, 10);
 */
export function addSlices(results: readonly (SliceResult | null)[], starts: readonly number[], m: number, nOut: number): BatchSum {
  const first = results[0];
  if (first === null || first === undefined) throw new Error('addSlices: slice 0 is missing');
  const P = first.grads.length;
  // Two slices need no float64 accumulator: fl32(g₀ + g₁) is the same two operations (the float64
  // sum, rounded once).
  const grads = new Float32Array(P);
  const acc = results.length === 2 ? null : new Float64Array(first.grads);
  let lossSum = first.lossSum;
  let correct = first.correct;
  const output = new Float32Array(m * nOut);
  output.set(first.output, 0);
  for (let s = 1; s < results.length; s++) {
    const r = results[s];
    if (r === null) throw new Error(`addSlices: slice ${s} is missing`);
    const g = r.grads;
    if (acc === null) {
      const g0 = first.grads;
      for (let e = 0; e < P; e++) grads[e] = g0[e] + g[e];
    } else {
      for (let e = 0; e < P; e++) acc[e] += g[e];
    }
    lossSum += r.lossSum;
    correct += r.correct;
    output.set(r.output, starts[s] * nOut);
  }
  if (acc !== null) grads.set(acc);
  return { grads, lossSum, correct, output };
}
