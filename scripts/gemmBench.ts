/**
 * GEMM speed on the deltaflow workload shapes: WebAssembly SIMD (gemmWasm, with operands copied in
 * and out as a normal call does, and with operands already resident in wasm memory; without and
 * with relaxed-SIMD FMA, timed in alternation), the TypeScript `gemm`, and the `gemmNaive` triple loop. Prints GFLOP/s = 2·m·n·k / time, median
 * (min – max) of the timed runs after a warm-up; each run repeats the product for ≥ 25 ms.
 *
 *   npx tsc -p . && node dist/scripts/gemmBench.js [--runs=7] [--tile=4x8] [--kc=256 --mc=128 --nc=2048]
 *                                                  [--inplaceA=true|false] [--inplaceB=maxBytes]
 *                                                  [--only=substring] [--naive]
 *
 * `--naive` also times the triple loop (slow: seconds for 1024³). Speed only; correctness is in
 * test/ops/wasmGemm.test.ts.
 */
import { gemm, gemmNaive, type GemmShape } from '../src/ops/gemm.js';
import { createWasmGemm, DEFAULT_BLOCKING, type WasmGemm } from '../src/ops/wasm/gemmWasm.js';
import { detectKernelFeatures } from '../src/ops/wasm/kernelSet.js';
import { DEFAULT_TILE } from '../src/ops/wasm/gemm.wat.js';

interface Case {
  readonly name: string;
  readonly s: GemmShape;
}

/** Batch 64; MLP 784-128-64-10 and LeNet-5 (conv 6@5×5 → pool → conv 16@5×5 → pool → 256-120-84-10). */
const CASES: readonly Case[] = [
  { name: 'mlp L1 fwd  Z=A·Wᵀ', s: { m: 64, n: 128, k: 784, transB: true } },
  { name: 'mlp L1 dW=Δᵀ·A', s: { m: 128, n: 784, k: 64, transA: true } },
  { name: 'mlp L1 Δ·W (if not input)', s: { m: 64, n: 784, k: 128 } },
  { name: 'mlp L2 fwd', s: { m: 64, n: 64, k: 128, transB: true } },
  { name: 'mlp L2 dW', s: { m: 64, n: 128, k: 64, transA: true } },
  { name: 'mlp L2 Δ·W', s: { m: 64, n: 128, k: 64 } },
  { name: 'mlp L3 fwd', s: { m: 64, n: 10, k: 64, transB: true } },
  { name: 'conv1 fwd/sample W·cols', s: { m: 6, n: 576, k: 25 } },
  { name: 'conv1 fwd batched', s: { m: 6, n: 64 * 576, k: 25 } },
  { name: 'conv1 dW/sample δ·colsᵀ', s: { m: 6, n: 25, k: 576, transB: true, accumulate: true } },
  { name: 'conv2 fwd/sample', s: { m: 16, n: 64, k: 150 } },
  { name: 'conv2 fwd batched', s: { m: 16, n: 64 * 64, k: 150 } },
  { name: 'conv2 dcols/sample Wᵀ·δ', s: { m: 150, n: 64, k: 16, transA: true } },
  { name: 'conv2 dW/sample', s: { m: 16, n: 150, k: 64, transB: true, accumulate: true } },
  { name: 'lenet fc1 fwd', s: { m: 64, n: 120, k: 256, transB: true } },
  { name: 'lenet fc1 dW', s: { m: 120, n: 256, k: 64, transA: true } },
  { name: 'lenet fc1 Δ·W', s: { m: 64, n: 256, k: 120 } },
  { name: 'square 256³', s: { m: 256, n: 256, k: 256 } },
  { name: 'square 256³ transA transB', s: { m: 256, n: 256, k: 256, transA: true, transB: true } },
  { name: 'square 1024³', s: { m: 1024, n: 1024, k: 1024 } },
];

function arg(name: string, fallback: string): string {
  const hit = process.argv.find((x) => x.startsWith(`--${name}=`));
  return hit === undefined ? fallback : hit.slice(name.length + 3);
}
const hasFlag = (name: string): boolean => process.argv.includes(`--${name}`);

function median(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return { median: s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

/** GFLOP/s of `fn` for `flops` per call: warm-up, then `runs` timed runs of ≥ 25 ms each. */
function rate(fn: () => void, flops: number, runs: number): { median: number; min: number; max: number } {
  const warmEnd = performance.now() + 150;
  let reps = 0;
  do {
    fn();
    reps++;
  } while (performance.now() < warmEnd || reps < 3);
  const perRun = Math.max(1, Math.ceil(reps / 6)); // ≈ 25 ms per run
  const g: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRun; i++) fn();
    const seconds = (performance.now() - t0) / 1000;
    g.push((flops * perRun) / seconds / 1e9);
  }
  return median(g);
}

function fmt(x: { median: number; min: number; max: number }): string {
  const f = (v: number): string => v.toFixed(v >= 10 ? 1 : 2);
  return `${f(x.median)} (${f(x.min)}–${f(x.max)})`.padEnd(20);
}

function random(n: number, seed: number): Float32Array {
  const x = new Float32Array(n);
  let t = seed >>> 0;
  for (let i = 0; i < n; i++) {
    t = (Math.imul(t, 1664525) + 1013904223) >>> 0;
    x[i] = t / 4294967296 - 0.5;
  }
  return x;
}

async function main(): Promise<void> {
  const runs = Number(arg('runs', '7'));
  const [mr, nr] = arg('tile', `${DEFAULT_TILE.mr}x${DEFAULT_TILE.nr}`).split('x').map(Number);
  const blocking = {
    kc: Number(arg('kc', String(DEFAULT_BLOCKING.kc))),
    mc: Number(arg('mc', String(DEFAULT_BLOCKING.mc))),
    nc: Number(arg('nc', String(DEFAULT_BLOCKING.nc))),
    isAInPlace: arg('inplaceA', String(DEFAULT_BLOCKING.isAInPlace)) === 'true',
    maxInPlaceBBytes: Number(arg('inplaceB', String(DEFAULT_BLOCKING.maxInPlaceBBytes))),
  };
  const only = arg('only', '');
  const withNaive = hasFlag('naive');
  const engine: WasmGemm = await createWasmGemm({ mr, nr }, blocking);
  const fmaEngine: WasmGemm | null = (await detectKernelFeatures()).relaxedSimd ? await createWasmGemm({ mr, nr }, blocking, { fma: true }) : null;
  console.log(`# node ${process.version}; tile ${mr}x${nr}; kc=${blocking.kc} mc=${blocking.mc} nc=${blocking.nc} in place: A ${blocking.isAInPlace} B up to ${blocking.maxInPlaceBBytes} bytes; ${runs} runs; GFLOP/s median (min–max)`);
  console.log(`# ${'shape'.padEnd(30)} ${'m×n×k'.padEnd(16)} ${'wasm (copy)'.padEnd(20)} ${'wasm resident'.padEnd(20)} copy %  ${'FMA resident'.padEnd(20)} FMA ×  ${'TS gemm'.padEnd(20)} naive`);
  for (const { name, s } of CASES) {
    if (only !== '' && !name.includes(only)) continue;
    const { m, n, k } = s;
    const flops = 2 * m * n * k;
    const a = random(m * k, 1);
    const b = random(k * n, 2);
    const c = random(m * n, 3);
    const wasmCopy = rate(() => engine.gemm(a, b, s, c), flops, runs);

    const resident = (e: WasmGemm): (() => void) => {
      e.releaseScratch();
      const [ab, bb, cb] = [e.scratch(m * k), e.scratch(k * n), e.scratch(m * n)];
      ab.view().set(a);
      bb.view().set(b);
      cb.view().set(c);
      return () => e.gemm(ab.view(), bb.view(), s, cb.view());
    };
    const plainRun = resident(engine);
    const fmaRun = fmaEngine === null ? null : resident(fmaEngine);
    // alternate the two kernels, three rounds, so both meet the same machine phases
    const plainRates: number[] = [];
    const fmaRates: number[] = [];
    for (let round = 0; round < 3; round++) {
      plainRates.push(rate(plainRun, flops, runs).median);
      if (fmaRun !== null) fmaRates.push(rate(fmaRun, flops, runs).median);
    }
    const wasmResident = median(plainRates);
    const fmaResident = fmaRun === null ? null : median(fmaRates);
    engine.releaseScratch();
    fmaEngine?.releaseScratch();

    const ts = rate(() => gemm(a, b, s, c), flops, runs);
    const naive = withNaive ? fmt(rate(() => gemmNaive(a, b, s, c), flops, Math.min(runs, 5))) : '—';
    const copyShare = 100 * (1 - wasmCopy.median / wasmResident.median);
    const flags = `${s.transA === true ? 'A' : ''}${s.transB === true ? 'B' : ''}${s.accumulate === true ? '+' : ''}`;
    console.log(
      `  ${name.padEnd(30)} ${`${m}×${n}×${k}${flags ? ' ' + flags : ''}`.padEnd(16)} ${fmt(wasmCopy)} ${fmt(wasmResident)} ${copyShare.toFixed(0).padStart(4)} %  ` +
        `${fmaResident === null ? '—'.padEnd(20) : fmt(fmaResident)} ${fmaResident === null ? '  — ' : (fmaResident.median / wasmResident.median).toFixed(2)}   ${fmt(ts)} ${naive}`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
