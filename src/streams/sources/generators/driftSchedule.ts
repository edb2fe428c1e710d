/**
 * Which concept each row comes from: abrupt or gradual changes at the drift points p_1 < p_2 < … .
 *
 * Gradual, width W > 0 — MOA's ConceptDriftStream: the probability that row t (0-based) comes from the
 * concept after drift point p_k is the sigmoid
 *
 *   P_k(t) = 1 / (1 + e^(−4 (t − p_k) / W))
 *
 * which is ½ at t = p_k and rises from 12 % to 88 % over the W rows centred on p_k (its slope at p_k
 * is 1/W). Abrupt (W = 0): P_k(t) = [t ≥ p_k], so row p_k is the first of the new concept.
 *
 * One uniform u_t ∈ [0, 1) per row (the mixing stream, generatorRngs.ts) decides all changes at once:
 *
 *   concept index of row t = #{ k : u_t < P_k(t) }
 *
 * With one width and increasing points, P_1(t) ≥ P_2(t) ≥ …, so the set is always {1, …, j} and
 * Pr(index ≥ k) = P_k(t) exactly: each change follows its sigmoid, and concept k's share is
 * P_k(t) − P_{k+1}(t). (MOA nests one ConceptDriftStream per change, each with its own draws and its
 * own row counter; for changes further apart than their widths the two agree.) MOA counts instances
 * from 1, so its `-p p` is row p − 1 here.
 */

/**
 * P_k(t): the probability that row `t` comes from after the drift point `p`.
 *
 * @example driftProbability(1000, 1000, 200); // 0.5
 */
export function driftProbability(t: number, p: number, width: number): number {
  if (width === 0) return t >= p ? 1 : 0;
  return 1 / (1 + Math.exp((-4 * (t - p)) / width));
}

/**
 * The concept index of row `t` given its mixing draw `u` ∈ [0, 1).
 *
 * @example conceptIndexAt(1500, 0.3, [1000, 2000], 0); // 1
 */
export function conceptIndexAt(t: number, u: number, driftAt: readonly number[], width: number): number {
  let index = 0;
  while (index < driftAt.length && u < driftProbability(t, driftAt[index], width)) index++;
  return index;
}
