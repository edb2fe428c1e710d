/**
 * `--model mlp|lenet|FILE.json`: a preset built from the data's sizes, or a model file (its architecture,
 * and its weights when it has them). Also the one-line names of layers used by `inspect`.
 */
import { existsSync } from 'node:fs';
import type { LayerKind, LayerSpec, SpecOf } from '../../src/layers/layer.js';
import { loadModel, type JsonObject } from '../../src/layers/modelFile.js';
import { createModel, type Model } from '../../src/layers/sequential.js';
import { formatShape, sizeOf } from '../../src/ops/tensor.js';
import { isPresetName, presetSpecs, type PresetName } from '../presets.js';
import { CliError } from './args.js';

export interface ModelChoice {
  readonly model: Model;
  /** The model file's meta (undefined for presets and files without one). */
  readonly meta: JsonObject | undefined;
  /** `lenet (preset)` or the file path, for messages. */
  readonly name: string;
  readonly preset: PresetName | null;
}

export interface PresetSizes {
  readonly input: readonly number[];
  readonly outputs: number;
  readonly hidden?: readonly number[];
  readonly hasSigmoidOutput?: boolean;
  readonly seed: number;
}

/** Build a preset with the data's sizes. */
export function buildPreset(name: PresetName, sizes: PresetSizes): ModelChoice {
  const specs: LayerSpec[] = presetSpecs(name, sizes);
  return { model: createModel([...sizes.input], specs, sizes.seed), meta: undefined, name: `${name} (preset)`, preset: name };
}

/** Load `--model FILE`: a missing file gets a clear error naming the option. */
export async function loadModelFile(path: string, seed: number): Promise<ModelChoice> {
  if (!existsSync(path)) {
    throw new CliError(`--model ${path}: no such file (expected a model file, or a preset: mlp, lenet)`);
  }
  const { model, meta } = await loadModel(path, { seed });
  return { model, meta, name: path, preset: null };
}

/** `--model` text as a preset name or a file. */
export async function chooseModel(arg: string, sizes: () => PresetSizes, seed: number): Promise<ModelChoice> {
  if (isPresetName(arg)) return buildPreset(arg, sizes());
  return loadModelFile(arg, seed);
}

/** Check that a model fits the data: its input holds `nFeatures` values and it has `nOutputs` outputs. */
export function checkModelFits(choice: ModelChoice, nFeatures: number, nOutputs: number, what: string): void {
  const { model } = choice;
  if (sizeOf(model.input) !== nFeatures) {
    throw new CliError(`${choice.name}: the model's input ${formatShape(model.input)} holds ${sizeOf(model.input)} values, but ${what} has ${nFeatures} feature columns`);
  }
  const nOut = sizeOf(model.outShape);
  if (model.outShape.length !== 1 || nOut !== nOutputs) {
    throw new CliError(`${choice.name}: the model outputs ${formatShape(model.outShape)}, but ${what} needs ${nOutputs} outputs`);
  }
}

const pair = (p: readonly [number, number]): string => (p[0] === p[1] ? `${p[0]}` : `${p[0]}×${p[1]}`);

function describePool(spec: SpecOf<'maxPool2d'> | SpecOf<'avgPool2d'>): string {
  const isDefaultStride = spec.stride[0] === spec.size[0] && spec.stride[1] === spec.size[1];
  return `${spec.kind} ${spec.size[0]}×${spec.size[1]}${isDefaultStride ? '' : ` (stride ${pair(spec.stride)})`}`;
}

function describeConv(spec: SpecOf<'conv2d'>): string {
  const extra = [
    spec.stride[0] !== 1 || spec.stride[1] !== 1 ? `stride ${pair(spec.stride)}` : '',
    spec.padding[0] !== 0 || spec.padding[1] !== 0 ? `pad ${pair(spec.padding)}` : '',
  ].filter((s) => s !== '');
  return `conv2d ${spec.filters}@${spec.kernel[0]}×${spec.kernel[1]}${extra.length === 0 ? '' : ` (${extra.join(', ')})`}`;
}

const describers: { readonly [K in LayerKind]: (spec: SpecOf<K>) => string } = {
  dense: (spec) => `dense ${spec.units}`,
  conv2d: describeConv,
  maxPool2d: describePool,
  avgPool2d: describePool,
  flatten: () => 'flatten',
  relu: () => 'relu',
  sigmoid: () => 'sigmoid',
  tanh: () => 'tanh',
};

function describerOf<K extends LayerKind>(kind: K): (spec: SpecOf<K>) => string {
  return describers[kind];
}

/** `conv2d 6@5×5`, `dense 120`, `maxPool2d 2×2`: a layer's spec in a few characters. */
export function describeSpec(spec: LayerSpec): string {
  return describerOf(spec.kind)(spec);
}
