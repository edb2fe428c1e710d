/**
 * WebAssembly SIMD kernels for ReLU (forward and delta) and 2×2 / stride-2 max pooling (forward with
 * argmax, and delta), on the kernel memory of kernelMemory.ts. Operands that are resident views
 * (Workspace.residentF32) are used in place; others are copied through scratch. The dispatchers in
 * src/ops/activations.ts and src/ops/pool.ts call these once `initElementwiseWasm()` has resolved true.
 *
 * Every kernel is bit-for-bit the loop oracle (MATH.md (4.1), (2.1), (2.2)):
 *   relu       out = z < 0 ? +0 : z         f32x4.lt mask, andnot: −0 and NaN (with payload) pass through
 *   reluPrime  out = a > 0 ? δa : +0        f32x4.gt mask, and: NaN a gives +0
 *   pool fwd   windows (x00, x01, x10, x11) in row-major order, best = x00, then each later value is
 *              taken when no NaN was seen yet and it is NaN or > best (the oracle's first-NaN and
 *              first-maximum rules); y is the chosen value's bits, argmax its flat index into x
 *   pool delta δx at argmax = 0 + δy (as the oracle's zero-fill then +=: −0 becomes +0), +0 elsewhere;
 *              returns 1 when some argmax lies outside its window (the caller then runs the loop)
 * Layout: NCHW row-major; the pool kernels need inH = 2·outH, inW = 2·outW and outW % 4 = 0, so the
 * batch is `rows` = m·c·outH output rows, output row r reading input rows 2r and 2r+1.
 * Lengths: vectors of 4 floats; the tail vector reads/writes up to 3 floats past n, which stay inside
 * a resident block (64-byte padded) or the scratch region.
 *
 * NOTE: module state (one instance per thread), as in convWasm.ts; each worker thread must
 * `await initElementwiseWasm()` itself (initKernels() does).
 */
import { assembleWat } from './assembleWat.js';
import { heapViews, initKernelMemory, kernelArena, residentAddress, scratch } from './kernelMemory.js';

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

interface Kernels {
  readonly relu: (z: number, out: number, nVec: number) => void;
  readonly reluPrime: (d: number, a: number, out: number, nVec: number) => void;
  readonly poolFwd: (x: number, y: number, arg: number, rows: number, outW: number) => void;
  readonly poolDelta: (dy: number, arg: number, dx: number, rows: number, outW: number) => number;
}

let kernels: Kernels | undefined;
let pending: Promise<boolean> | undefined;

const EVEN = '0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27';
const ODD = '4 5 6 7 12 13 14 15 20 21 22 23 28 29 30 31';
const LO = '0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23';
const HI = '8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31';

/** One later window value v (at index offset `off`) against the running best: the oracle's update. */
const take = (v: string, off: string): string => `
        (local.set $vn (f32x4.ne (local.get ${v}) (local.get ${v})))
        (local.set $t (v128.andnot (v128.or (local.get $vn) (f32x4.gt (local.get ${v}) (local.get $best))) (local.get $nan)))
        (local.set $best (v128.bitselect (local.get ${v}) (local.get $best) (local.get $t)))
        (local.set $at (v128.bitselect (i32x4.add (local.get $base) ${off}) (local.get $at) (local.get $t)))
        (local.set $nan (v128.or (local.get $nan) (local.get $vn)))`;

const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "relu") (param $z i32) (param $out i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $z) (i32.shl (local.get $n) (i32.const 4))))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (v128.store (local.get $out)
          (v128.andnot (v128.load (local.get $z)) (f32x4.lt (v128.load (local.get $z)) (v128.const i32x4 0 0 0 0))))
        (local.set $z (i32.add (local.get $z) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $z) (local.get $end))))))

  (func (export "reluPrime") (param $d i32) (param $a i32) (param $out i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (local.get $n) (i32.const 4))))
    (block $done
      (br_if $done (i32.eqz (local.get $n)))
      (loop $l
        (v128.store (local.get $out)
          (v128.and (v128.load (local.get $d)) (f32x4.gt (v128.load (local.get $a)) (v128.const i32x4 0 0 0 0))))
        (local.set $d (i32.add (local.get $d) (i32.const 16)))
        (local.set $a (i32.add (local.get $a) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br_if $l (i32.lt_u (local.get $a) (local.get $end))))))

  (func (export "poolFwd") (param $x i32) (param $y i32) (param $arg i32) (param $rows i32) (param $outW i32)
    (local $r i32) (local $q i32) (local $nq i32) (local $row1 i32) (local $inW i32)
    (local $v0 v128) (local $v1 v128) (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $best v128) (local $at v128) (local $nan v128) (local $vn v128) (local $t v128)
    (local $base v128) (local $offW v128) (local $offW1 v128)
    (local.set $inW (i32.shl (local.get $outW) (i32.const 1)))
    (local.set $row1 (i32.shl (local.get $inW) (i32.const 2)))
    (local.set $nq (i32.shr_u (local.get $outW) (i32.const 2)))
    (local.set $offW (i32x4.splat (local.get $inW)))
    (local.set $offW1 (i32x4.splat (i32.add (local.get $inW) (i32.const 1))))
    (local.set $base (v128.const i32x4 0 2 4 6))
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (loop $rowsLoop
        (local.set $q (i32.const 0))
        (loop $vecs
          (local.set $v0 (v128.load (local.get $x)))
          (local.set $v1 (v128.load offset=16 (local.get $x)))
          (local.set $a (i8x16.shuffle ${EVEN} (local.get $v0) (local.get $v1)))
          (local.set $b (i8x16.shuffle ${ODD} (local.get $v0) (local.get $v1)))
          (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $row1))))
          (local.set $v1 (v128.load offset=16 (i32.add (local.get $x) (local.get $row1))))
          (local.set $c (i8x16.shuffle ${EVEN} (local.get $v0) (local.get $v1)))
          (local.set $d (i8x16.shuffle ${ODD} (local.get $v0) (local.get $v1)))
          (local.set $best (local.get $a))
          (local.set $at (local.get $base))
          (local.set $nan (f32x4.ne (local.get $a) (local.get $a)))
          ${take('$b', '(v128.const i32x4 1 1 1 1)')}
          ${take('$c', '(local.get $offW)')}
          ${take('$d', '(local.get $offW1)')}
          (v128.store (local.get $y) (local.get $best))
          (v128.store (local.get $arg) (local.get $at))
          (local.set $base (i32x4.add (local.get $base) (v128.const i32x4 8 8 8 8)))
          (local.set $x (i32.add (local.get $x) (i32.const 32)))
          (local.set $y (i32.add (local.get $y) (i32.const 16)))
          (local.set $arg (i32.add (local.get $arg) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $vecs (i32.lt_u (local.get $q) (local.get $nq))))
        ;; skip the second input row of the pair
        (local.set $base (i32x4.add (local.get $base) (local.get $offW)))
        (local.set $x (i32.add (local.get $x) (local.get $row1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rowsLoop (i32.lt_u (local.get $r) (local.get $rows))))))

  (func (export "poolDelta") (param $dy i32) (param $arg i32) (param $dx i32) (param $rows i32) (param $outW i32) (result i32)
    (local $r i32) (local $q i32) (local $nq i32) (local $row1 i32) (local $inW i32)
    (local $k v128) (local $g v128) (local $m0 v128) (local $m1 v128) (local $m2 v128) (local $m3 v128)
    (local $e v128) (local $o v128) (local $bad v128)
    (local $base v128) (local $offW v128) (local $offW1 v128)
    (local.set $inW (i32.shl (local.get $outW) (i32.const 1)))
    (local.set $row1 (i32.shl (local.get $inW) (i32.const 2)))
    (local.set $nq (i32.shr_u (local.get $outW) (i32.const 2)))
    (local.set $offW (i32x4.splat (local.get $inW)))
    (local.set $offW1 (i32x4.splat (i32.add (local.get $inW) (i32.const 1))))
    (local.set $base (v128.const i32x4 0 2 4 6))
    (block $done
      (br_if $done (i32.eqz (local.get $rows)))
      (loop $rowsLoop
        (local.set $q (i32.const 0))
        (loop $vecs
          (local.set $k (i32x4.sub (v128.load (local.get $arg)) (local.get $base)))
          ;; 0 + δy, as the oracle's zero-filled δx += δy
          (local.set $g (f32x4.add (v128.const i32x4 0 0 0 0) (v128.load (local.get $dy))))
          (local.set $m0 (i32x4.eq (local.get $k) (v128.const i32x4 0 0 0 0)))
          (local.set $m1 (i32x4.eq (local.get $k) (v128.const i32x4 1 1 1 1)))
          (local.set $m2 (i32x4.eq (local.get $k) (local.get $offW)))
          (local.set $m3 (i32x4.eq (local.get $k) (local.get $offW1)))
          (local.set $bad (v128.or (local.get $bad)
            (v128.not (v128.or (v128.or (local.get $m0) (local.get $m1)) (v128.or (local.get $m2) (local.get $m3))))))
          (local.set $e (v128.and (local.get $g) (local.get $m0)))
          (local.set $o (v128.and (local.get $g) (local.get $m1)))
          (v128.store (local.get $dx) (i8x16.shuffle ${LO} (local.get $e) (local.get $o)))
          (v128.store offset=16 (local.get $dx) (i8x16.shuffle ${HI} (local.get $e) (local.get $o)))
          (local.set $e (v128.and (local.get $g) (local.get $m2)))
          (local.set $o (v128.and (local.get $g) (local.get $m3)))
          (v128.store (i32.add (local.get $dx) (local.get $row1)) (i8x16.shuffle ${LO} (local.get $e) (local.get $o)))
          (v128.store offset=16 (i32.add (local.get $dx) (local.get $row1)) (i8x16.shuffle ${HI} (local.get $e) (local.get $o)))
          (local.set $base (i32x4.add (local.get $base) (v128.const i32x4 8 8 8 8)))
          (local.set $dx (i32.add (local.get $dx) (i32.const 32)))
          (local.set $dy (i32.add (local.get $dy) (i32.const 16)))
          (local.set $arg (i32.add (local.get $arg) (i32.const 16)))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br_if $vecs (i32.lt_u (local.get $q) (local.get $nq))))
        (local.set $base (i32x4.add (local.get $base) (local.get $offW)))
        (local.set $dx (i32.add (local.get $dx) (local.get $row1)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br_if $rowsLoop (i32.lt_u (local.get $r) (local.get $rows)))))
    (v128.any_true (local.get $bad)))
)
`;

/** The WAT of the module (for tests). */
export function elementwiseWat(): string {
  return WAT;
}

/**
 * Assemble and instantiate the module on this thread's kernel memory; resolves false when the
 * kernel memory is unavailable (no WebAssembly SIMD / shared memory). Safe to call again.
 */
export function initElementwiseWasm(): Promise<boolean> {
  pending ??= (async () => {
    if (!(await initKernelMemory())) return false;
    const a = kernelArena();
    if (a === undefined) return false;
    const binary = assembleWat(WAT);
    const ex = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory: a.memory } }).exports;
    kernels = ex as unknown as Kernels;
    return true;
  })();
  return pending;
}

/** True once initElementwiseWasm() has resolved true in this thread. */
export function elementwiseWasmReady(): boolean {
  return kernels !== undefined;
}

function requireKernels(where: string): Kernels {
  if (kernels === undefined) throw new Error(`${where}: call \`await initElementwiseWasm()\` first`);
  return kernels;
}

const vecBytes = (n: number): number => Math.ceil(n / 4) * 16;

/**
 * Addresses for the operands of one call: resident ones in place, the others in scratch (inputs
 * copied in). Returns the addresses and the heap view to copy outputs back through.
 */
function place(inputs: (Float32Array | Int32Array)[], outputs: (Float32Array | Int32Array)[]): { at: number[]; heap: Float32Array; heapI32: Int32Array } {
  const all = [...inputs, ...outputs];
  const at = all.map((v) => residentAddress(v));
  let need = 0;
  for (let i = 0; i < all.length; i++) if (at[i] < 0) need += vecBytes(all[i].length) + 64;
  if (need === 0) return { at, ...heapViews() };
  const s = scratch(need);
  let p = s.at;
  for (let i = 0; i < all.length; i++) {
    if (at[i] >= 0) continue;
    at[i] = p;
    p += Math.ceil((vecBytes(all[i].length) + 64) / 64) * 64;
    if (i < inputs.length) {
      const v = all[i];
      if (v instanceof Float32Array) s.heap.set(v, at[i] >>> 2);
      else s.heapI32.set(v, at[i] >>> 2);
    }
  }
  return { at, heap: s.heap, heapI32: s.heapI32 };
}

function copyOut(outputs: (Float32Array | Int32Array)[], at: number[], first: number, heap: Float32Array, heapI32: Int32Array): void {
  for (let i = 0; i < outputs.length; i++) {
    const v = outputs[i];
    if (residentAddress(v) >= 0) continue;
    const from = at[first + i] >>> 2;
    if (v instanceof Float32Array) v.set(heap.subarray(from, from + v.length));
    else v.set(heapI32.subarray(from, from + v.length));
  }
}

/** (4.1) out = relu(z), bit-for-bit reluNaive. Lengths are checked by the caller; `out` may alias z. */
export function reluWasm(z: Float32Array, out: Float32Array): Float32Array {
  const k = requireKernels('reluWasm');
  const { at, heap, heapI32 } = place([z], [out]);
  k.relu(at[0], at[1], Math.ceil(z.length / 4));
  copyOut([out], at, 1, heap, heapI32);
  return out;
}

/** (4.1) out = a > 0 ? δa : 0, bit-for-bit reluPrimeTimesNaive. Lengths are checked by the caller. */
export function reluPrimeTimesWasm(deltaA: Float32Array, a: Float32Array, out: Float32Array): Float32Array {
  const k = requireKernels('reluPrimeTimesWasm');
  const { at, heap, heapI32 } = place([deltaA, a], [out]);
  k.reluPrime(at[0], at[1], at[2], Math.ceil(a.length / 4));
  copyOut([out], at, 2, heap, heapI32);
  return out;
}

/** Whether the pool kernels take this shape: 2×2 windows, stride 2, inH = 2·outH, inW = 2·outW, outW % 4 = 0. */
export function pool2x2WasmSupports(s: { kH: number; kW: number; strideH: number; strideW: number; inH: number; inW: number; outH: number; outW: number }): boolean {
  return s.kH === 2 && s.kW === 2 && s.strideH === 2 && s.strideW === 2 && s.inH === 2 * s.outH && s.inW === 2 * s.outW && s.outW % 4 === 0 && s.outW > 0;
}

/** (2.1) 2×2 stride-2 max pool with argmax; `rows` = m·c·outH. Shapes are checked by the caller. */
export function maxPool2x2Wasm(x: Float32Array, rows: number, outW: number, y: Float32Array, argmax: Int32Array): void {
  const k = requireKernels('maxPool2x2Wasm');
  const { at, heap, heapI32 } = place([x], [y, argmax]);
  k.poolFwd(at[0], at[1], at[2], rows, outW);
  copyOut([y, argmax], at, 1, heap, heapI32);
}

/**
 * (2.2) δx of a 2×2 stride-2 max pool (overwrites all of δx). Returns false, with δx unspecified,
 * when some argmax is outside its window (the caller then runs the general loop).
 */
export function maxPool2x2DeltaWasm(deltaY: Float32Array, argmax: Int32Array, rows: number, outW: number, deltaX: Float32Array): boolean {
  const k = requireKernels('maxPool2x2DeltaWasm');
  const { at, heap, heapI32 } = place([deltaY, argmax], [deltaX]);
  const bad = k.poolDelta(at[0], at[1], at[2], rows, outW);
  if (bad !== 0) return false;
  copyOut([deltaX], at, 2, heap, heapI32);
  return true;
}
