/**
 * Layout kernels on the kernel memory (kernelMemory.ts): zero-filling a region, and the phase split
 * and merge of strided convolutions (convPhases.ts), run as WebAssembly instead of JavaScript loops.
 * NOTE: the kernel memory is a SharedArrayBuffer, and V8 runs JavaScript stores into one (and
 * TypedArray fill) about 20× slower than into an ordinary ArrayBuffer (0.7 ns a float for fill,
 * measured); the same work in WASM runs at memory speed.
 *
 *   zero(at, bytes)                          memory.fill with 0
 *   toPhases(x, xp, planes, inH, inW, rows, cols, phasePlane)
 *       xp[q·phasePlane + rows[y] + cols[x]] = x[q, y, x]    where rows[y] ≥ 0 and cols[x] ≥ 0
 *   fromPhases(xp, x, planes, inH, inW, rows, cols, phasePlane)
 *       x[q, y, x] = rows[y] ≥ 0 and cols[x] ≥ 0 ? xp[q·phasePlane + rows[y] + cols[x]] : 0
 * with q over the m·cIn planes of x [m, cIn, inH, inW], and the tables (Int32, in floats) mapping an
 * input row and column to its place in the phase planes of that plane's channel (convPhases.ts
 * phaseTables: −1 for rows and columns no window reads). toPhases writes only the mapped places, so
 * the phase region is zeroed first.
 *
 * Layout: byte addresses; x and xp f32, rows and cols i32.
 */
import { assembleWat } from './assembleWat.js';
import { initKernelMemory, kernelArena } from './kernelMemory.js';

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type Fn = (...args: number[]) => void;

interface LayoutKernels {
  readonly zero: Fn;
  readonly toPhases: Fn;
  readonly fromPhases: Fn;
}

/** The loops of toPhases / fromPhases around one element's body (locals $q $y $x $r $c, pointers $px $pr). */
const planeLoops = (body: string): string => `
    (block $done
      (br_if $done (i32.or (i32.eqz (local.get $planes)) (i32.or (i32.eqz (local.get $inH)) (i32.eqz (local.get $inW)))))
      (local.set $q (i32.const 0))
      (loop $planesLoop
        (local.set $y (i32.const 0))
        (loop $rowsLoop
          (local.set $r (i32.load (i32.add (local.get $rows) (i32.shl (local.get $y) (i32.const 2)))))
          (local.set $x (i32.const 0))
          (loop $colsLoop
            (local.set $c (i32.load (i32.add (local.get $cols) (i32.shl (local.get $x) (i32.const 2)))))
            ${body}
            (local.set $px (i32.add (local.get $px) (i32.const 4)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br_if $colsLoop (i32.lt_u (local.get $x) (local.get $inW))))
          (local.set $y (i32.add (local.get $y) (i32.const 1)))
          (br_if $rowsLoop (i32.lt_u (local.get $y) (local.get $inH))))
        (local.set $pp (i32.add (local.get $pp) (i32.shl (local.get $phasePlane) (i32.const 2))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br_if $planesLoop (i32.lt_u (local.get $q) (local.get $planes)))))`;

const params = '(param $planes i32) (param $inH i32) (param $inW i32) (param $rows i32) (param $cols i32) (param $phasePlane i32)';
const locals = '(local $q i32) (local $y i32) (local $x i32) (local $r i32) (local $c i32)';
/** The phase address of the current element: $pp + 4·(r + c). */
const phaseAt = '(i32.add (local.get $pp) (i32.shl (i32.add (local.get $r) (local.get $c)) (i32.const 2)))';
const isMapped = '(i32.and (i32.ge_s (local.get $r) (i32.const 0)) (i32.ge_s (local.get $c) (i32.const 0)))';

const WAT = `(module
  (import "env" "memory" (memory 1 65536 shared))

  (func (export "zero") (param $at i32) (param $bytes i32)
    (memory.fill (local.get $at) (i32.const 0) (local.get $bytes)))

  (func (export "toPhases") (param $px i32) (param $pp i32) ${params}
    ${locals}
    ${planeLoops(`(if ${isMapped} (then (f32.store ${phaseAt} (f32.load (local.get $px)))))`)})

  (func (export "fromPhases") (param $pp i32) (param $px i32) ${params}
    ${locals}
    ${planeLoops(`(if ${isMapped} (then (f32.store (local.get $px) (f32.load ${phaseAt}))) (else (f32.store (local.get $px) (f32.const 0))))`)})
)
`;

let kernels: LayoutKernels | undefined;
let pending: Promise<boolean> | undefined;

/** The WAT of the module (for tests). */
export function layoutWat(): string {
  return WAT;
}

/** Assemble the module on this thread's kernel memory; resolves false when the kernel memory is unavailable. Safe to call again. */
export function initLayoutWasm(): Promise<boolean> {
  pending ??= (async () => {
    if (!(await initKernelMemory())) return false;
    const a = kernelArena();
    if (a === undefined) return false;
    const ex = new WebAssembly.Instance(new WebAssembly.Module(assembleWat(WAT)), { env: { memory: a.memory } }).exports;
    const fn = (name: string): Fn => {
      const f = ex[name];
      if (typeof f !== 'function') throw new Error(`layoutWasm: the assembled module does not export ${name}`);
      return f as Fn;
    };
    kernels = { zero: fn('zero'), toPhases: fn('toPhases'), fromPhases: fn('fromPhases') };
    return true;
  })();
  return pending;
}

function requireKernels(where: string): LayoutKernels {
  if (kernels === undefined) throw new Error(`${where}: call \`await initLayoutWasm()\` first`);
  return kernels;
}

/** Zero `n` floats of the kernel memory from float index `at`. */
export function zeroWasm(at: number, n: number): void {
  requireKernels('zeroWasm').zero(4 * at, 4 * n);
}

/** The phase split of `planes` planes of x at byte address `xAt` into the phase region at `phaseAt` (zero it first); tables at byte addresses. */
export function toPhasesWasm(xAt: number, phaseAt: number, planes: number, inH: number, inW: number, rowsAt: number, colsAt: number, phasePlane: number): void {
  requireKernels('toPhasesWasm').toPhases(xAt, phaseAt, planes, inH, inW, rowsAt, colsAt, phasePlane);
}

/** The phase merge: x at `xAt` from the phase region at `phaseAt` (every element of x written). */
export function fromPhasesWasm(phaseAt: number, xAt: number, planes: number, inH: number, inW: number, rowsAt: number, colsAt: number, phasePlane: number): void {
  requireKernels('fromPhasesWasm').fromPhases(phaseAt, xAt, planes, inH, inW, rowsAt, colsAt, phasePlane);
}
