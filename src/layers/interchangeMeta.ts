/**
 * What a model file's `meta` says about the data around the model, as the ONNX and TF.js exports need
 * it — the feature transform `x = (v · scale − a) / b` (docs/model-format.md, `deltaflow train`'s
 * `--scale` and `--normalize`), the regression targets' inverse transform `y = a + b · y'`
 * (`targetNormalize`), the class names, and whether the outputs are logits that `predict` turns into
 * probabilities (a classifier trained with softmax cross-entropy) — checked against the model's sizes.
 *
 * Also the reverse trip: the meta stored inside an ONNX file's metadata, read back as plain JSON data.
 */
import { sizeOf } from '../ops/tensor.js';
import { ModelFileError, type JsonObject, type JsonValue } from './modelFile.js';
import type { Model } from './sequential.js';

/** A per-value affine transform: zscore (a mean, b std) or minmax (a min, b range), one a and b per value. */
export interface AffineStats {
  readonly kind: 'zscore' | 'minmax';
  readonly a: readonly number[];
  readonly b: readonly number[];
}

export interface DataTransforms {
  /** Multiplier of every raw feature (1: none). */
  readonly scale: number;
  /** Per-feature `(x − a) / b` after the scale, one a and b per input value (null: none). */
  readonly normalize: AffineStats | null;
  /** Regression: outputs mapped back as `a + b · y'`, one a and b per output (null: none). */
  readonly targetNormalize: AffineStats | null;
  /** Class names in output order (null: not a classifier, or unknown). */
  readonly classes: readonly string[] | null;
  /** A classifier trained with softmax cross-entropy: `predict` shows softmax probabilities of its outputs. */
  readonly hasLogits: boolean;
}

const isNumberList = (v: JsonValue | undefined): v is number[] => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isFinite(x));
const isStringList = (v: JsonValue | undefined): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

function affine(value: JsonValue | undefined, path: string, n: number, what: string): AffineStats | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'object' || Array.isArray(value)) throw new ModelFileError(path, 'expected null or {kind, a, b}');
  const { kind, a, b } = value as JsonObject;
  if (kind !== 'zscore' && kind !== 'minmax') throw new ModelFileError(`${path}.kind`, `expected "zscore" or "minmax", got ${JSON.stringify(kind)}`);
  if (!isNumberList(a) || a.length !== n) throw new ModelFileError(`${path}.a`, `expected ${n} finite numbers (one per ${what})`);
  if (!isNumberList(b) || b.length !== n || !b.every((d) => d > 0)) throw new ModelFileError(`${path}.b`, `expected ${n} positive numbers (one per ${what})`);
  return { kind, a, b };
}

/**
 * The transforms `meta` describes for `model` (none without meta). A malformed field is a
 * ModelFileError naming it, e.g. `meta.normalize.a: expected 784 finite numbers (one per input value)`.
 *
 * @example const t = dataTransforms(model, { task: 'classify', loss: 'ce', classes: ['a', 'b'], scale: 1 / 255 });
 */
export function dataTransforms(model: Model, meta: JsonObject | undefined): DataTransforms {
  if (meta === undefined) return { scale: 1, normalize: null, targetNormalize: null, classes: null, hasLogits: false };
  const scale = meta.scale ?? 1;
  if (typeof scale !== 'number' || !Number.isFinite(scale) || !(scale > 0)) throw new ModelFileError('meta.scale', `expected a positive number, got ${JSON.stringify(scale)}`);
  const nIn = sizeOf(model.input);
  const nOut = sizeOf(model.outShape);
  const normalize = affine(meta.normalize, 'meta.normalize', nIn, 'input value');
  const isRegression = meta.task === 'regress';
  const targetNormalize = isRegression ? affine(meta.targetNormalize, 'meta.targetNormalize', nOut, 'output') : null;
  const classes = meta.task === 'classify' && isStringList(meta.classes) ? meta.classes : null;
  if (classes !== null && classes.length !== nOut) {
    throw new ModelFileError('meta.classes', `has ${classes.length} names, but the model has ${nOut} outputs`);
  }
  return { scale, normalize, targetNormalize, classes, hasLogits: meta.task === 'classify' && (meta.loss ?? 'ce') === 'ce' };
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const MAX_DEPTH = 64;

function checkPlain(value: unknown, path: string, depth: number): void {
  if (depth > MAX_DEPTH) throw new ModelFileError(path, `nested deeper than ${MAX_DEPTH} levels`);
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v: unknown, i) => checkPlain(v, `${path}[${i}]`, depth + 1));
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (FORBIDDEN_KEYS.has(k)) throw new ModelFileError(path, `forbidden key "${k}"`);
    checkPlain(v, `${path}.${k}`, depth + 1);
  }
}

/** A meta object stored as JSON text (as the ONNX export writes it), parsed and checked as plain JSON data. */
export function metaFromText(text: string, where: string): JsonObject {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ModelFileError(where, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new ModelFileError(where, 'expected a JSON object');
  checkPlain(value, where, 0);
  // JSON.parse builds only plain objects, arrays, strings, finite numbers, booleans and null.
  return value as JsonObject;
}
