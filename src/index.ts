/**
 * deltaflow: train dense and convolutional networks as an RxJS dataflow.
 *
 * Layers (specs and the sequential model), model files, the streaming pieces (CSV source, shuffle,
 * batch, forward and delta operators, loss heads, gradient averaging, optimizer sinks, train, fit,
 * evaluate, prequential, drift detectors), online metrics (cumulative, windowed, faded), synthetic
 * drift streams, checkpoints, and the numeric kernels under the `ops` namespace.
 *
 * Importing this module turns on the WebAssembly SIMD kernels of this thread (initKernels, awaited at
 * the top level), so code that imports from 'deltaflow' runs at full speed without asking; where
 * WebAssembly SIMD is missing the TypeScript kernels run instead.
 */
import { initKernels as initThreadKernels } from './ops/kernels.js';

await initThreadKernels();

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
export { toOnnx, saveOnnx, type OnnxExportOptions } from './layers/onnx/toOnnx.js';
export { fromOnnx, loadOnnx, type OnnxImportOptions } from './layers/onnx/fromOnnx.js';
export { OnnxError, type OnnxPlace } from './layers/onnx/onnxError.js';
export { toTfjs, saveTfjs, type TfjsExportOptions, type TfjsArtifacts, type TfjsWeightSpec } from './layers/tfjs/toTfjs.js';
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
export { fromCsv, featureStats, createCounters, type CsvSourceOptions, type CsvCounters, type FeatureStats } from './streams/sources/fromCsv.js';
export * from './streams/sources/csvErrors.js';
export { createGate, type Gate } from './streams/sources/gate.js';
export type { GenerateOptions, GeneratedRow, GeneratorName } from './streams/sources/generators/generator.js';
export { generateRows, describeGenerator, generatorNames, type GeneratorDescription } from './streams/sources/generators/generateRows.js';
export { generate } from './streams/sources/generators/generate.js';
export { driftProbability } from './streams/sources/generators/driftSchedule.js';
export type { FollowOptions } from './streams/sources/followFile.js';
// Redis Streams (node-redis is loaded only when one of these connects)
export {
  fromRedisStream,
  type RedisStreamOptions,
  type RedisStreamControl,
  type RedisStreamSource,
} from './streams/sources/fromRedisStream.js';
export { toRedisStream, type StreamRecord, type ToRedisStreamOptions } from './streams/sources/toRedisStream.js';
export { publishCsv, type PublishOptions, type PublishResult } from './streams/sources/redis/publishCsv.js';
export { partitionKey, keySlot } from './streams/sources/redis/partitions.js';
export { type RedisStreamPosition, initialPosition, foldIdsHash, compareIds } from './streams/sources/redis/streamPosition.js';
export { RedisStreamError, type RedisStreamErrorCode } from './streams/sources/redis/redisError.js';
export { RedisEntryError } from './streams/sources/redis/redisEntry.js';
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
export { detectDrift, type DriftObservation } from './streams/online/detectDrift.js';
export { DriftInputError, type DriftDetector, type DriftSignal, type DetectorSnapshot } from './streams/online/detectors/detector.js';
export { DetectorSnapshotError } from './streams/online/detectors/detectorSnapshot.js';
export { Adwin, type AdwinOptions } from './streams/online/detectors/adwin.js';
export { PageHinkley, type PageHinkleyOptions } from './streams/online/detectors/pageHinkley.js';
export { Ddm, type DdmOptions } from './streams/online/detectors/ddm.js';
export { Eddm, type EddmOptions } from './streams/online/detectors/eddm.js';
export { HddmA, type HddmAOptions } from './streams/online/detectors/hddmA.js';
export { Kswin, type KswinOptions } from './streams/online/detectors/kswin.js';
export { parseDetector, restoreDetector, detectorNames } from './streams/online/detectors/registry.js';
export type { Metric, AdditiveMetric, MetricFactory, ClassObservation, RegressionObservation } from './streams/online/metrics/metric.js';
export { isAdditive } from './streams/online/metrics/metric.js';
export { accuracyMetric } from './streams/online/metrics/accuracyMetric.js';
export { kappaMetric } from './streams/online/metrics/kappaMetric.js';
export { kappaTemporalMetric } from './streams/online/metrics/kappaTemporalMetric.js';
export { macroF1Metric } from './streams/online/metrics/macroF1Metric.js';
export { logLossMetric } from './streams/online/metrics/logLossMetric.js';
export { maeMetric } from './streams/online/metrics/maeMetric.js';
export { rmseMetric } from './streams/online/metrics/rmseMetric.js';
export { r2Metric } from './streams/online/metrics/r2Metric.js';
export { windowMetric } from './streams/online/metrics/windowMetric.js';
export { fadingMetric } from './streams/online/metrics/fadingMetric.js';
export { metricSet, type MetricSet, type MetricSetOptions } from './streams/online/metrics/metricSet.js';
export { metricNames, classificationMetrics, regressionMetrics, CLASSIFICATION_METRICS, REGRESSION_METRICS } from './streams/online/metrics/metricNames.js';
export * from './streams/online/labelJoin.js';
export * from './streams/online/onlineLearner.js';
export * from './streams/online/modelVersions.js';
export * from './streams/training/gradientCheck.js';
export * from './streams/training/internals.js';
export { NonFiniteError, type NonFiniteLocation } from './streams/training/numerics.js';
export * from './streams/checkpoint/checkpoint.js';
export {
  openDistributedJob,
  type DistributedJob,
  type DistributedJobOptions,
  type DistributedFigures,
  type CheckpointMirror,
  type PartitionedInput,
  type CoordinatorFigures,
  type WorkerReport,
} from './streams/distributed/distributedPool.js';
export { runWorker, WorkerRefusedError, type WorkerOptions, type WorkerOutcome } from './streams/distributed/runWorker.js';
export { DistributedError } from './streams/distributed/distributedError.js';
export { partitionSeed } from './streams/distributed/partitionReader.js';
