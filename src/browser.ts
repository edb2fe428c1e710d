/**
 * deltaflow in a web page: the library's browser entry, built into the ESM bundle
 * `dist/browser/deltaflow.js` (scripts/build/bundle.ts; docs/browser.md). Run it in a Web Worker so
 * the page stays responsive; `initKernels()` turns on the same WebAssembly SIMD kernels as in Node
 * (wabt is bundled and assembles them in the worker; the page must be cross-origin isolated, since
 * the kernels' memory is shared).
 *
 * Everything of `src/index.ts` is here except what needs Node:
 * - files: `saveModel` / `loadModel` (use `modelToJson` / `modelFromJson` on text), checkpoints;
 * - worker threads: `createGradientPool`, and `workers` > 1 in `train` / `fit` (one thread per Web Worker);
 * - `fromCsv` and `featureStats` read a `File` or `Blob`, or a `ReadableStream<Uint8Array>`
 *   (`file.stream()`, `(await fetch(url)).body`); a path is refused with an error saying so.
 */
import type { Observable } from 'rxjs';
import {
  featureStats as featureStatsOfInput,
  fromCsv as fromCsvOfInput,
  type CsvSourceOptions,
  type FeatureStats,
} from './streams/sources/fromCsv.js';
import { isWebStream, type WebByteStream } from './streams/sources/webStream.js';
import type { Sample } from './streams/types.js';

// Layers and models
export type { Layer, LayerSpec, LayerKind, Param, ForwardResult, DeltaResult } from './layers/layer.js';
export { dense } from './layers/dense.js';
export { conv2d } from './layers/conv2d.js';
export { maxPool2d } from './layers/maxPool2d.js';
export { avgPool2d } from './layers/avgPool2d.js';
export { flatten } from './layers/flatten.js';
export { relu, sigmoid, tanh } from './layers/activation.js';
export { OptionError } from './layers/options.js';
export { buildLayer, layerKinds, isLayerKind } from './layers/registry.js';
export { sequential, createModel, cloneModel, paramCount, forwardAll, describeModel, type Model, type SequentialOptions } from './layers/sequential.js';
export {
  modelToJson,
  modelFromJson,
  ModelFileError,
  MODEL_FORMAT,
  MODEL_VERSION,
  MAX_MODEL_ELEMENTS,
  MAX_MODEL_BYTES,
  type JsonValue,
  type JsonObject,
  type LoadOptions,
  type LoadedModel,
} from './layers/modelFile.js';

// Tensors, optimizers, schedules, kernels
export { ShapeError, Workspace, sizeOf, formatShape, type Tensor } from './ops/tensor.js';
export { sgd, momentum, adam, type OptimizerConfig, type OptimizerState } from './ops/optimizers.js';
export { constantLr, cosineLr, stepLr, lrSchedules, type LrSchedule } from './ops/schedules.js';
export { createRng, rngFromState, type Rng } from './ops/random.js';
export { initKernels } from './ops/kernels.js';
export * as ops from './ops/index.js';

// Streams
export type { Sample, Batch, RowOrigin } from './streams/types.js';
export { createCounters, type CsvSourceOptions, type CsvCounters, type FeatureStats } from './streams/sources/fromCsv.js';
export * from './streams/sources/csvErrors.js';
export { createGate, type Gate } from './streams/sources/gate.js';
export * from './streams/training/shuffle.js';
export * from './streams/training/batch.js';
export * from './streams/training/forward.js';
export * from './streams/training/lossHead.js';
export * from './streams/training/delta.js';
export * from './streams/training/averageGradients.js';
export * from './streams/training/applyOptimizer.js';
export { train, backprop, type TrainOptions, type BackpropOptions } from './streams/training/train.js';
export * from './streams/training/fit.js';
export * from './streams/training/evaluate.js';
export * from './streams/online/prequential.js';
export * from './streams/training/gradientCheck.js';
export * from './streams/training/internals.js';
export { NonFiniteError, type NonFiniteLocation } from './streams/training/numerics.js';

/** What the browser's fromCsv reads: a File or Blob, or a web ReadableStream<Uint8Array>. */
export type BrowserCsvInput = Blob | WebByteStream;

/** A Blob's (File's) byte stream and default name; a path or anything else is refused. */
function openInput(input: unknown, options: CsvSourceOptions, where: string): { stream: WebByteStream; options: CsvSourceOptions } {
  if (typeof input === 'string') {
    throw new TypeError(`${where}: "${input}" is a file path, which cannot be read in the browser; pass a File or Blob, or a ReadableStream<Uint8Array> (file.stream(), (await fetch(url)).body)`);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const name = 'name' in input && typeof input.name === 'string' && input.name !== '' ? input.name : undefined;
    return { stream: input.stream(), options: { ...options, name: options.name ?? name } };
  }
  if (isWebStream(input)) return { stream: input, options };
  throw new TypeError(`${where}: input must be a File, a Blob or a ReadableStream<Uint8Array>, got ${input === null ? 'null' : typeof input}`);
}

/**
 * The CSV source in the browser: the same validation, samples and errors as in Node, read from a
 * File (its name names the rows in errors), a Blob or a web byte stream.
 *
 * @example
 * const response = await fetch('mnist-train.csv');
 * fromCsv(response.body, { name: 'mnist-train.csv', classes: 10, scale: 1 / 255, shape: [1, 28, 28] })
 *   .pipe(batch(32), train(model, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 2e-3 }) }))
 *   .subscribe((m) => postMessage(m));
 */
export function fromCsv(input: BrowserCsvInput | null, options: CsvSourceOptions): Observable<Sample> {
  const opened = openInput(input, options, 'fromCsv');
  return fromCsvOfInput(opened.stream, opened.options);
}

/**
 * Per-feature statistics of a CSV (one pass; see the Node `featureStats`), from a File, Blob or stream.
 *
 * @example const stats = await featureStats(file, { classes: 3 });
 */
export function featureStats(input: BrowserCsvInput | null, options: CsvSourceOptions): Promise<FeatureStats> {
  const opened = openInput(input, options, 'featureStats');
  return featureStatsOfInput(opened.stream, opened.options);
}
