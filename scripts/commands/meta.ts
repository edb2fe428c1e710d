/**
 * The data description a trained model carries in its file's `meta`, so that `evaluate`, `predict` and
 * `online` read new CSV exactly as training did: which columns are the label (or regression targets)
 * and the features, the class names in output order, the input shape, and the feature transform
 * `x = (v · scale − a) / b` (`normalize` null: `x = v · scale`). A regression model trained with
 * `--normalize zscore|minmax` also carries `targetNormalize`: it learned `y' = (y − a) / b` per target,
 * so its outputs are mapped back as `y = a + b · y'` (targets.ts). The key is absent otherwise.
 *
 *   {"task": "classify", "loss": "ce", "label": ["label"], "features": ["p0", …], "classes": ["0", …, "9"],
 *    "classesAreIndices": true, "shape": [1, 28, 28], "scale": 0.00392…, "normalize": null, "training": {…}}
 */
import type { JsonObject, JsonValue } from '../../src/layers/modelFile.js';
import type { CsvSourceOptions } from '../../src/streams/sources/fromCsv.js';
import { meanSquaredError, softmaxCrossEntropy, type Loss } from '../../src/streams/training/lossHead.js';
import { CliError } from './args.js';

export type Task = 'classify' | 'regress';
export type LossName = 'ce' | 'mse';

export interface Normalization {
  readonly kind: 'zscore' | 'minmax';
  readonly a: readonly number[];
  readonly b: readonly number[];
}

export interface DataMeta {
  readonly task: Task;
  readonly loss: LossName;
  /** The label column (classification) or the target columns (regression), by name. */
  readonly label: readonly string[];
  /** Feature columns by name, in input order. */
  readonly features: readonly string[];
  /** Class names in output order (null for regression). */
  readonly classes: readonly string[] | null;
  /** Labels are the integers 0..k−1 (the names are their decimal text); otherwise labels are the names. */
  readonly classesAreIndices: boolean;
  /** Per-sample input shape. */
  readonly shape: readonly number[];
  readonly scale: number;
  readonly normalize: Normalization | null;
  /** Regression: the targets' transform `y' = (y − a) / b`, one a and b per target; null: raw targets. */
  readonly targetNormalize: Normalization | null;
}

export const losses: { readonly [K in LossName]: () => Loss } = { ce: softmaxCrossEntropy, mse: meanSquaredError };

/** Meta as stored in the model file (plus whatever extra JSON the caller adds). */
export function metaToJson(meta: DataMeta, extra: JsonObject = {}): JsonObject {
  return {
    task: meta.task,
    loss: meta.loss,
    label: [...meta.label],
    features: [...meta.features],
    classes: meta.classes === null ? null : [...meta.classes],
    classesAreIndices: meta.classesAreIndices,
    shape: [...meta.shape],
    scale: meta.scale,
    normalize: meta.normalize === null ? null : { kind: meta.normalize.kind, a: [...meta.normalize.a], b: [...meta.normalize.b] },
    // Only when set, so a model (and a checkpoint's config) without it is written exactly as before.
    ...(meta.targetNormalize === null ? {} : { targetNormalize: { kind: meta.targetNormalize.kind, a: [...meta.targetNormalize.a], b: [...meta.targetNormalize.b] } }),
    ...extra,
  };
}

const isStringList = (v: JsonValue | undefined): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');
const isNumberList = (v: JsonValue | undefined): v is number[] => Array.isArray(v) && v.every((s) => typeof s === 'number');

/**
 * The data description of a model file's meta, or null when the file has none (a model not written by
 * `deltaflow train`). A meta that is present but malformed is an error naming the file and the field.
 */
export function metaFromJson(meta: JsonObject | undefined, file: string): DataMeta | null {
  if (meta === undefined || meta.task === undefined) return null;
  const bad = (field: string, rule: string): never => {
    throw new CliError(`${file}: meta.${field} must be ${rule}`);
  };
  const { task, loss, label, features, classes, classesAreIndices, shape, scale, normalize, targetNormalize } = meta;
  if (task !== 'classify' && task !== 'regress') return bad('task', '"classify" or "regress"');
  if (loss !== 'ce' && loss !== 'mse') return bad('loss', '"ce" or "mse"');
  if (!isStringList(label) || label.length === 0) return bad('label', 'a non-empty list of column names');
  if (!isStringList(features) || features.length === 0) return bad('features', 'a non-empty list of column names');
  if (task === 'classify' && (!isStringList(classes) || classes.length < 1)) return bad('classes', 'a list of class names');
  if (!isNumberList(shape) || shape.length === 0) return bad('shape', 'a list of positive integers');
  if (typeof scale !== 'number' || !(scale > 0)) return bad('scale', 'a positive number');
  let norm: Normalization | null = null;
  if (normalize !== null && normalize !== undefined) {
    if (typeof normalize !== 'object' || Array.isArray(normalize)) return bad('normalize', 'null or {kind, a, b}');
    const { kind, a, b } = normalize as JsonObject;
    if (kind !== 'zscore' && kind !== 'minmax') return bad('normalize.kind', '"zscore" or "minmax"');
    if (!isNumberList(a) || !isNumberList(b) || a.length !== features.length || b.length !== features.length) {
      return bad('normalize', `{kind, a, b} with ${features.length} numbers in a and b`);
    }
    norm = { kind, a, b };
  }
  let targetNorm: Normalization | null = null;
  if (targetNormalize !== null && targetNormalize !== undefined) {
    if (task !== 'regress') return bad('targetNormalize', 'absent for a classification model');
    if (typeof targetNormalize !== 'object' || Array.isArray(targetNormalize)) return bad('targetNormalize', 'null or {kind, a, b}');
    const { kind, a, b } = targetNormalize as JsonObject;
    if (kind !== 'zscore' && kind !== 'minmax') return bad('targetNormalize.kind', '"zscore" or "minmax"');
    if (!isNumberList(a) || !isNumberList(b) || a.length !== label.length || b.length !== label.length || !b.every((d) => d > 0)) {
      return bad('targetNormalize', `{kind, a, b} with ${label.length} numbers in a and ${label.length} positive numbers in b`);
    }
    targetNorm = { kind, a, b };
  }
  return {
    task,
    loss,
    label,
    features,
    classes: task === 'classify' && isStringList(classes) ? classes : null,
    classesAreIndices: classesAreIndices === true,
    shape,
    scale,
    normalize: norm,
    targetNormalize: targetNorm,
  };
}

/** fromCsv options that read a CSV the way `meta` describes (columns by name, so their order may differ). */
export function csvOptions(meta: DataMeta, name?: string): CsvSourceOptions {
  const shape = meta.shape.length === 3 ? ([meta.shape[0], meta.shape[1], meta.shape[2]] as const) : undefined;
  const common = {
    ...(name === undefined ? {} : { name }),
    features: meta.features,
    scale: meta.scale,
    ...(meta.normalize === null ? {} : { normalize: meta.normalize }),
    ...(shape === undefined ? {} : { shape }),
  };
  if (meta.task === 'regress') return { ...common, task: 'regress', targets: meta.label };
  const classes = meta.classes ?? [];
  return { ...common, task: 'classify', label: meta.label[0], classes: meta.classesAreIndices ? classes.length : classes };
}

/** Number of model outputs the data needs: classes, or regression targets. */
export function outputCount(meta: DataMeta): number {
  return meta.task === 'classify' ? (meta.classes?.length ?? 0) : meta.label.length;
}
