/**
 * Numerics during training (RELIABILITY.md D, #31–35): finite checks, the global gradient norm,
 * global-norm clipping, and NonFiniteError, which stops training before a NaN or Inf update is applied.
 *
 *   global norm  ‖g‖ = √(Σ_params Σ_i g_i²)          (float64)
 *   clipping     g ← g · min(1, c / (‖g‖ + 1e-6))     (PyTorch's clip_grad_norm_, so ‖g‖ ≤ c after)
 *
 * When a step goes non-finite, `locateNonFinite` scans the step's record in execution order — the
 * input, each layer's output (forward), the loss, then each layer's incoming δ and its gradients
 * (backward, from the last layer down) — and names the first place a NaN or Inf appears. The scan
 * runs only on failure, while the step's buffers are still valid.
 */
import type { LayerKind } from '../../layers/layer.js';
import { layerName } from '../../layers/shapes.js';
import type { Backward } from './lossHead.js';
import type { RowOrigin } from '../types.js';

/** True when no element is NaN or ±Infinity. */
export function isAllFinite(a: ArrayLike<number>): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return false;
  return true;
}

/** ‖g‖ over every tensor, in float64. */
export function globalNorm(grads: readonly Float32Array[]): number {
  let sq = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) sq += g[i] * g[i];
  return Math.sqrt(sq);
}

/** The factor clipping multiplies the gradients by: min(1, clipNorm / (norm + 1e-6)). */
export function clipFactor(norm: number, clipNorm: number): number {
  return Math.min(1, clipNorm / (norm + 1e-6));
}

/** Where a step first went non-finite. */
export interface NonFiniteLocation {
  /**
   * 'input': the batch itself; 'output'/'delta'/'gradient': of layer `layer`; 'loss': the loss head;
   * 'update': the loss and gradients were finite, but applying the update made layer `layer`'s weights
   * non-finite (an overflow from a huge learning rate); the update was refused and undone.
   */
  readonly where: 'input' | 'output' | 'loss' | 'delta' | 'gradient' | 'update';
  /** The layer index, null for 'input' and 'loss'. */
  readonly layer: number | null;
  readonly kind: LayerKind | null;
}

/** Scan a step's record in execution order for the first NaN/Inf; null when everything is finite. */
export function locateNonFinite(b: Backward): NonFiniteLocation | null {
  if (!isAllFinite(b.batch.x.data)) return { where: 'input', layer: null, kind: null };
  for (const entry of b.tape) {
    if (!isAllFinite(entry.y.data)) return { where: 'output', layer: entry.layer, kind: entry.kind };
  }
  if (!Number.isFinite(b.lossSum)) return { where: 'loss', layer: null, kind: null };
  for (let i = b.tape.length - 1; i >= 0; i--) {
    const { kind } = b.tape[i];
    const delta = b.deltas[i];
    if (delta !== undefined && !isAllFinite(delta.data)) return { where: 'delta', layer: i, kind };
    const grads = b.grads[i];
    if (grads !== undefined && !grads.every(isAllFinite)) return { where: 'gradient', layer: i, kind };
  }
  return null;
}

function describeLocation(at: NonFiniteLocation | null): string {
  if (at === null) return 'no layer output or delta was non-finite';
  if (at.layer === null || at.kind === null) return at.where === 'input' ? 'the input batch holds a non-finite value' : 'the loss itself went non-finite first';
  if (at.where === 'update') return `the update made ${layerName(at.layer, at.kind)} weights non-finite`;
  return `${layerName(at.layer, at.kind)} ${at.where} went non-finite first`;
}

const SHOWN_LINES = 8;

/**
 * The batch's place in words, lines sorted (a shuffled batch holds lines in any order):
 * `train.csv lines 10–41` for consecutive lines, else (every origin known) the first few as well:
 * `32 rows of train.csv lines 10–453 (10, 17, 25, …)`.
 */
export function describeBatchLines(first: RowOrigin, last: RowOrigin, origins?: readonly RowOrigin[]): string {
  const all = origins !== undefined && origins.length > 0 ? origins : [first, last];
  const sources = new Set(all.map((o) => o.source));
  const lines = all.map((o) => o.line).sort((a, b) => a - b);
  const lo = lines[0];
  const hi = lines[lines.length - 1];
  const range = lo === hi ? `line ${lo}` : `lines ${lo}–${hi}`;
  const where = sources.size === 1 ? `${first.source} ${range}` : `${[...sources].join(', ')} ${range}`;
  if (origins === undefined || origins.length <= 2 || hi - lo + 1 === lines.length) return where;
  const shown = lines.slice(0, SHOWN_LINES).join(', ');
  return `${origins.length} rows of ${where} (${shown}${lines.length > SHOWN_LINES ? ', …' : ''})`;
}

/**
 * A step whose loss or gradient norm is NaN or Infinite (or, in checkNumerics mode, any output or δ);
 * thrown before the update, so the weights are those after step `step − 1`.
 */
export class NonFiniteError extends Error {
  /** Lowest and highest line of the offending batch (its rows may be shuffled). */
  readonly firstLine: number;
  readonly lastLine: number;
  /** Every line of the batch, sorted (just first and last when the origins were not given). */
  readonly lines: readonly number[];
  /** The first layer whose output, delta, gradient or (refused) update went non-finite (null: input or loss, or none found). */
  readonly layer: number | null;

  constructor(
    readonly step: number,
    readonly first: RowOrigin,
    readonly last: RowOrigin,
    readonly loss: number,
    readonly gradNorm: number,
    readonly location: NonFiniteLocation | null,
    origins?: readonly RowOrigin[],
  ) {
    const what = location?.where === 'update' ? `${describeLocation(location)} (loss ${loss}, gradient norm ${gradNorm} were finite)` : `loss ${loss}, gradient norm ${gradNorm}`;
    const after = location?.where === 'update' ? `update refused, weights and optimizer state restored to those after step ${step - 1}` : `${describeLocation(location)}; update not applied, weights are those after step ${step - 1}`;
    super(
      `step ${step}: ${what} on the batch of ${describeBatchLines(first, last, origins)}; ${after} ` +
        `(lower the learning rate, set clipNorm, or check the input scaling)`,
    );
    this.name = 'NonFiniteError';
    const lines = (origins !== undefined && origins.length > 0 ? origins : [first, last]).map((o) => o.line).sort((a, b) => a - b);
    this.lines = lines;
    this.firstLine = lines[0];
    this.lastLine = lines[lines.length - 1];
    this.layer = location?.layer ?? null;
  }
}
