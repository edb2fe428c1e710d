/**
 * The map from a layer kind to its three functions — read the spec, infer shapes, build the layer —
 * so nothing else in deltaflow branches on kind names. Adding a layer kind means adding its file and
 * one line here (STYLE.md §10).
 */
import { buildActivation, inferActivation, readReluSpec, readSigmoidSpec, readTanhSpec } from './activation.js';
import { buildAvgPool2d, inferAvgPool2d, readAvgPool2dSpec } from './avgPool2d.js';
import { buildConv2d, inferConv2d, readConv2dSpec } from './conv2d.js';
import { buildDense, inferDense, readDenseSpec } from './dense.js';
import { buildFlatten, inferFlatten, readFlattenSpec } from './flatten.js';
import type { Layer, LayerKind, LayerShapes, LayerSpec, SpecOf } from './layer.js';
import { buildMaxPool2d, inferMaxPool2d, readMaxPool2dSpec } from './maxPool2d.js';
import { OptionError, optionReader, showValue, type OptionReader } from './options.js';

/** Everything deltaflow knows about one layer kind. */
export interface LayerKindEntry<S extends LayerSpec> {
  /** Read and check the spec's fields (the same function behind the factory and the model loader). */
  readonly readSpec: (o: OptionReader) => S;
  /** Output and parameter shapes at `inShape`, or a ShapeError naming layer `index`; allocates nothing. */
  readonly infer: (spec: S, inShape: readonly number[], index: number) => LayerShapes;
  /** The layer with zero-filled parameters (the model initializes or loads them). */
  readonly build: (spec: S, inShape: readonly number[], index: number) => Layer;
}

type Registry = { readonly [K in LayerKind]: LayerKindEntry<SpecOf<K>> };

export const layerKinds: Registry = {
  dense: { readSpec: readDenseSpec, infer: inferDense, build: buildDense },
  conv2d: { readSpec: readConv2dSpec, infer: inferConv2d, build: buildConv2d },
  maxPool2d: { readSpec: readMaxPool2dSpec, infer: inferMaxPool2d, build: buildMaxPool2d },
  avgPool2d: { readSpec: readAvgPool2dSpec, infer: inferAvgPool2d, build: buildAvgPool2d },
  flatten: { readSpec: readFlattenSpec, infer: inferFlatten, build: buildFlatten },
  relu: { readSpec: readReluSpec, infer: inferActivation, build: buildActivation },
  sigmoid: { readSpec: readSigmoidSpec, infer: inferActivation, build: buildActivation },
  tanh: { readSpec: readTanhSpec, infer: inferActivation, build: buildActivation },
};

/** Is `kind` a layer kind deltaflow knows? (A model file's `kind` is checked with this.) */
export function isLayerKind(kind: string): kind is LayerKind {
  return Object.hasOwn(layerKinds, kind);
}

function entryOf<K extends LayerKind>(kind: K): LayerKindEntry<SpecOf<K>> {
  return layerKinds[kind];
}

/**
 * Check a spec that may not come from a factory (hand-written JSON, a JavaScript caller): a known kind,
 * and fields that pass the kind's own readSpec. Returns the normalized spec.
 */
export function checkSpec(spec: LayerSpec, index: number): LayerSpec {
  const kind: unknown = spec?.kind;
  if (typeof kind !== 'string' || !isLayerKind(kind)) {
    const known = Object.keys(layerKinds).join(', ');
    const detail = `unknown layer kind ${showValue(kind)} (known: ${known})`;
    throw new OptionError(`layer ${index}`, 'kind', `one of ${known}`, kind, detail, `layer ${index}: ${detail}`);
  }
  const { kind: _kind, ...fields } = spec;
  return layerKinds[kind].readSpec(optionReader(kind, fields));
}

/** Shape inference for `spec` placed at `inShape` as layer `index`; throws a ShapeError naming the layer. */
export function inferLayer(spec: LayerSpec, inShape: readonly number[], index: number): LayerShapes {
  return entryOf(spec.kind).infer(spec, inShape, index);
}

/**
 * Build layer `index` from its spec at a per-sample input shape; parameters start at zero.
 *
 * @example const layer = buildLayer(dense({ units: 10 }), [784], 0); // layer.outShape → [10]
 */
export function buildLayer(spec: LayerSpec, inShape: readonly number[], index: number): Layer {
  return entryOf(spec.kind).build(spec, inShape, index);
}
