/**
 * The machine-speed probe of the peers (/work/shared/bench/peers/probe.js): a plain-JS 128³ float32
 * matmul (i-k-j) repeated for `ms` milliseconds, reported as GFLOP/s. This VM has slow (~0.8-0.9)
 * and fast (~1.25-1.4) phases; the bench prints the probe before and after every pair of passes so
 * a reader can see which phase a figure was measured in.
 */
const N = 128;
const A = new Float32Array(N * N).fill(0.5);
const B = new Float32Array(N * N).fill(0.25);
const C = new Float32Array(N * N);
let isWarm = false;

function matmul(): void {
  C.fill(0);
  for (let i = 0; i < N; i++) {
    const ci = i * N;
    for (let k = 0; k < N; k++) {
      const a = A[ci + k];
      const bk = k * N;
      for (let j = 0; j < N; j++) C[ci + j] += a * B[bk + j];
    }
  }
}

/** GFLOP/s of the 128³ JS matmul over about `ms` milliseconds (the first call also warms up, as probe.js). */
export function probe(ms = 1000): number {
  if (!isWarm) {
    for (let i = 0; i < 50; i++) matmul();
    isWarm = true;
  }
  const t0 = performance.now();
  let reps = 0;
  while (performance.now() - t0 < ms) {
    matmul();
    reps++;
  }
  return (2 * N ** 3 * reps) / 1e9 / ((performance.now() - t0) / 1000);
}
