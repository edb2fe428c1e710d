/**
 * A WebAssembly SIMD kernel for the gradient pool's reduction with two slices (src/streams/parallel/
 * sumSlices.ts): out = fl32(g₀ + g₁) elementwise, on this thread's kernel memory (kernelMemory.ts).
 *
 * Numbers: f32x4.add rounds the exact sum of two float32 to nearest-even once. Adding them in
 * float64 and rounding that to float32 (what the pool specifies, and what sumSlices computes) gives
 * the same float32 for every pair: float64 has 53 ≥ 2·24 + 2 significand bits, so the double rounding
 * of a sum is innocuous (Figueroa 1995); WebAssembly keeps subnormals (no flush to zero). So the
 * kernel is bitwise sumSlices with one worker (tested against it, subnormals, signed zeros and
 * infinities included); only a NaN's payload may differ, never its NaN-ness.
 *
 * Operands: `out` must be a resident view (Workspace.residentF32) and g₁ is given by its byte address
 * in the kernel memory (the pool keeps its workers' gradient areas there); g₀ is used in place when
 * resident, else copied through scratch. Lengths: vectors of 4 floats; the tail vector reads up to 3
 * floats past n of g₀ and g₁ and writes up to 3 past n of `out`, which stay inside their 64-byte
 * padded blocks (or the scratch region); the caller keeps g₁'s block padded likewise.
 *
 * NOTE: module state (one instance per thread), as in stepWasm.ts; assembled synchronously on first
 * use (a few hundred bytes), once the kernel memory exists.
 */
import { assembleWat } from './assembleWat.js';
import { heapViews, kernelArena, residentAddress, scratch } from './kernelMemory.js';

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type SumTwo = (out: number, a: number, b: number, nVec: number) => void;

let kernel: SumTwo | undefined;

const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "sumTwo") (param $out i32) (param $a i32) (param $b i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $out) (i32.shl (local.get $n) (i32.const 4))))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (v128.store (local.get $out) (f32x4.add (v128.load (local.get $a)) (v128.load (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $b (i32.add (local.get $b) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $out) (local.get $end)))))))
`;

/** The kernel's WAT (for the assembler's test against wabt). */
export function sliceSumWat(): string {
  return WAT;
}

/** The kernel, assembled on first use; undefined when this thread has no kernel memory (initKernels() not called, or no WASM SIMD). */
function sumTwoKernel(): SumTwo | undefined {
  if (kernel !== undefined) return kernel;
  const a = kernelArena();
  if (a === undefined) return undefined;
  const ex = new WebAssembly.Instance(new WebAssembly.Module(assembleWat(sliceSumWat())), { env: { memory: a.memory } }).exports;
  const f = ex.sumTwo;
  if (typeof f !== 'function') throw new Error('sliceSumWasm: the assembled module does not export sumTwo');
  kernel = f as SumTwo;
  return kernel;
}

/**
 * out = fl32(g0 + g1) elementwise, g1 being the `out.length` floats at byte address `g1At` of this
 * thread's kernel memory. Returns false, computing nothing, when the kernel is unavailable or `out`
 * is not a resident view (the caller then adds in JavaScript).
 *
 * @example if (!sumTwoWasm(out, slice0Grad, residentAddress(area) + 4 * offset)) sumSlices(out, slice0Grad, [worker1Grads], offset)
 */
export function sumTwoWasm(out: Float32Array, g0: Float32Array, g1At: number): boolean {
  const n = out.length;
  if (g0.length !== n) throw new RangeError(`sumTwoWasm: out has ${n} elements, g0 ${g0.length}`);
  const outAt = residentAddress(out);
  if (outAt < 0) return false;
  const k = sumTwoKernel();
  if (k === undefined) return false;
  let g0At = residentAddress(g0);
  if (g0At < 0) {
    const s = scratch(Math.ceil(g0.byteLength / 64) * 64 + 64);
    g0At = s.at;
    s.heap.set(g0, g0At >>> 2);
  }
  if (g1At < 0 || (g1At & 3) !== 0 || g1At + 4 * n > heapViews().heap.byteLength) {
    throw new RangeError(`sumTwoWasm: g1 at byte ${g1At} (${n} floats) is not inside the kernel memory`);
  }
  k(outAt, g0At, g1At, Math.ceil(n / 4));
  return true;
}
