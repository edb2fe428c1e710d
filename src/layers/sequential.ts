/**
 * The sequential model: layers applied in order, every shape inferred when the model is made, and
 * parameters initialized deterministically from a seed.
 *
 * Initialization: one generator `createRng(seed)` walks the parameters in model order; a weight
 * (a parameter whose inferred shape carries a fan-in: dense `W [out, in]`, conv `W [cOut, cIn, kH, kW]`)
 * is drawn He-uniform with that fan-in (in, or cIn·kH·kW), a bias starts at zero. The same seed gives
 * the same model bit for bit.
 */
import { heUniform } from '../ops/init.js';
import { createRng } from '../ops/random.js';
import { ShapeError, formatShape, type Tensor, type Workspace } from '../ops/tensor.js';
import type { Layer, LayerShapes, LayerSpec, Param } from './layer.js';
import { OptionError, showValue } from './options.js';
import { buildLayer, checkSpec, inferLayer } from './registry.js';

/** A built model: its input shape, its layers, and every parameter in a fixed order. */
export interface Model {
  /** Per-sample input shape, e.g. `[1, 28, 28]`. */
  readonly input: readonly number[];
  readonly layers: readonly Layer[];
  /** Per-sample output shape of the last layer (the input shape when there are no layers). */
  readonly outShape: readonly number[];
  /** All layers' parameters in order (layer 0's W, b, then layer 1's…); layer i's `grads[j]` pairs with its `params[j]`. */
  readonly params: readonly Param[];
  /** The seed the parameters were initialized from. */
  readonly seed: number;
}

export interface SequentialOptions {
  /** Per-sample input shape: `[n]` for vectors, `[c, h, w]` for images. */
  readonly input: readonly number[];
  /** Initialization seed (a safe integer); default 0. */
  readonly seed?: number;
}

/** Check a model's input shape: a non-empty list of positive integers. */
export function checkInputShape(where: string, input: unknown): readonly number[] {
  const isOk = Array.isArray(input) && input.length > 0 && input.every((d: unknown) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 1);
  if (!isOk) {
    const rule = 'a non-empty list of positive integers, like [784] or [1, 28, 28]';
    const detail = `must be ${rule}, got ${showValue(input)}`;
    throw new OptionError(where, 'input', rule, input, detail, `${where}: input ${detail}`);
  }
  return input;
}

/** Shape inference through the whole stack: per layer, its input shape and what it derives. Allocates nothing. */
export function inferShapes(input: readonly number[], specs: readonly LayerSpec[]): { inShape: readonly number[]; shapes: LayerShapes }[] {
  let inShape = input;
  return specs.map((spec, index) => {
    const shapes = inferLayer(spec, inShape, index);
    const placed = { inShape, shapes };
    inShape = shapes.outShape;
    return placed;
  });
}

/**
 * Build a model from specs. `values` (one Float32Array per parameter in model order, already
 * checked against the inferred shapes) are copied in; without them, parameters are initialized from `seed`.
 */
export function createModel(input: readonly number[], specs: readonly LayerSpec[], seed: number, values?: readonly Float32Array[]): Model {
  const placed = inferShapes(input, specs);
  const layers = placed.map(({ inShape }, index) => buildLayer(specs[index], inShape, index));
  const params = layers.flatMap((layer) => layer.params);
  if (values === undefined) {
    const rng = createRng(seed);
    const fans = placed.flatMap(({ shapes }) => shapes.params.map((p) => p.fanIn));
    params.forEach((p, i) => {
      const fanIn = fans[i];
      if (fanIn === undefined) p.value.fill(0);
      else heUniform(rng, fanIn, p.value);
    });
  } else {
    if (values.length !== params.length) {
      throw new RangeError(`createModel: expected ${params.length} parameter tensors, got ${values.length}`);
    }
    params.forEach((p, i) => {
      if (values[i].length !== p.value.length) throw new ShapeError(`createModel: parameter ${i} (${p.name})`, p.shape, [values[i].length]);
      p.value.set(values[i]);
    });
  }
  const outShape = layers.length > 0 ? layers[layers.length - 1].outShape : input;
  return { input, layers, outShape, params, seed };
}

/**
 * A model of `specs` applied in order to inputs of shape `options.input`. Every shape is inferred
 * now (a mismatch throws a ShapeError naming the layer), and weights are initialized from the seed.
 *
 * @example
 * const model = sequential({ input: [1, 28, 28], seed: 42 },
 *   conv2d({ filters: 6, kernel: 5 }), relu(), maxPool2d({ size: 2 }), flatten(), dense({ units: 10 }));
 */
export function sequential(options: SequentialOptions, ...specs: LayerSpec[]): Model {
  const input = checkInputShape('sequential', options.input);
  const seed = options.seed ?? 0;
  if (!Number.isSafeInteger(seed)) {
    const detail = `must be a safe integer, got ${showValue(seed)}`;
    throw new OptionError('sequential', 'seed', 'a safe integer', seed, detail, `sequential: seed ${detail}`);
  }
  return createModel([...input], specs.map(checkSpec), seed);
}

/** Number of trainable numbers in the model. @example paramCount(model) // 44426 for LeNet-5 */
export function paramCount(model: Model): number {
  return model.params.reduce((n, p) => n + p.value.length, 0);
}

/**
 * Inference: run a batch `[m, ...model.input]` through every layer. `wss[i]`, when given, is layer i's
 * workspace (reused across calls, so the result is valid until the next call with the same workspaces).
 *
 * @example const y = forwardAll(model, { data: pixels, shape: [1, 1, 28, 28] });
 */
export function forwardAll(model: Model, x: Tensor, wss?: readonly Workspace[]): Tensor {
  if (wss !== undefined && wss.length !== model.layers.length) {
    throw new RangeError(`forwardAll: expected ${model.layers.length} workspaces (one per layer), got ${wss.length}`);
  }
  let a = x;
  model.layers.forEach((layer, i) => {
    a = layer.forward(a, wss?.[i]).y;
  });
  return a;
}

/** A deep copy: the same architecture and seed, parameter values copied (training one leaves the other alone). */
export function cloneModel(model: Model): Model {
  return createModel(
    model.input,
    model.layers.map((l) => l.spec),
    model.seed,
    model.params.map((p) => p.value),
  );
}

/** `[1, 28, 28] → conv2d [6, 24, 24] → …`: a one-line summary of the shapes, for logs. */
export function describeModel(model: Model): string {
  return [formatShape(model.input), ...model.layers.map((l) => `${l.kind} ${formatShape(l.outShape)}`)].join(' → ');
}
