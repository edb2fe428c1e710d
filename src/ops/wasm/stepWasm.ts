/**
 * The per-step kernels of step.wat.ts on this thread's kernel memory: gradient averaging (one pass
 * over the Σ-gradients: average, finite check through the returned sums, Σ avg²) and the optimizer
 * update (one pass over each parameter: clipping factor, slots and weights), plus the extrema the
 * overflow guard bounds the update with (optimizers.ts). Equations and numbers: step.wat.ts.
 *
 * Operands that are resident views (kernelMemory.ts: the averaging buffers, the optimizer slots) are
 * used in place; the others (a model's weights, gradients from elsewhere) are copied through scratch
 * and, when written, copied back. Each function works on one tensor; the callers loop over the
 * parameters in model order, so the float64 totals are added in a fixed order.
 *
 * NOTE: module state (one instance per thread), as in elementwiseWasm.ts; the gradient workers do not
 * need it (the update runs where the model's weights are, on the thread that applies the optimizer).
 */
import { assembleWat } from './assembleWat.js';
import { heapViews, initKernelMemory, kernelArena, residentAddress, scratch } from './kernelMemory.js';
import { STEP_RULES, stepWat } from './step.wat.js';

declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
};

type Fn = (...args: number[]) => number;

interface StepKernels {
  readonly avgDirect: Fn;
  readonly accumulate: Fn;
  readonly divideSums: Fn;
  readonly maxAbs: Fn;
  readonly minBits: Fn;
  readonly update: Readonly<Record<string, Fn>>;
}

let kernels: StepKernels | undefined;
let pending: Promise<boolean> | undefined;

/** Assemble the module on this thread's kernel memory; resolves false when the kernel memory is unavailable. Safe to call again. */
export function initStepWasm(): Promise<boolean> {
  pending ??= (async () => {
    if (!(await initKernelMemory())) return false;
    const a = kernelArena();
    if (a === undefined) return false;
    const binary = assembleWat(stepWat());
    const ex = new WebAssembly.Instance(new WebAssembly.Module(binary), { env: { memory: a.memory } }).exports;
    const fn = (name: string): Fn => {
      const f = ex[name];
      if (typeof f !== 'function') throw new Error(`stepWasm: the assembled module does not export ${name}`);
      return f as Fn;
    };
    kernels = {
      avgDirect: fn('avgDirect'),
      accumulate: fn('accumulate'),
      divideSums: fn('divideSums'),
      maxAbs: fn('maxAbs'),
      minBits: fn('minBits'),
      update: Object.fromEntries(Object.keys(STEP_RULES).map((kind) => [kind, fn(kind)])),
    };
    return true;
  })();
  return pending;
}

/** True once initStepWasm() has resolved true in this thread. */
export function stepWasmReady(): boolean {
  return kernels !== undefined;
}

function requireKernels(where: string): StepKernels {
  if (kernels === undefined) throw new Error(`${where}: call \`await initStepWasm()\` first`);
  return kernels;
}

type Operand = Float32Array | Float64Array;

/**
 * Byte addresses for the operands of one call: resident ones in place, the others in scratch
 * (inputs copied in; outputs are copied out by copyBack). Returns the addresses.
 */
function place(operands: readonly Operand[], inputs: number): number[] {
  const at = operands.map((v) => residentAddress(v));
  let need = 0;
  for (let i = 0; i < operands.length; i++) if (at[i] < 0) need += Math.ceil(operands[i].byteLength / 64) * 64 + 64;
  if (need === 0) return at;
  const s = scratch(need);
  let next = s.at;
  for (let i = 0; i < operands.length; i++) {
    if (at[i] >= 0) continue;
    at[i] = next;
    next += Math.ceil(operands[i].byteLength / 64) * 64 + 64;
    if (i < inputs) copyIn(operands[i], at[i]);
  }
  return at;
}

function copyIn(v: Operand, at: number): void {
  const { heap } = heapViews();
  if (v instanceof Float32Array) heap.set(v, at >>> 2);
  else new Float64Array(heap.buffer, at, v.length).set(v);
}

/** Copy the non-resident operands among `operands[from…]` out of the heap. */
function copyBack(operands: readonly Operand[], at: readonly number[], from: number): void {
  const { heap } = heapViews();
  for (let i = from; i < operands.length; i++) {
    const v = operands[i];
    if (residentAddress(v) >= 0) continue;
    if (v instanceof Float32Array) v.set(heap.subarray(at[i] >>> 2, (at[i] >>> 2) + v.length));
    else v.set(new Float64Array(heap.buffer, at[i], v.length));
  }
}

/**
 * 1/count when it is an exact float32 for which g·(1/count) rounds like g / count for every g: count
 * a power of two 2ᵏ with 2⁻ᵏ a normal float32 (|k| ≤ 126); 0 otherwise.
 */
export function exactReciprocal(count: number): number {
  if (!(count > 0) || !Number.isFinite(count)) return 0;
  const k = Math.log2(count);
  return Number.isInteger(k) && Math.abs(k) <= 126 && 2 ** k === count ? 2 ** -k : 0;
}

/** avg = float32(g / count) elementwise; returns Σ avg² (float64, the order of step.wat.ts). Lengths are checked by the caller. */
export function averageDirectWasm(g: Float32Array, avg: Float32Array, count: number): number {
  const k = requireKernels('averageDirectWasm');
  const ops = [g, avg];
  const at = place(ops, 1);
  const sq = k.avgDirect(at[0], at[1], g.length, count, exactReciprocal(count));
  copyBack(ops, at, 1);
  return sq;
}

/** s += g elementwise in float64; returns Σ g (float64: finite exactly when every g is). Lengths are checked by the caller. */
export function accumulateWasm(g: Float32Array, s: Float64Array): number {
  const k = requireKernels('accumulateWasm');
  const ops: Operand[] = [g, s];
  const at = place(ops, 2);
  const total = k.accumulate(at[0], at[1], g.length);
  copyBack(ops, at, 1);
  return total;
}

/** avg = float32(s / count) elementwise, then s = 0; returns Σ avg² (float64). Lengths are checked by the caller. */
export function divideSumsWasm(s: Float64Array, avg: Float32Array, count: number): number {
  const k = requireKernels('divideSumsWasm');
  const ops: Operand[] = [s, avg];
  const at = place(ops, 1);
  const sq = k.divideSums(at[0], at[1], s.length, count);
  copyBack(ops, at, 0);
  return sq;
}

/** What the overflow guard bounds an update with: maxima of |p|, |g| and |slot k| over all parameters, and the minima of the slots that must stay ≥ 0. */
export interface UpdateExtrema {
  readonly p: number;
  readonly g: number;
  /** max |slot k| over the parameters, k in the rule's slot order (NaN when some value is NaN). */
  readonly slotMax: readonly number[];
  /** For a slot the rule needs non-negative (Adam's v): its least value, negative when some value is negative or −0; −Infinity (not measured) for the others. */
  readonly slotMin: readonly number[];
}

/**
 * The guarded update of every parameter j: all operands placed once (the weights copied in when they
 * are not resident), then the extrema measured and handed to `isSafe`; when it answers true, every
 * parameter is updated in place (updateWasm's contract, factor included) and the result is true;
 * otherwise nothing is written and the result is false. `slots[j]` are parameter j's slots in the
 * rule's order. NaN extrema stay NaN (any comparison with them is false). Lengths are checked by the caller.
 */
export function guardedUpdateWasm(
  kind: string,
  params: readonly Float32Array[],
  grads: readonly Float32Array[],
  slots: readonly (readonly Float32Array[])[],
  consts: readonly number[],
  factor: number,
  isSafe: (e: UpdateExtrema) => boolean,
): boolean {
  const k = requireKernels('guardedUpdateWasm');
  const rule = STEP_RULES[kind];
  const f = k.update[kind];
  if (rule === undefined || f === undefined) throw new Error(`guardedUpdateWasm: no update kernel for ${kind}`);
  const nSlots = rule.slots.length;
  // the calls below are written for the three rules: sgd (no slot, 1 constant), momentum (1, 2), adam (2, 7)
  if (consts.length !== rule.consts.length || consts.length !== [1, 2, 7][nSlots]) {
    throw new Error(`guardedUpdateWasm: ${kind} takes ${rule.consts.length} constants, got ${consts.length}`);
  }
  const ops: Float32Array[] = [];
  for (let j = 0; j < params.length; j++) {
    ops.push(params[j], grads[j]);
    for (const slot of slots[j]) ops.push(slot);
  }
  const at = place(ops, ops.length);
  const width = 2 + nSlots;
  let p = 0;
  let g = 0;
  const slotMax = new Array<number>(nSlots).fill(0);
  const slotMin = rule.slots.map((name) => (rule.nonNegative.includes(name) ? Infinity : -Infinity));
  // Math.max / Math.min propagate NaN, as the kernels do
  for (let j = 0; j < params.length; j++) {
    const n = params[j].length;
    p = Math.max(p, k.maxAbs(at[j * width], n));
    g = Math.max(g, k.maxAbs(at[j * width + 1], n));
    for (let q = 0; q < nSlots; q++) {
      slotMax[q] = Math.max(slotMax[q], k.maxAbs(at[j * width + 2 + q], n));
      if (slotMin[q] !== -Infinity) slotMin[q] = Math.min(slotMin[q], k.minBits(at[j * width + 2 + q], n));
    }
  }
  if (!isSafe({ p, g, slotMax, slotMin })) return false;
  // argument lists written out per slot count: no spread arrays per parameter and step
  const [c0, c1, c2, c3, c4, c5, c6] = consts;
  for (let j = 0; j < params.length; j++) {
    const base = j * width;
    const n = params[j].length;
    if (nSlots === 0) f(at[base], at[base + 1], n, c0, factor);
    else if (nSlots === 1) f(at[base], at[base + 1], at[base + 2], n, c0, c1, factor);
    else f(at[base], at[base + 1], at[base + 2], at[base + 3], n, c0, c1, c2, c3, c4, c5, c6, factor);
  }
  // the weights and slots back where they are not resident (the gradients were only read)
  const { heap } = heapViews();
  for (let i = 0; i < ops.length; i++) {
    const v = ops[i];
    if (i % width === 1 || residentAddress(v) >= 0 || !(v instanceof Float32Array)) continue;
    v.set(heap.subarray(at[i] >>> 2, (at[i] >>> 2) + v.length));
  }
  return true;
}
