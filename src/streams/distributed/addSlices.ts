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
 * Two slices: fl32(g₀ + g₁) per element, which is the float64 sum rounded once (the same two
 * operations), written into a new array without the float64 accumulator.
 */
function addTwo(a: SliceResult, b: SliceResult, startB: number, m: number, nOut: number): BatchSum {
  const P = a.grads.length;
  const ga = a.grads;
  const gb = b.grads;
  if (gb.length !== P) throw new Error(`addSlices: slice 1 has ${gb.length} gradients, slice 0 ${P}`);
  const grads = new Float32Array(P);
  for (let e = 0; e < P; e++) grads[e] = ga[e] + gb[e];
  const output = new Float32Array(m * nOut);
  output.set(a.output, 0);
  output.set(b.output, startB * nOut);
  return { grads, lossSum: a.lossSum + b.lossSum, correct: a.correct + b.correct, output };
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
  if (results.length === 2 && results[1] !== null) return addTwo(first, results[1], starts[1], m, nOut);
  const acc = new Float64Array(first.grads);
  let lossSum = first.lossSum;
  let correct = first.correct;
  const output = new Float32Array(m * nOut);
  output.set(first.output, 0);
  for (let s = 1; s < results.length; s++) {
    const r = results[s];
    if (r === null) throw new Error(`addSlices: slice ${s} is missing`);
    const g = r.grads;
    for (let e = 0; e < P; e++) acc[e] += g[e];
    lossSum += r.lossSum;
    correct += r.correct;
    output.set(r.output, starts[s] * nOut);
  }
  return { grads: new Float32Array(acc), lossSum, correct, output };
}
