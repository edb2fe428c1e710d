/**
 * General matrix multiply and the two small row/column helpers the dense layer needs.
 *
 * Equations (MATH.md §1, batch stored as rows: A is m × m_in, Z is m × n, W is n × m_in):
 *   (1.1) Z = A Wᵀ + 1 bᵀ          → gemm(A, W, { m, n, k: m_in, transB: true }) then addBiasRows
 *   (1.4) ∂C/∂W = Δᵀ A, ∂C/∂b = Σ_x Δ → gemm(Δ, A, { m: n, n: m_in, k: m, transA: true }), sumRows
 *   (1.5) Δ_prev = Δ W             → gemm(Δ, W, { m, n: m_in, k: n })
 *
 * Layout: every matrix is row-major. op(A) is m × k: A itself stored m × k, or Aᵀ where A is stored
 * k × m (transA). op(B) is k × n: B stored k × n, or Bᵀ where B is stored n × k (transB).
 * C is m × n.
 *
 * Speed: loops are ordered so the innermost loop walks memory contiguously. Without transB the
 * inner loop runs along a row of C and a row of B (i-k-j order), four rows of B at a time, so each
 * element of C is loaded and stored once per four products. With transB each C[i,j] is a dot
 * product of two contiguous rows; four columns j share one pass over the row of A.
 */
import { ShapeError } from './tensor.js';

/** Sizes and flags of one product C[m×n] (+)= op(A)[m×k] · op(B)[k×n]. */
export interface GemmShape {
  readonly m: number;
  readonly n: number;
  readonly k: number;
  /** A is stored k × m and used transposed. */
  readonly transA?: boolean;
  /** B is stored n × k and used transposed. */
  readonly transB?: boolean;
  /** C += op(A)·op(B) instead of C = op(A)·op(B). */
  readonly accumulate?: boolean;
}

function checkGemm(where: string, a: Float32Array, b: Float32Array, s: GemmShape, out: Float32Array | undefined): void {
  const { m, n, k } = s;
  if (!(Number.isInteger(m) && Number.isInteger(n) && Number.isInteger(k) && m >= 0 && n >= 0 && k >= 0)) {
    throw new ShapeError(where, 'non-negative integer m, n, k', `m=${m}, n=${n}, k=${k}`);
  }
  if (a.length !== m * k) {
    throw new ShapeError(where, s.transA ? [k, m] : [m, k], [a.length], 'A has the wrong number of elements');
  }
  if (b.length !== k * n) {
    throw new ShapeError(where, s.transB ? [n, k] : [k, n], [b.length], 'B has the wrong number of elements');
  }
  if (out !== undefined && out.length !== m * n) {
    throw new ShapeError(where, [m, n], [out.length], 'C has the wrong number of elements');
  }
  if (s.accumulate === true && out === undefined) {
    throw new ShapeError(where, [m, n], 'no C', 'accumulate needs an out buffer to add into');
  }
}

/**
 * C = op(A)·op(B), or C += op(A)·op(B) when `s.accumulate` (then `out` is required).
 * Overwrites `out` unless accumulating; allocates C when `out` is omitted.
 *
 * @example Dense forward Z = A Wᵀ (1.1): `gemm(A, W, { m: batch, n: units, k: inputs, transB: true })`
 */
export function gemm(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array {
  checkGemm('gemm', a, b, s, out);
  const c = out ?? new Float32Array(s.m * s.n);
  const isAcc = s.accumulate === true;
  if (s.transB === true) {
    if (s.transA === true) gemmTT(a, b, s.m, s.n, s.k, c, isAcc);
    else gemmNT(a, b, s.m, s.n, s.k, c, isAcc);
  } else {
    if (!isAcc) c.fill(0);
    gemmXN(a, b, s.m, s.n, s.k, c, s.transA === true);
  }
  return c;
}

/**
 * C += op(A)·B with B stored k × n (not transposed). i-k-j order: for each row i of C, add
 * A[i,p]·B[p,:] for four p at a time; the inner loop over j is contiguous in B and C.
 * With transA, A[i,p] is read from A stored k × m at p·m + i (one strided load per four rows of B).
 */
function gemmXN(a: Float32Array, b: Float32Array, m: number, n: number, k: number, c: Float32Array, isTransA: boolean): void {
  const k4 = k - (k % 4);
  // stride between A[i,p] and A[i,p+1], and between A[i,·] and A[i+1,·]
  const aStepP = isTransA ? m : 1;
  const aStepI = isTransA ? 1 : k;
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    const aRow = i * aStepI;
    let p = 0;
    for (; p < k4; p += 4) {
      const a0 = a[aRow + p * aStepP];
      const a1 = a[aRow + (p + 1) * aStepP];
      const a2 = a[aRow + (p + 2) * aStepP];
      const a3 = a[aRow + (p + 3) * aStepP];
      const b0 = p * n;
      const b1 = b0 + n;
      const b2 = b1 + n;
      const b3 = b2 + n;
      for (let j = 0; j < n; j++) {
        c[cRow + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
      }
    }
    for (; p < k; p++) {
      const ap = a[aRow + p * aStepP];
      const bRow = p * n;
      for (let j = 0; j < n; j++) c[cRow + j] += ap * b[bRow + j];
    }
  }
}

/**
 * C (+)= A·Bᵀ with A stored m × k and B stored n × k: each C[i,j] is the dot product of row i of A
 * and row j of B, both contiguous. Four rows of B share one pass over row i of A.
 */
function gemmNT(a: Float32Array, b: Float32Array, m: number, n: number, k: number, c: Float32Array, isAcc: boolean): void {
  const n4 = n - (n % 4);
  for (let i = 0; i < m; i++) {
    const aRow = i * k;
    const cRow = i * n;
    let j = 0;
    for (; j < n4; j += 4) {
      const b0 = j * k;
      const b1 = b0 + k;
      const b2 = b1 + k;
      const b3 = b2 + k;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let p = 0; p < k; p++) {
        const ap = a[aRow + p];
        s0 += ap * b[b0 + p];
        s1 += ap * b[b1 + p];
        s2 += ap * b[b2 + p];
        s3 += ap * b[b3 + p];
      }
      if (isAcc) {
        c[cRow + j] += s0;
        c[cRow + j + 1] += s1;
        c[cRow + j + 2] += s2;
        c[cRow + j + 3] += s3;
      } else {
        c[cRow + j] = s0;
        c[cRow + j + 1] = s1;
        c[cRow + j + 2] = s2;
        c[cRow + j + 3] = s3;
      }
    }
    for (; j < n; j++) {
      const bRow = j * k;
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[aRow + p] * b[bRow + p];
      c[cRow + j] = isAcc ? c[cRow + j] + sum : sum;
    }
  }
}

/**
 * C (+)= Aᵀ·Bᵀ with A stored k × m and B stored n × k. Rare (no layer needs it); each C[i,j] is a
 * dot product reading B's row j contiguously and A's column i with stride m.
 */
function gemmTT(a: Float32Array, b: Float32Array, m: number, n: number, k: number, c: Float32Array, isAcc: boolean): void {
  for (let i = 0; i < m; i++) {
    const cRow = i * n;
    for (let j = 0; j < n; j++) {
      const bRow = j * k;
      let sum = 0;
      for (let p = 0; p < k; p++) sum += a[p * m + i] * b[bRow + p];
      c[cRow + j] = isAcc ? c[cRow + j] + sum : sum;
    }
  }
}

/**
 * The oracle: C[i,j] (+)= Σ_p op(A)[i,p]·op(B)[p,j], a plain triple loop with a float64 sum,
 * indexing straight from the definition. Same contract as {@link gemm}.
 */
export function gemmNaive(a: Float32Array, b: Float32Array, s: GemmShape, out?: Float32Array): Float32Array {
  checkGemm('gemmNaive', a, b, s, out);
  const { m, n, k } = s;
  const c = out ?? new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) {
        const aip = s.transA === true ? a[p * m + i] : a[i * k + p];
        const bpj = s.transB === true ? b[j * k + p] : b[p * n + j];
        sum += aip * bpj;
      }
      c[i * n + j] = s.accumulate === true ? c[i * n + j] + sum : sum;
    }
  }
  return c;
}

/**
 * (1.1) the bias term of Z = A Wᵀ + 1 bᵀ: z[i,j] += b[j] for every row i. Accumulates into `z`
 * (z is m × n, b has n elements).
 */
export function addBiasRows(z: Float32Array, b: Float32Array, m: number, n: number): void {
  if (z.length !== m * n) throw new ShapeError('addBiasRows', [m, n], [z.length], 'z');
  if (b.length !== n) throw new ShapeError('addBiasRows', [n], [b.length], 'b');
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) z[row + j] += b[j];
  }
}

/**
 * (1.4) ∂C/∂b = Σ_x δ^x: column sums of delta (m × n) into out (n elements). Overwrites `out`.
 */
export function sumRows(delta: Float32Array, m: number, n: number, out?: Float32Array): Float32Array {
  if (delta.length !== m * n) throw new ShapeError('sumRows', [m, n], [delta.length], 'delta');
  if (out !== undefined && out.length !== n) throw new ShapeError('sumRows', [n], [out.length], 'out');
  const db = out ?? new Float32Array(n);
  db.fill(0);
  for (let i = 0; i < m; i++) {
    const row = i * n;
    for (let j = 0; j < n; j++) db[j] += delta[row + j];
  }
  return db;
}
