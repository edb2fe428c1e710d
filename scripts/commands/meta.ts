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
 * What a model file's meta says about its data. A file written by `deltaflow train` says everything
 * (a DataMeta); one written by the library's `saveModel(path, model, meta)` may say part of it — e.g.
 * `{ classes: [...], scale: 1 / 255 }` — and the commands that read data with it take the rest from
 * their options, the data and the defaults, and say what they could not find (`missingMetaHint`).
 */
export type MetaHints = { -readonly [K in keyof DataMeta]?: DataMeta[K] };

const META_KEYS = ['task', 'loss', 'label', 'features', 'classes', 'classesAreIndices', 'shape', 'scale', 'normalize', 'targetNormalize'] as const;

function normalization(v: JsonValue, width: number | undefined, field: string, bad: (field: string, rule: string) => never): Normalization {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return bad(field, 'null or {kind, a, b}');
  const { kind, a, b } = v as JsonObject;
  if (kind !== 'zscore' && kind !== 'minmax') return bad(`${field}.kind`, '"zscore" or "minmax"');
  if (!isNumberList(a) || !isNumberList(b) || a.length !== b.length || (width !== undefined && a.length !== width)) {
    return bad(field, `{kind, a, b} with ${width ?? 'as many'} numbers in a and b${width === undefined ? ' as each other' : ''}`);
  }
  return { kind, a, b };
}

/**
 * The data description in a model file's meta, complete or partial, or null when it says nothing about
 * the data. Every key that is present must be well-formed (an error names the file and the field).
 */
export function metaHints(meta: JsonObject | undefined, file: string): MetaHints | null {
  if (meta === undefined || !META_KEYS.some((k) => meta[k] !== undefined)) return null;
  const bad = (field: string, rule: string): never => {
    throw new CliError(`${file}: meta.${field} must be ${rule}`);
  };
  const h: MetaHints = {};
  const { task, loss, label, features, classes, classesAreIndices, shape, scale, normalize, targetNormalize } = meta;
  if (task !== undefined) h.task = task === 'classify' || task === 'regress' ? task : bad('task', '"classify" or "regress"');
  if (loss !== undefined) h.loss = loss === 'ce' || loss === 'mse' ? loss : bad('loss', '"ce" or "mse"');
  if (label !== undefined) {
    // A library user may write one label column as a string.
    if (typeof label === 'string' && label !== '') h.label = [label];
    else h.label = isStringList(label) && label.length > 0 ? label : bad('label', 'a non-empty list of column names');
  }
  if (features !== undefined) h.features = isStringList(features) && features.length > 0 ? features : bad('features', 'a non-empty list of column names');
  if (classes !== undefined && classes !== null) {
    const names = isStringList(classes) && classes.length >= 1 ? classes : bad('classes', 'a list of class names');
    h.classes = names;
    h.classesAreIndices = classesAreIndices === true || (classesAreIndices === undefined && names.every((c, i) => c === String(i)));
  }
  if (shape !== undefined) h.shape = isNumberList(shape) && shape.length > 0 && shape.every((d) => Number.isInteger(d) && d >= 1) ? shape : bad('shape', 'a list of positive integers');
  if (scale !== undefined) h.scale = typeof scale === 'number' && scale > 0 ? scale : bad('scale', 'a positive number');
  if (normalize !== undefined) h.normalize = normalize === null ? null : normalization(normalize, h.features?.length, 'normalize', bad);
  if (targetNormalize !== undefined && targetNormalize !== null) {
    if (h.task !== 'regress') return bad('targetNormalize', 'absent for a classification model');
    const t = normalization(targetNormalize, h.label?.length, 'targetNormalize', bad);
    h.targetNormalize = t.b.every((d) => d > 0) ? t : bad('targetNormalize', `{kind, a, b} with ${t.b.length} positive numbers in b`);
  }
  return h;
}

/**
 * The complete data description the hints give, or null when a field DataMeta needs is missing: a
 * model file written by `deltaflow train` always has them all.
 */
export function completeMeta(h: MetaHints | null): DataMeta | null {
  if (h === null) return null;
  const { task, loss, label, features, shape, scale } = h;
  if (task === undefined || loss === undefined || label === undefined || features === undefined || shape === undefined || scale === undefined) return null;
  if (task === 'classify' && (h.classes === undefined || h.classes === null)) return null;
  return {
    task,
    loss,
    label,
    features,
    classes: task === 'classify' ? (h.classes ?? null) : null,
    classesAreIndices: h.classesAreIndices === true,
    shape,
    scale,
    normalize: h.normalize ?? null,
    targetNormalize: h.targetNormalize ?? null,
  };
}

/**
 * The data description of a model file's meta when it is complete (written by `deltaflow train` or
 * `online --save`), else null. A meta that is present but malformed is an error naming the file and the field.
 */
export function metaFromJson(meta: JsonObject | undefined, file: string): DataMeta | null {
  return completeMeta(metaHints(meta, file));
}

/**
 * One line saying how the features will be read when the model file does not record it (no `scale`
 * nor `normalize` in its meta) and `--scale` was not given; null when nothing is missing.
 */
export function missingMetaHint(hints: MetaHints | null, file: string, isScaleGiven: boolean): string | null {
  if (isScaleGiven || hints?.scale !== undefined || (hints?.normalize ?? null) !== null) return null;
  const says = hints === null ? 'has no meta describing its data' : `has a meta without "scale" or "normalize" (it records ${Object.keys(hints).filter((k) => k !== 'classesAreIndices').join(', ')})`;
  return `${file} ${says}: features are read unscaled; if the model was trained on scaled features, pass --scale (e.g. --scale 1/255), or save the model with meta.scale`;
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
