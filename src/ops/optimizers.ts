/**
 * Update rules: each a small function over one parameter, its averaged gradient and its state
 * slots, kept in a map by kind (no if/else chain on method names, STYLE.md §9).
 *
 *   sgd       (1.6)  p ← p − η·g                       where g = (1/m) Σ_x ∂C_x/∂p
 *   momentum  (PyTorch SGD, dampening 0)  v ← μ·v + g;  p ← p − η·v      (v starts at 0, so v₁ = g)
 *   adam      (PyTorch Adam, Kingma & Ba 2015)
 *             m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
 *             p ← p − (η / (1−β1^t)) · m / (√v / √(1−β2^t) + ε)        (t = 1, 2, … the update count)
 *
 * Layout: `p`, `g` and every slot are flat Float32Arrays of the parameter's length. Each element is
 * computed in float64 and rounded once when stored (so sgd is exactly `p[i] − η·g[i]` rounded to
 * float32). Rules overwrite `p` and the slots in place; they read `g` only.
 *
 * State: one OptimizerState per training run holds the update count t and every slot; it is plain
 * data, so `exportOptimizerState` / `restoreOptimizerState` can put it in a checkpoint and resume
 * bit for bit. Its slots live in the kernel memory when the kernels are on (wasm/kernelMemory.ts),
 * so the WASM update reads and writes them in place.
 *
 * Two implementations of one update: the rules below (TypeScript, the reference) and the WASM kernel
 * (wasm/step.wat.ts: the same float64 operations in the same order, so the same bits), which
 * `applyUpdateFast` runs only when the overflow bound (`isUpdateSafe`) proves no weight or slot can
 * leave the float32 range — so the caller's guard (save, update, check, restore) is needed only on
 * the reference path.
 */
import { kernelF32 } from './averaging.js';
import { ShapeError } from './tensor.js';
import { guardedUpdateWasm, stepWasmReady, type UpdateExtrema } from './wasm/stepWasm.js';

export interface SgdConfig {
  readonly kind: 'sgd';
  /** Learning rate η. */
  readonly lr: number;
}

export interface MomentumConfig {
  readonly kind: 'momentum';
  readonly lr: number;
  /** μ, PyTorch's `momentum`. */
  readonly momentum: number;
}

export interface AdamConfig {
  readonly kind: 'adam';
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
}

/** An optimizer as plain data: what `sgd({ lr: 0.05 })` returns. */
export type OptimizerConfig = SgdConfig | MomentumConfig | AdamConfig;
export type OptimizerKind = OptimizerConfig['kind'];
type ConfigOf<K extends OptimizerKind> = Extract<OptimizerConfig, { readonly kind: K }>;

/** One update rule: how many state slots a parameter needs, and the in-place update. */
export interface UpdateRule<C extends OptimizerConfig> {
  readonly nSlots: number;
  /**
   * Update `p` from `g` with learning rate `lr` (the config's lr times the schedule factor) at
   * update count `t` (1-based). Overwrites `p` and `slots`.
   */
  update(p: Float32Array, g: Float32Array, slots: readonly Float32Array[], config: C, lr: number, t: number): void;
}

const sgdRule: UpdateRule<SgdConfig> = {
  nSlots: 0,
  update(p, g, _slots, _config, lr) {
    // (1.6) W ← W − η · (1/m)Σ, the average already in g
    for (let i = 0; i < p.length; i++) p[i] -= lr * g[i];
  },
};

const momentumRule: UpdateRule<MomentumConfig> = {
  nSlots: 1,
  update(p, g, [v], config, lr) {
    const mu = config.momentum;
    for (let i = 0; i < p.length; i++) {
      v[i] = mu * v[i] + g[i];
      p[i] -= lr * v[i];
    }
  },
};

const adamRule: UpdateRule<AdamConfig> = {
  nSlots: 2,
  update(p, g, [m, v], config, lr, t) {
    const { beta1, beta2, eps } = config;
    // NOTE: written as PyTorch's adam does it (step_size, denom), so its numbers are reproduced.
    const stepSize = lr / (1 - beta1 ** t);
    const bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    for (let i = 0; i < p.length; i++) {
      const gi = g[i];
      m[i] = beta1 * m[i] + (1 - beta1) * gi;
      v[i] = beta2 * v[i] + (1 - beta2) * gi * gi;
      p[i] -= (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2Sqrt + eps);
    }
  },
};

type RuleTable = { readonly [K in OptimizerKind]: UpdateRule<ConfigOf<K>> };

/** The update rules by kind. */
export const updateRules: RuleTable = { sgd: sgdRule, momentum: momentumRule, adam: adamRule };

function ruleOf<K extends OptimizerKind>(kind: K): UpdateRule<ConfigOf<K>> {
  return updateRules[kind];
}

function checkPositive(where: string, name: string, value: number): void {
  if (!(Number.isFinite(value) && value > 0)) throw new RangeError(`${where}: ${name} must be a positive finite number, got ${value}`);
}

function checkUnit(where: string, name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0 && value < 1)) throw new RangeError(`${where}: ${name} must be in [0, 1), got ${value}`);
}

/**
 * Plain mini-batch SGD (1.6); with `momentum` > 0 it is the momentum optimizer.
 *
 * @example train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.05 }) })
 */
export function sgd(options: { lr: number; momentum?: number }): SgdConfig | MomentumConfig {
  checkPositive('sgd', 'lr', options.lr);
  if (options.momentum !== undefined && options.momentum !== 0) return momentum({ lr: options.lr, momentum: options.momentum });
  return { kind: 'sgd', lr: options.lr };
}

/** SGD with momentum, PyTorch's convention: v ← μv + g; p ← p − ηv. @example momentum({ lr: 0.01, momentum: 0.9 }) */
export function momentum(options: { lr: number; momentum?: number }): MomentumConfig {
  checkPositive('momentum', 'lr', options.lr);
  const mu = options.momentum ?? 0.9;
  checkUnit('momentum', 'momentum', mu);
  return { kind: 'momentum', lr: options.lr, momentum: mu };
}

/** Adam with PyTorch's defaults (lr 1e-3, β1 0.9, β2 0.999, ε 1e-8) and bias correction. @example adam({ lr: 1e-3 }) */
export function adam(options: { lr?: number; beta1?: number; beta2?: number; eps?: number } = {}): AdamConfig {
  const lr = options.lr ?? 1e-3;
  const beta1 = options.beta1 ?? 0.9;
  const beta2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  checkPositive('adam', 'lr', lr);
  checkUnit('adam', 'beta1', beta1);
  checkUnit('adam', 'beta2', beta2);
  checkPositive('adam', 'eps', eps);
  return { kind: 'adam', lr, beta1, beta2, eps };
}

/** An optimizer's whole state: the number of updates applied and each parameter's slots. */
export interface OptimizerState {
  readonly kind: OptimizerKind;
  /** Updates applied so far (Adam's t after the last update). */
  t: number;
  /** `slots[j]` are parameter j's state buffers (momentum: [v]; adam: [m, v]; sgd: none). */
  readonly slots: readonly (readonly Float32Array[])[];
}

/** Fresh state for `config` over parameters of the given lengths (slots zero; in the kernel memory when the kernels are on). */
export function createOptimizerState(config: OptimizerConfig, paramLengths: readonly number[]): OptimizerState {
  const { nSlots } = ruleOf(config.kind);
  return {
    kind: config.kind,
    t: 0,
    slots: paramLengths.map((n) => Array.from({ length: nSlots }, () => kernelF32(n))),
  };
}

function checkUpdate(where: string, config: OptimizerConfig, state: OptimizerState, params: readonly Float32Array[], grads: readonly Float32Array[]): void {
  if (state.kind !== config.kind) throw new Error(`${where}: optimizer state is for ${state.kind}, the optimizer is ${config.kind}`);
  if (params.length !== grads.length || params.length !== state.slots.length) {
    throw new ShapeError(where, `${params.length} gradients and state entries`, `${grads.length} gradients, ${state.slots.length} state entries`);
  }
  params.forEach((p, j) => {
    if (grads[j].length !== p.length) throw new ShapeError(`${where}: parameter ${j}`, [p.length], [grads[j].length], 'gradient');
  });
}

/**
 * One update of every parameter: t ← t + 1, then each (p, g) pair through the rule of `config.kind`.
 * `lr` is the learning rate for this update (config.lr × schedule factor).
 */
export function applyUpdate(config: OptimizerConfig, state: OptimizerState, params: readonly Float32Array[], grads: readonly Float32Array[], lr: number): void {
  checkUpdate('applyUpdate', config, state, params, grads);
  const rule = ruleOf(config.kind);
  state.t += 1;
  params.forEach((p, j) => rule.update(p, grads[j], state.slots[j], config, lr, state.t));
}

/** A bound below float32's largest finite value (≈ 2¹²⁸) with room for the bound's own roundings. */
const SAFE = 2 ** 126;
/** Relative slack for the roundings inside an update (each well below 2⁻²³). */
const SLACK = 1 + 2 ** -20;

/**
 * Whether update `t` (1-based) at learning rate `lr` provably keeps every weight and slot finite,
 * from the magnitudes it starts from (`e`: max |p| and max |g| over every parameter, max |slot| and
 * min slot per slot kind). True only when every new value stays below 2¹²⁶:
 *   sgd       |p − lr·g| ≤ P + lr·G
 *   momentum  |μv + g| ≤ V + G;  |p − lr·v| ≤ P + lr·(V + G)
 *   adam      |β1·m + (1−β1)·g| ≤ M + G;  0 ≤ β2·v + (1−β2)·g² ≤ V + G² (v ≥ 0 given);
 *             |stepSize·m / (√v/√(1−β2^t) + ε)| ≤ stepSize·(M + G)/ε
 * NaN or infinite inputs are never safe. Clipping only shrinks g, so G bounds the clipped one too.
 *
 * @example isUpdateSafe(sgd({ lr: 0.1 }), 0.1, 1, { p: 2, g: 5, slotMax: [], slotMin: [] }) // true
 */
export function isUpdateSafe(config: OptimizerConfig, lr: number, t: number, e: UpdateExtrema): boolean {
  const within = (x: number): boolean => x <= SAFE;
  const { p: P, g: G } = e;
  // a schedule may give any factor: the bounds take |lr|
  const L = Math.abs(lr);
  if (!(within(P) && within(G) && within(L))) return false;
  switch (config.kind) {
    case 'sgd':
      return within((P + L * G) * SLACK);
    case 'momentum': {
      const V = (e.slotMax[0] + G) * SLACK;
      return within(V) && within((P + L * V) * SLACK);
    }
    case 'adam': {
      const M = (e.slotMax[0] + G) * SLACK;
      const V = (e.slotMax[1] + G * G) * SLACK;
      const stepSize = L / (1 - config.beta1 ** t);
      return e.slotMin[1] >= 0 && within(M) && within(V) && within((P + (stepSize * M) / config.eps) * SLACK);
    }
  }
}

/** The float64 constants of update `t` in the kernel's argument order (wasm/step.wat.ts), computed as the rules compute them. */
function updateConstants(config: OptimizerConfig, lr: number, t: number): number[] {
  switch (config.kind) {
    case 'sgd':
      return [lr];
    case 'momentum':
      return [lr, config.momentum];
    case 'adam': {
      const { beta1, beta2, eps } = config;
      return [beta1, 1 - beta1, beta2, 1 - beta2, lr / (1 - beta1 ** t), Math.sqrt(1 - beta2 ** t), eps];
    }
  }
}

/**
 * applyUpdate on the gradients scaled by `factor` (the clipping factor, 1 when not clipping: each
 * gradient is float32(g·factor), as a clipped copy holds it), one WASM pass per parameter — when the
 * WASM kernels are on and `isUpdateSafe` proves the update stays finite. Then it has updated every
 * weight, slot and t, bitwise as applyUpdate on the clipped copy, and returns true; otherwise it
 * changes nothing and returns false (the caller runs the guarded reference path).
 *
 * @example if (!applyUpdateFast(config, state, params, grads, lr, 1)) guardedReferenceUpdate();
 */
export function applyUpdateFast(config: OptimizerConfig, state: OptimizerState, params: readonly Float32Array[], grads: readonly Float32Array[], lr: number, factor: number): boolean {
  if (!stepWasmReady()) return false;
  checkUpdate('applyUpdateFast', config, state, params, grads);
  state.slots.forEach((slots, j) => {
    slots.forEach((s, k) => {
      if (s.length !== params[j].length) throw new ShapeError(`applyUpdateFast: parameter ${j} slot ${k}`, [params[j].length], [s.length]);
    });
  });
  if (!(factor > 0 && factor <= 1)) throw new RangeError(`applyUpdateFast: factor must be in (0, 1], got ${factor}`);
  const t = state.t + 1;
  const isApplied = guardedUpdateWasm(config.kind, params, grads, state.slots, updateConstants(config, lr, t), factor, (e) => isUpdateSafe(config, lr, t, e));
  if (isApplied) state.t = t;
  return isApplied;
}

/** A checkpointable copy of the state: plain arrays, JSON-serializable, float32 values exact. */
export interface OptimizerStateJson {
  readonly kind: OptimizerKind;
  readonly t: number;
  readonly slots: number[][][];
}

/**
 * A saved state to restore: slots as plain arrays (from JSON) or as typed arrays (from a binary
 * checkpoint). Prefer Float32Arrays: they carry every bit, -0 included, which JSON text does not.
 */
export interface SavedOptimizerState {
  readonly kind: OptimizerKind;
  readonly t: number;
  readonly slots: readonly (readonly ArrayLike<number>[])[];
}

/** Copy the state out (for a checkpoint). @example JSON.stringify(exportOptimizerState(state)) */
export function exportOptimizerState(state: OptimizerState): OptimizerStateJson {
  return { kind: state.kind, t: state.t, slots: state.slots.map((slots) => slots.map((s) => Array.from(s))) };
}

/**
 * Copy a saved state back into `state` (same kind and sizes), so training resumes bit for bit.
 *
 * @example restoreOptimizerState(training.optimizer, { kind: 'adam', t: 120, slots: [[m0, v0], [m1, v1]] })
 */
export function restoreOptimizerState(state: OptimizerState, saved: SavedOptimizerState): void {
  if (saved.kind !== state.kind) throw new Error(`restoreOptimizerState: saved state is for ${saved.kind}, expected ${state.kind}`);
  if (!(Number.isSafeInteger(saved.t) && saved.t >= 0)) throw new RangeError(`restoreOptimizerState: t must be a non-negative integer, got ${saved.t}`);
  if (saved.slots.length !== state.slots.length) {
    throw new ShapeError('restoreOptimizerState', `${state.slots.length} parameters`, `${saved.slots.length}`);
  }
  state.slots.forEach((slots, j) => {
    const from = saved.slots[j];
    if (from.length !== slots.length) throw new ShapeError(`restoreOptimizerState: parameter ${j}`, `${slots.length} slots`, `${from.length}`);
    slots.forEach((s, k) => {
      if (from[k].length !== s.length) throw new ShapeError(`restoreOptimizerState: parameter ${j} slot ${k}`, [s.length], [from[k].length]);
    });
  });
  // Checked everything first, so a mismatch leaves `state` untouched.
  state.slots.forEach((slots, j) => slots.forEach((s, k) => s.set(saved.slots[j][k])));
  state.t = saved.t;
}
