/**
 * Model presets: named lists of layer specs the CLI can build without a model file.
 *
 * - `lenet`: the LeNet-5-style network for 28×28 digits (LeCun et al. 1998, with ReLU and max pooling):
 *   conv 6@5×5 → ReLU → max pool 2 → conv 16@5×5 → ReLU → max pool 2 → flatten → dense 120 → ReLU →
 *   dense 84 → ReLU → dense k. On `[1, 28, 28]` the shapes go 6×24×24, 6×12×12, 16×8×8, 16×4×4, 256,
 *   and the model has 44,426 parameters for k = 10.
 * - `mlp`: dense layers of the `hidden` widths, each followed by ReLU, then dense k (a flatten first
 *   when the input is an image).
 *
 * The last layer outputs logits for softmax cross-entropy. For the mean-squared-error loss on
 * classes (one-hot targets, as in the article), a sigmoid follows it, so outputs lie in (0, 1) like
 * the targets. Regression outputs stay linear.
 *
 * The bench builds its workloads from these (W1 = `mlp` with hidden [128, 64], W2 = `lenet`; see
 * scripts/bench/workloads.ts), and so does scripts/stepProfile.ts: changing a preset changes them too.
 */
import { conv2d } from '../src/layers/conv2d.js';
import { dense } from '../src/layers/dense.js';
import { flatten } from '../src/layers/flatten.js';
import { maxPool2d } from '../src/layers/maxPool2d.js';
import { relu, sigmoid } from '../src/layers/activation.js';
import type { LayerSpec } from '../src/layers/layer.js';

export const presetNames = ['mlp', 'lenet'] as const;
export type PresetName = (typeof presetNames)[number];

export function isPresetName(name: string): name is PresetName {
  return (presetNames as readonly string[]).includes(name);
}

export interface PresetOptions {
  /** Number of outputs: classes, or regression targets. */
  readonly outputs: number;
  /** Hidden widths of the mlp preset; default [128, 64]. */
  readonly hidden?: readonly number[];
  /** Put a sigmoid after the last layer (classification with the MSE loss). */
  readonly hasSigmoidOutput?: boolean;
  /** Per-sample input shape; decides whether the mlp starts with a flatten. */
  readonly input: readonly number[];
}

export const DEFAULT_HIDDEN: readonly number[] = [128, 64];

/** The input shape a preset assumes when none is given: 28×28 grey images for lenet, 784 pixels for mlp. */
export function defaultPresetInput(name: PresetName): number[] {
  return name === 'lenet' ? [1, 28, 28] : [784];
}

function lenet(options: PresetOptions): LayerSpec[] {
  return [
    conv2d({ filters: 6, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    conv2d({ filters: 16, kernel: 5 }),
    relu(),
    maxPool2d({ size: 2 }),
    flatten(),
    dense({ units: 120 }),
    relu(),
    dense({ units: 84 }),
    relu(),
    dense({ units: options.outputs }),
  ];
}

function mlp(options: PresetOptions): LayerSpec[] {
  const hidden = options.hidden ?? DEFAULT_HIDDEN;
  return [
    ...(options.input.length > 1 ? [flatten()] : []),
    ...hidden.flatMap((units) => [dense({ units }), relu()]),
    dense({ units: options.outputs }),
  ];
}

const presets: { readonly [K in PresetName]: (options: PresetOptions) => LayerSpec[] } = { mlp, lenet };

/**
 * The layer specs of a preset.
 *
 * @example sequential({ input: [1, 28, 28], seed: 1 }, ...presetSpecs('lenet', { input: [1, 28, 28], outputs: 10 }))
 */
export function presetSpecs(name: PresetName, options: PresetOptions): LayerSpec[] {
  const specs = presets[name](options);
  return options.hasSigmoidOutput === true ? [...specs, sigmoid()] : specs;
}
