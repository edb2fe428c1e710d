/**
 * Whether a model file can be served: a valid model file (modelFromJson trusts nothing: every field
 * checked, sizes capped), with the data description deltaflow train / online --save write into its
 * meta (so requests are read as training read its CSV), whose input and outputs fit that description.
 *
 * A model swapped in while serving (POST /model, SIGHUP) must also read its data exactly as the
 * served one does — the same task, loss, label and feature columns, classes, shape, scale and
 * normalization — because predictions waiting for their late labels keep features read the old way.
 * It may differ in everything else (architecture, weights).
 */
import { ModelFileError, modelFromJson, type JsonObject, type LoadedModel } from '../../src/layers/modelFile.js';
import type { Model } from '../../src/layers/sequential.js';
import { formatShape, sizeOf } from '../../src/ops/tensor.js';
import { metaFromJson, metaToJson, outputCount, type DataMeta } from '../commands/meta.js';

export interface ServableModel {
  readonly model: Model;
  /** The file's meta object, as written. */
  readonly fileMeta: JsonObject;
  readonly meta: DataMeta;
}

/** A model file's text, read with every check of modelFromJson; errors name `name`. */
export function parseModelText(text: string, name: string): LoadedModel {
  try {
    return modelFromJson(text);
  } catch (e) {
    if (e instanceof ModelFileError) throw new ModelFileError(e.path, e.detail, name);
    throw e;
  }
}

/** A loaded model file as a servable model, or an Error whose message names the file and the problem. */
export function servableModel(loaded: LoadedModel, name: string, served: DataMeta | null): ServableModel {
  const { model, meta: fileMeta } = loaded;
  const meta = metaFromJson(fileMeta, name);
  if (meta === null || fileMeta === undefined) {
    throw new Error(`${name}: the model file has no data description (meta); serve needs a model written by deltaflow train or deltaflow online --save`);
  }
  const nIn = sizeOf(model.input);
  if (nIn !== meta.features.length) throw new Error(`${name}: the model's input ${formatShape(model.input)} holds ${nIn} values, but its meta lists ${meta.features.length} features`);
  const nOut = sizeOf(model.outShape);
  if (model.outShape.length !== 1 || nOut !== outputCount(meta)) {
    throw new Error(`${name}: the model outputs ${formatShape(model.outShape)}, but its meta needs ${outputCount(meta)} outputs`);
  }
  if (served !== null) {
    const now = metaToJson(served);
    const next = metaToJson(meta);
    const keys = [...new Set([...Object.keys(now), ...Object.keys(next)])];
    const differs = keys.find((k) => JSON.stringify(now[k]) !== JSON.stringify(next[k]));
    if (differs !== undefined) {
      throw new Error(`${name}: the model reads its data differently from the one served (meta.${differs} differs); a model with another data description needs a new server`);
    }
  }
  return { model, fileMeta, meta };
}
