/**
 * Gradient averaging (MATH.md 1.6): the delta operators leave Σ_x ∂C_x/∂θ per parameter tensor; one
 * step divides by the true sample count, directly for one micro-batch, or after float64 sums over k:
 *
 *   averageDirect   avg = float32(g / m)                       (k = 1)
 *   accumulateSums  s += g  (float64, in arrival order)        (each of k micro-batches)
 *   divideSums      avg = float32(s / (m_1 + … + m_k)), s = 0
 *
 * Each returns the float64 total the step checks: Σ avg² (‖g‖², the global norm squared; non-finite
 * exactly when some average is, since the square of a finite float32 cannot overflow a float64 sum)
 * or Σ g (non-finite exactly when some g is).
 *
 * Two implementations: the WASM kernels (wasm/stepWasm.ts, once initKernels() has resolved true) and
 * the TypeScript loops here (the `…Ts` functions), which stay the reference and the fallback. Their
 * averages and sums are bitwise equal; Σ avg² is summed in another order by the WASM kernels (eight
 * float64 partial sums instead of one serial sum, wasm/step.wat.ts), a difference of at most
 * 2(n − 1)·2⁻⁵³ relative for n elements — the global norm, and so the clipping factor, may differ in
 * their last bits between the two; the averages (and so the weights, when not clipping) never do.
 *
 * Layout: flat tensors in model order, `averages[j]`, `grads[j]`, `sums[j]` of the same length.
 */
import { ShapeError } from './tensor.js';
import { accumulateWasm, averageDirectWasm, divideSumsWasm, stepWasmReady } from './wasm/stepWasm.js';
import { residentF32, residentF64 } from './wasm/kernelMemory.js';

function checkLengths(where: string, a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): void {
  if (a.length !== b.length || a.some((x, j) => x.length !== b[j].length)) {
    throw new ShapeError(where, a.map((x) => x.length).join(', '), b.map((x) => x.length).join(', '), 'tensor lengths differ');
  }
}

/** averages[j] = float32(grads[j] / count) (a single micro-batch); returns ‖averages‖² (float64). The reference loop. */
export function averageDirectTs(averages: readonly Float32Array[], grads: readonly Float32Array[], count: number): number {
  let sq = 0;
  for (let j = 0; j < grads.length; j++) {
    const g = grads[j];
    const avg = averages[j];
    for (let i = 0; i < g.length; i++) {
      const v = Math.fround(g[i] / count); // the float32 stored, without reading it back
      avg[i] = v;
      sq += v * v;
    }
  }
  return sq;
}

/**
 * acc[j] += grads[j] elementwise; returns Σ of all added elements. The reference loop.
 * NOTE: plain loops over locals, not forEach callbacks: a float accumulated in a variable captured by
 * a closure is boxed on every write (about 16 bytes per parameter per step, measured by the bench).
 */
export function accumulateSumsTs(acc: readonly Float64Array[], grads: readonly Float32Array[]): number {
  let total = 0;
  for (let j = 0; j < grads.length; j++) {
    const s = acc[j];
    const g = grads[j];
    for (let i = 0; i < g.length; i++) {
      s[i] += g[i];
      total += g[i];
    }
  }
  return total;
}

/** averages[j] = float32(sums[j] / count), then sums[j] = 0; returns ‖averages‖² (float64). The reference loop. */
export function divideSumsTs(averages: readonly Float32Array[], sums: readonly Float64Array[], count: number): number {
  let sq = 0;
  for (let j = 0; j < sums.length; j++) {
    const s = sums[j];
    const avg = averages[j];
    for (let i = 0; i < s.length; i++) {
      avg[i] = s[i] / count;
      sq += avg[i] * avg[i];
    }
    s.fill(0);
  }
  return sq;
}

/**
 * averages[j] = float32(grads[j] / count); returns ‖averages‖² (float64). WASM when ready, else the loop.
 *
 * @example const sq = averageDirect(avg, grads, batch.m); const gradNorm = Math.sqrt(sq);
 */
export function averageDirect(averages: readonly Float32Array[], grads: readonly Float32Array[], count: number): number {
  checkLengths('averageDirect', averages, grads);
  if (!stepWasmReady()) return averageDirectTs(averages, grads, count);
  let sq = 0;
  for (let j = 0; j < grads.length; j++) sq += averageDirectWasm(grads[j], averages[j], count);
  return sq;
}

/**
 * acc[j] += grads[j] in float64; returns Σ of the added elements (finite exactly when each is). WASM when ready.
 *
 * @example if (!Number.isFinite(accumulateSums(sums, grads))) report();
 */
export function accumulateSums(acc: readonly Float64Array[], grads: readonly Float32Array[]): number {
  checkLengths('accumulateSums', acc, grads);
  if (!stepWasmReady()) return accumulateSumsTs(acc, grads);
  let total = 0;
  for (let j = 0; j < grads.length; j++) total += accumulateWasm(grads[j], acc[j]);
  return total;
}

/**
 * averages[j] = float32(sums[j] / count), then sums[j] = 0; returns ‖averages‖² (float64). WASM when ready.
 *
 * @example const sq = divideSums(avg, sums, m1 + m2 + m3);
 */
export function divideSums(averages: readonly Float32Array[], sums: readonly Float64Array[], count: number): number {
  checkLengths('divideSums', averages, sums);
  if (!stepWasmReady()) return divideSumsTs(averages, sums, count);
  let sq = 0;
  for (let j = 0; j < sums.length; j++) sq += divideSumsWasm(sums[j], averages[j], count);
  return sq;
}

/** A zeroed Float32Array of `n` elements, inside the kernel memory when the kernels are on (the kernels then use it in place). */
export function kernelF32(n: number): Float32Array {
  return residentF32(n)?.fill(0) ?? new Float32Array(n);
}

/** A zeroed Float64Array of `n` elements, inside the kernel memory when the kernels are on. */
export function kernelF64(n: number): Float64Array {
  return residentF64(n)?.fill(0) ?? new Float64Array(n);
}
