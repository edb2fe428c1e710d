/**
 * The gradient pool's reduction (parallelBackprop.ts): one parameter tensor's Σ-gradient over the
 * slices of a batch, added in slice order in float64 and rounded to float32 once,
 *
 *   out[e] = fl32( (…((g₀[e] + g₁[at + e]) + g₂[at + e]) + …) + g_{N−1}[at + e] )   e = 0 … n − 1
 *
 * where g₀ is slice 0's tensor (length n) and g₁ … g_{N−1} are the workers' flat gradient areas, this
 * tensor starting at `at`. It is one pass over the elements with the running sum in a local (a
 * float64, as every JavaScript number), so there is no float64 array to fill and read back; the order
 * of the additions is the same for every element and every thread count, so the result is bitwise the
 * obvious float64 accumulator loop (tested against it). With one worker the two float32 terms add in
 * float64 and round once, which is also the correctly rounded float32 sum.
 */

/**
 * `out = fl32(g0 + Σ_j others[j][at … at + n))`, the sum in float64 in the order of `others`.
 *
 * @example sumSlices(out, slice0Grad, [worker1.grads, worker2.grads], offsetOfThisTensor)
 */
export function sumSlices(out: Float32Array, g0: Float32Array, others: readonly Float32Array[], at: number): void {
  const n = g0.length;
  if (out.length !== n) throw new RangeError(`sumSlices: out has ${out.length} elements, slice 0's tensor ${n}`);
  for (const g of others) {
    if (at < 0 || at + n > g.length) throw new RangeError(`sumSlices: elements [${at}, ${at + n}) lie outside a worker's gradient area of ${g.length}`);
  }
  // The common counts get their own loops (a fixed number of arrays in locals keeps V8's loop tight).
  if (others.length === 0) {
    out.set(g0);
  } else if (others.length === 1) {
    const g1 = others[0];
    for (let e = 0; e < n; e++) out[e] = g0[e] + g1[at + e];
  } else if (others.length === 2) {
    const g1 = others[0];
    const g2 = others[1];
    for (let e = 0; e < n; e++) out[e] = g0[e] + g1[at + e] + g2[at + e];
  } else {
    for (let e = 0; e < n; e++) {
      let s = g0[e];
      for (const g of others) s += g[at + e];
      out[e] = s;
    }
  }
}
