/**
 * WebAssembly SIMD direct convolution (any stride, any zero padding): forward, δx, dW and db with the
 * contracts of conv2dForward / conv2dDeltaX / conv2dGradW / conv2dGradB in src/ops/conv.ts (which
 * dispatch here once `initConvWasm()` has resolved true). Equations and layouts: convWat.ts; a strided
 * shape runs as the stride-1 convolution of its phases (convPhases.ts: the copy in lays x out as
 * phase planes, the weights as phase sub-kernels, and dW, δx are mapped back on the way out).
 * The kernels are the thread's kernel set (kernelSet.ts): with FMA every multiply-add is one
 * f32x4.relaxed_madd.
 *
 * How it runs: `initConvWasm()` sets up this thread's kernel memory (kernelMemory.ts: one shared
 * WebAssembly.Memory). The first call for a new layer shape generates that shape's WAT, assembles it
 * (assembleWat.ts) and compiles it synchronously (a few ms, once per shape); every module
 * imports the same memory. An operand that is resident in that memory (Workspace.residentF32) and
 * already in the kernel's layout (no padding, rows not widened) is read or written in place; the
 * others are copied through scratch in the padded layouts of convWat.ts (the copy is the
 * im2col-free equivalent of a padding step: O(data), against O(data · cOut · kH · kW) for the
 * products). Weights are always re-laid out (small).
 *
 * NOTE: module state (the memory and the compiled kernels) is deliberate, the same exception to
 * "no module state" (STYLE.md §3) as gemmWasm.ts: compiling per call would cost more than the
 * convolution. Each worker thread must `await initConvWasm()` itself.
 */
import type { ConvShape } from '../convShape.js';
import { kernelShape } from './convBlocks.js';
import { gatherGradW, isStrided, phaseShape, phaseTables, phaseWeights, type PhaseTables } from './convPhases.js';
import { convWat, type ConvKernelShape } from './convWat.js';

export { convKernelShape } from './convBlocks.js';
import { initElementwiseWasm } from './elementwiseWasm.js';
import { assembleWat } from './assembleWat.js';
import { initKernelMemory, kernelArena, residentAddress, scratch, type WasmMemory } from './kernelMemory.js';
import { fromPhasesWasm, initLayoutWasm, toPhasesWasm, zeroWasm } from './layoutWasm.js';
import { chooseKernelSet } from './kernelSet.js';

// NOTE: lib ES2022 and @types/node 20 do not declare WebAssembly; the members used are declared here.
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

interface ConvKernels {
  readonly shape: ConvKernelShape;
  readonly forward: (x: number, w: number, b: number, z: number, m: number) => void;
  readonly gradW: (x: number, dz: number, dw: number, m: number) => void;
  readonly gradWSampleOuter: (x: number, dz: number, dw: number, m: number, part: number) => void;
  readonly gradB: (dz: number, db: number, m: number) => void;
  readonly deltaX: (dz: number, w: number, dx: number, m: number) => void;
}

/**
 * How one layer shape runs: the kernels of its stride-1 equivalent `p` (s itself at stride 1).
 * NOTE: plans are cached per shape whatever the batch size, so `p.m` is the first call's: use the
 * call's own m.
 */
interface ConvPlan {
  readonly kern: ConvKernels;
  readonly p: ConvShape;
  readonly isStrided: boolean;
  /** W' of a strided shape (convPhases.ts), its zero taps zeroed once; null at stride 1. */
  readonly wPhase: Float32Array | null;
  /**
   * Where each input row and column goes in the kernel's layout when that is not x's own (padding,
   * widened rows, or phases): the WASM layout kernels (layoutWasm.ts) gather x and scatter δx by
   * these tables; null when x is laid out as the kernel reads it.
   */
  readonly tables: PhaseTables | null;
}

interface Engine {
  readonly memory: WasmMemory;
  readonly fma: boolean;
  /** relaxed_madd rounds once on this machine (kernelSet.ts). */
  readonly isFused: boolean;
  /** Modules by stride-1 kernel shape. */
  readonly kernels: Map<string, ConvKernels>;
  /** Plans by layer shape (batch size aside). */
  readonly plans: Map<string, ConvPlan>;
}

let engine: Engine | undefined;
let pending: Promise<boolean> | undefined;

/**
 * Set up this thread's kernel memory (kernelMemory.ts) and the ReLU / pooling
 * kernels on it (elementwiseWasm.ts); resolves true when the WASM convolution is usable, false when
 * WebAssembly SIMD is missing. Safe to call again.
 *
 * @example if (await initConvWasm()) conv2dForward(x, W, b, shape); // now runs the SIMD kernel
 */
export function initConvWasm(): Promise<boolean> {
  pending ??= (async () => {
    const set = await chooseKernelSet();
    if (!set.wasm || !(await initKernelMemory())) return false;
    const a = kernelArena();
    if (a === undefined) return false;
    engine = { memory: a.memory, fma: set.fma, isFused: set.isFused, kernels: new Map(), plans: new Map() };
    // The ReLU / pooling kernels work on the same resident buffers and give the loops' exact bits, so a
    // thread that turns the conv kernels on (a gradient worker) gets them too.
    await Promise.all([initElementwiseWasm(), initLayoutWasm()]);
    return true;
  })();
  return pending;
}

/** True once initConvWasm() has resolved true in this thread. */
export function convWasmReady(): boolean {
  return engine !== undefined;
}

/** Whether this thread's conv kernels use relaxed_madd (false before initConvWasm() resolved true). */
export function convWasmIsFma(): boolean {
  return engine?.fma === true;
}

/** Shapes the WASM kernels take: every stride and padding (strided ones through their phases, convPhases.ts). */
export function convWasmSupports(s: ConvShape): boolean {
  return s.strideH >= 1 && s.strideW >= 1;
}

const roundUp = (x: number, a: number): number => Math.ceil(x / a) * a;

/** The module of a stride-1 shape, assembled at its first use. */
function kernelsFor(e: Engine, s: ConvShape): ConvKernels {
  const key = `${s.cIn},${s.inH},${s.inW},${s.cOut},${s.kH},${s.kW},${s.padH},${s.padW}`;
  let k = e.kernels.get(key);
  if (k !== undefined) return k;
  const shape = kernelShape(s, e.fma, e.isFused);
  const binary = assembleWat(convWat(shape));
  const ex = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory: e.memory } }).exports;
  const fn = <F>(name: string): F => {
    if (typeof ex[name] !== 'function') throw new Error(`convWasm: the assembled module does not export ${name}`);
    return ex[name] as F;
  };
  k = { shape, forward: fn('forward'), gradW: fn('gradW'), gradWSampleOuter: fn('gradWSampleOuter'), gradB: fn('gradB'), deltaX: fn('deltaX') };
  e.kernels.set(key, k);
  return k;
}

/** How layer shape `s` runs (cached per shape; the batch size m is a run-time argument). */
function planFor(e: Engine, s: ConvShape): ConvPlan {
  const key = `${s.cIn},${s.inH},${s.inW},${s.cOut},${s.kH},${s.kW},${s.strideH},${s.strideW},${s.padH},${s.padW}`;
  const cached = e.plans.get(key);
  if (cached !== undefined) return cached;
  const p = phaseShape(s);
  const strided = isStrided(s);
  const kern = kernelsFor(e, p);
  const isOwnLayout = !strided && s.padH === 0 && s.padW === 0 && kern.shape.wp === s.inW;
  const plan: ConvPlan = {
    kern,
    p,
    isStrided: strided,
    wPhase: strided ? new Float32Array(p.cOut * p.cIn * p.kH * p.kW) : null,
    tables: isOwnLayout ? null : phaseTables(s, p, kern.shape.hp, kern.shape.wp),
  };
  e.plans.set(key, plan);
  return plan;
}

/** The weights the kernel runs on: W itself, or W' of a strided shape (convPhases.ts). */
function planWeights(plan: ConvPlan, W: Float32Array, s: ConvShape): Float32Array {
  return plan.wPhase === null ? W : phaseWeights(W, s, plan.p, plan.wPhase);
}

/**
 * The scratch regions (in floats) a gathered tensor `v` (x in, or δx out) needs besides its kernel
 * layout: a staging copy when `v` is not resident, and the row and column tables; none when the
 * plan reads x in its own layout.
 */
function gatherSizes(plan: ConvPlan, v: Float32Array | null): [number, number, number] {
  if (plan.tables === null || v === null) return [0, 0, 0];
  return [residentAddress(v) >= 0 ? 0 : v.length, plan.tables.rows.length, plan.tables.cols.length];
}

/**
 * x into the kernel's layout at byte address `xAt`: copied as it is, or gathered by the plan's tables
 * (zeros where the layout has padding) by the WASM layout kernel, from x in place when it is resident,
 * else from a staging copy; `g` are the byte addresses of gatherSizes' regions.
 */
function copyX(views: { heap: Float32Array; heapI32: Int32Array }, x: Float32Array, s: ConvShape, plan: ConvPlan, xAt: number, g: readonly number[]): void {
  const k = plan.kern.shape;
  const t = plan.tables;
  if (t === null) {
    views.heap.set(x, xAt >>> 2);
    return;
  }
  let src = residentAddress(x);
  if (src < 0) {
    src = g[0];
    views.heap.set(x, src >>> 2);
  }
  views.heapI32.set(t.rows, g[1] >>> 2);
  views.heapI32.set(t.cols, g[2] >>> 2);
  zeroWasm(xAt >>> 2, xSize(k, s.m));
  toPhasesWasm(src, xAt, s.m * s.cIn, s.inH, s.inW, g[1], g[2], t.plane);
}

/**
 * Addresses for the regions of one call: a region whose operand is resident (kernelMemory.ts) and
 * already in the kernel's layout (`inPlace[i]` ≥ 0, a byte address) is used where it is; the others
 * are laid out in scratch. Returns byte addresses and the current heap view.
 */
function place(sizes: number[], inPlace: number[]): { at: number[]; heap: Float32Array; heapI32: Int32Array } {
  const { at, end } = layout(sizes.map((n, i) => (inPlace[i] >= 0 ? 0 : n)));
  const s = scratch(end);
  return { at: at.map((a, i) => (inPlace[i] >= 0 ? inPlace[i] : s.at + a)), heap: s.heap, heapI32: s.heapI32 };
}

/** The byte address of x (or δx) when it is resident and the kernel's layout is its own (no tables). */
function xInPlace(x: Float32Array, plan: ConvPlan): number {
  return plan.tables === null ? residentAddress(x) : -1;
}

/** The byte address of z / δz when it is resident and its rows need no padding (outWp = outW). */
function zInPlace(z: Float32Array, s: ConvShape, k: ConvKernelShape): number {
  return k.outWp === s.outW ? residentAddress(z) : -1;
}

/** Bump allocation of the regions of one call, each 64-byte aligned; byte offsets. */
function layout(sizes: number[]): { at: number[]; end: number } {
  const at: number[] = [];
  let p = 0;
  for (const n of sizes) {
    at.push(p);
    p = roundUp(p + n * 4, 64);
  }
  return { at, end: p };
}

const xSize = (k: ConvKernelShape, m: number): number => m * k.cIn * k.hp * k.wp;
const zSize = (k: ConvKernelShape, m: number): number => m * k.cOut * k.outH * k.outWp;

/** Copy `rows` rows of `width` floats between row strides (a plain loop: no subarray objects per row). */
function copyRows(src: Float32Array, srcAt: number, srcStride: number, dst: Float32Array, dstAt: number, dstStride: number, rows: number, width: number): void {
  for (let r = 0; r < rows; r++) {
    const a = srcAt + r * srcStride;
    const b = dstAt + r * dstStride;
    for (let j = 0; j < width; j++) dst[b + j] = src[a + j];
  }
}

/** Copy δz [m, cOut, outH, outW] into rows of outWp floats at float index `at`, zero columns past outW. */
function copyZIn(heap: Float32Array, dz: Float32Array, s: ConvShape, k: ConvKernelShape, at: number): void {
  const { outH, outW } = s;
  const { outWp } = k;
  if (outWp === outW) {
    heap.set(dz, at);
    return;
  }
  const rows = s.m * s.cOut * outH;
  for (let r = 0; r < rows; r++) {
    const a = r * outW;
    const b = at + r * outWp;
    for (let j = 0; j < outW; j++) heap[b + j] = dz[a + j];
    for (let j = outW; j < outWp; j++) heap[b + j] = 0;
  }
}

function requireEngine(where: string): Engine {
  if (engine === undefined) throw new Error(`${where}: call \`await initConvWasm()\` first (and check that it returned true)`);
  return engine;
}

/** Weights [cOut, cIn, kH, kW] → the forward layout [cOut/ob, cIn, kH, kW, ob] at float index `wAt`. */
function copyForwardWeights(heap: Float32Array, W: Float32Array, s: ConvShape, ob: number, wAt: number): void {
  const { cIn, cOut, kH, kW } = s;
  const area = kH * kW;
  for (let o = 0; o < cOut; o++) {
    const blk = Math.floor(o / ob);
    const r = o % ob;
    for (let c = 0; c < cIn; c++) {
      for (let t = 0; t < area; t++) heap[wAt + ((blk * cIn + c) * area + t) * ob + r] = W[(o * cIn + c) * area + t];
    }
  }
}

/** Weights [cOut, cIn, kH, kW] → the deltaX layout [cIn, kH, cOut, kW] at float index `wAt`. */
function copyDeltaXWeights(heap: Float32Array, W: Float32Array, s: ConvShape, wAt: number): void {
  const { cIn, cOut, kH, kW } = s;
  for (let o = 0; o < cOut; o++) {
    for (let c = 0; c < cIn; c++) {
      for (let u = 0; u < kH; u++) {
        const src = ((o * cIn + c) * kH + u) * kW;
        const dst = wAt + ((c * kH + u) * cOut + o) * kW;
        for (let v = 0; v < kW; v++) heap[dst + v] = W[src + v];
      }
    }
  }
}

/** Copy z [m, cOut, outH, outWp] at float index `zAt` out into `out` [m, cOut, outH, outW] (unless it is already there). */
function copyZOut(heap: Float32Array, zAt: number, s: ConvShape, k: ConvKernelShape, out: Float32Array, zIn: number): void {
  if (zIn >= 0) return;
  const { m, cOut, outH, outW } = s;
  if (k.outWp === outW) out.set(heap.subarray(zAt, zAt + m * cOut * outH * outW));
  else copyRows(heap, zAt, k.outWp, out, 0, outW, m * cOut * outH, outW);
}

/** dW out of the kernel's dW at float index `dwAt`: as it is, or gathered from dW' (strided). */
function copyGradWOut(heap: Float32Array, dwAt: number, s: ConvShape, plan: ConvPlan, dW: Float32Array): void {
  if (plan.isStrided) gatherGradW(heap, dwAt, s, plan.p, dW);
  else dW.set(heap.subarray(dwAt, dwAt + dW.length));
}

/**
 * δx out of the kernel's layout at byte address `dxAt` into `out` [m, cIn, inH, inW] (unless the
 * kernel wrote it in place, `dxIn` ≥ 0): copied as it is, or scattered back by the plan's tables with
 * the WASM layout kernel (straight into `out` when it is resident, else through the staging region);
 * `g` are the byte addresses of gatherSizes' regions.
 */
function copyDeltaXOut(views: { heap: Float32Array; heapI32: Int32Array }, dxAt: number, s: ConvShape, plan: ConvPlan, out: Float32Array, dxIn: number, g: readonly number[]): void {
  if (dxIn >= 0) return;
  const t = plan.tables;
  if (t === null) {
    out.set(views.heap.subarray(dxAt >>> 2, (dxAt >>> 2) + out.length));
    return;
  }
  const resident = residentAddress(out);
  const dst = resident >= 0 ? resident : g[0];
  views.heapI32.set(t.rows, g[1] >>> 2);
  views.heapI32.set(t.cols, g[2] >>> 2);
  fromPhasesWasm(dxAt, dst, s.m * s.cIn, s.inH, s.inW, g[1], g[2], t.plane);
  if (resident < 0) out.set(views.heap.subarray(dst >>> 2, (dst >>> 2) + out.length));
}

/**
 * Batches whose x and δz take more than this many bytes run gradW sample by sample (convWat.ts
 * gradWSampleOuter: partial sums in memory between samples, each sample's data reused from L1 by
 * every pass) instead of every pass streaming the whole batch from L2/L3. Same bits either way.
 */
const SAMPLE_OUTER_BYTES = 256 * 1024;

/** Run gradW on operands already placed; `partAt` is a byte address with room for dW.length f32x4 vectors. */
function runGradW(kern: ConvKernels, m: number, heap: Float32Array, xAt: number, zAt: number, dwAt: number, partAt: number): void {
  const k = kern.shape;
  if ((xSize(k, m) + zSize(k, m)) * 4 > SAMPLE_OUTER_BYTES) {
    const nW = k.cOut * k.cIn * k.kH * k.kW;
    zeroWasm(partAt >>> 2, 4 * nW);
    kern.gradWSampleOuter(xAt, zAt, dwAt, m, partAt);
  } else {
    kern.gradW(xAt, zAt, dwAt, m);
  }
}

/**
 * (3.5) z = W ⊛ x + b for the batch; any stride. Overwrites `out` ([m, cOut, outH, outW]). Shapes are
 * checked by the caller (conv2dForward). Resident x / out (kernelMemory.ts) are used in place when
 * their layout is the kernel's.
 */
export function conv2dForwardWasm(x: Float32Array, W: Float32Array, b: Float32Array, s: ConvShape, out: Float32Array): Float32Array {
  const e = requireEngine('conv2dForwardWasm');
  const plan = planFor(e, s);
  const { kern, p } = plan;
  const k = kern.shape;
  const { cOut, m } = s;
  const xIn = xInPlace(x, plan);
  const zIn = zInPlace(out, s, k);
  const views = place([xSize(k, m), cOut * p.cIn * p.kH * p.kW, cOut, zSize(k, m), ...gatherSizes(plan, x)], [xIn, -1, -1, zIn, -1, -1, -1]);
  const { at, heap } = views;
  const [, wAt, bAt, zAt] = at.map((a) => a >>> 2);
  if (xIn < 0) copyX(views, x, s, plan, at[0], at.slice(4));
  copyForwardWeights(heap, planWeights(plan, W, s), p, k.ob, wAt);
  heap.set(b, bAt);
  kern.forward(at[0], at[1], at[2], at[3], m);
  copyZOut(heap, zAt, s, k, out, zIn);
  return out;
}

/**
 * (3.7) dW = Σ_n δz_n ⋆ x_n (overwrites `dW`) and, when `db` is given, db = Σ δz (overwrites it);
 * any stride. Shapes are checked by the caller.
 */
export function conv2dGradWWasm(x: Float32Array, deltaZ: Float32Array, s: ConvShape, dW: Float32Array, db?: Float32Array): Float32Array {
  const e = requireEngine('conv2dGradWWasm');
  const plan = planFor(e, s);
  const { kern, p } = plan;
  const k = kern.shape;
  const { m, cOut } = s;
  const nW = cOut * p.cIn * p.kH * p.kW;
  const xIn = xInPlace(x, plan);
  const zIn = zInPlace(deltaZ, s, k);
  const views = place([xSize(k, m), zSize(k, m), nW, cOut, 4 * nW, ...gatherSizes(plan, x)], [xIn, zIn, -1, -1, -1, -1, -1, -1]);
  const { at, heap } = views;
  const [, zAt, dwAt, dbAt] = at.map((a) => a >>> 2);
  if (xIn < 0) copyX(views, x, s, plan, at[0], at.slice(5));
  if (zIn < 0) copyZIn(heap, deltaZ, s, k, zAt);
  runGradW(kern, m, heap, at[0], at[1], at[2], at[4]);
  copyGradWOut(heap, dwAt, s, plan, dW);
  if (db !== undefined) {
    kern.gradB(at[1], at[3], m);
    db.set(heap.subarray(dbAt, dbAt + cOut));
  }
  return dW;
}

/** (3.7) db = Σ_n Σ_{i,j} δz[n,o,i,j]; overwrites `db`. Any stride; shapes are checked by the caller. */
export function conv2dGradBWasm(deltaZ: Float32Array, s: ConvShape, db: Float32Array): Float32Array {
  const e = requireEngine('conv2dGradBWasm');
  const { kern } = planFor(e, s);
  const k = kern.shape;
  const zIn = zInPlace(deltaZ, s, k);
  const { at, heap } = place([zSize(k, s.m), s.cOut], [zIn, -1]);
  if (zIn < 0) copyZIn(heap, deltaZ, s, k, at[0] >>> 2);
  kern.gradB(at[0], at[1], s.m);
  db.set(heap.subarray(at[1] >>> 2, (at[1] >>> 2) + s.cOut));
  return db;
}

/**
 * (3.6) δx = Σ_o fullConv(dilate_s(δz[o]), rot180(w[o,c])) cropped by the padding; any stride. Overwrites `out`
 * ([m, cIn, inH, inW]). Shapes are checked by the caller.
 */
export function conv2dDeltaXWasm(deltaZ: Float32Array, W: Float32Array, s: ConvShape, out: Float32Array): Float32Array {
  const e = requireEngine('conv2dDeltaXWasm');
  const plan = planFor(e, s);
  const { kern, p } = plan;
  const k = kern.shape;
  const { m } = s;
  const zIn = zInPlace(deltaZ, s, k);
  const dxIn = xInPlace(out, plan);
  const nX = xSize(k, m);
  const wP = planWeights(plan, W, s);
  const views = place([zSize(k, m), wP.length, nX, ...gatherSizes(plan, out)], [zIn, -1, dxIn, -1, -1, -1]);
  const { at, heap } = views;
  const [zAt, wAt, dxAt] = at.map((a) => a >>> 2);
  if (zIn < 0) copyZIn(heap, deltaZ, s, k, zAt);
  copyDeltaXWeights(heap, wP, p, wAt);
  zeroWasm(dxAt, nX);
  kern.deltaX(at[0], at[1], at[2], m);
  copyDeltaXOut(views, at[2], s, plan, out, dxIn, at.slice(3));
  return out;
}

/**
 * (3.6)(3.7) The whole delta step of a convolution in one call: dW and db (overwritten) and, when
 * `deltaX` is given, δx (overwritten) — δz and x are copied into the memory once for all three
 * (not at all when resident in the kernel's layout). Any stride; shapes are checked by the caller.
 */
export function conv2dBackwardWasm(x: Float32Array, deltaZ: Float32Array, W: Float32Array, s: ConvShape, dW: Float32Array, db: Float32Array, deltaX: Float32Array | null): void {
  const e = requireEngine('conv2dBackwardWasm');
  const plan = planFor(e, s);
  const { kern, p } = plan;
  const k = kern.shape;
  const { m, cOut } = s;
  const nX = xSize(k, m);
  const nW = cOut * p.cIn * p.kH * p.kW;
  const xIn = xInPlace(x, plan);
  const zIn = zInPlace(deltaZ, s, k);
  const dxIn = deltaX === null ? -1 : xInPlace(deltaX, plan);
  // x and δx have the same shape, so one set of gather regions serves both (x is done with before δx)
  const stage = gatherSizes(plan, x);
  const stageOut = gatherSizes(plan, deltaX);
  const views = place(
    [nX, zSize(k, m), nW, cOut, deltaX === null ? 0 : nW, deltaX === null ? 0 : nX, 4 * nW, Math.max(stage[0], stageOut[0]), stage[1], stage[2]],
    [xIn, zIn, -1, -1, -1, dxIn, -1, -1, -1, -1],
  );
  const { at, heap } = views;
  const [, zAt, dwAt, dbAt, wAt, dxAt] = at.map((a) => a >>> 2);
  if (xIn < 0) copyX(views, x, s, plan, at[0], at.slice(7));
  if (zIn < 0) copyZIn(heap, deltaZ, s, k, zAt);
  runGradW(kern, m, heap, at[0], at[1], at[2], at[6]);
  kern.gradB(at[1], at[3], m);
  copyGradWOut(heap, dwAt, s, plan, dW);
  db.set(heap.subarray(dbAt, dbAt + cOut));
  if (deltaX === null) return;
  copyDeltaXWeights(heap, planWeights(plan, W, s), p, wAt);
  zeroWasm(dxAt, nX);
  kern.deltaX(at[1], at[4], at[5], m);
  copyDeltaXOut(views, at[5], s, plan, deltaX, dxIn, at.slice(7));
}
