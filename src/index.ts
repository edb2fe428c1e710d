/**
 * deltaflow: train dense and convolutional networks as an RxJS dataflow.
 *
 * Layers (specs and the sequential model), model files, the streaming pieces (CSV source, shuffle,
 * batch, forward and delta operators, loss heads, gradient averaging, optimizer sinks, train, fit,
 * evaluate, prequential), checkpoints, and the numeric kernels under the `ops` namespace.
 */

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
export {
  sequential,
  createModel,
  cloneModel,
  paramCount,
  forwardAll,
  describeModel,
  type Model,
  type SequentialOptions,
} from './layers/sequential.js';
export * from './layers/modelFile.js';
// The model file's JSON type wins over the checkpoint format's structurally similar one.
export type { JsonValue, JsonObject } from './layers/modelFile.js';

// Tensors, optimizers, schedules, kernels
export { ShapeError, Workspace, sizeOf, formatShape, type Tensor } from './ops/tensor.js';
export { sgd, momentum, adam, type OptimizerConfig, type OptimizerState } from './ops/optimizers.js';
export { constantLr, cosineLr, stepLr, lrSchedules, type LrSchedule } from './ops/schedules.js';
export { createRng, rngFromState, type Rng } from './ops/random.js';
export { initKernels } from './ops/kernels.js';
export * as ops from './ops/index.js';

// Streams
export type { Sample, Batch, RowOrigin } from './streams/types.js';
export { fromCsv, featureStats, createCounters, type CsvInput, type CsvSourceOptions, type CsvCounters, type FeatureStats } from './streams/sources/fromCsv.js';
export * from './streams/sources/csvErrors.js';
export { createGate, type Gate } from './streams/sources/gate.js';
export * from './streams/training/shuffle.js';
export * from './streams/training/batch.js';
export * from './streams/training/forward.js';
export * from './streams/training/lossHead.js';
export * from './streams/training/delta.js';
export * from './streams/training/averageGradients.js';
export * from './streams/training/applyOptimizer.js';
export * from './streams/training/train.js';
export * from './streams/training/fit.js';
export * from './streams/training/evaluate.js';
export * from './streams/online/prequential.js';
export * from './streams/training/gradientCheck.js';
export * from './streams/training/internals.js';
export { NonFiniteError, type NonFiniteLocation } from './streams/training/numerics.js';
export * from './streams/checkpoint/checkpoint.js';
