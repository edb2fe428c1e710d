/**
 * Everything of deltaflow that runs without Node: the layers and model JSON, the kernels, the
 * streaming pieces, online learning (metrics, drift detectors, reactions, delayed labels, the
 * evaluation of several learners), the drift-stream generators and ONNX / TF.js conversion in memory.
 * Both entries export it: `src/index.ts` (Node: adds files, checkpoints, worker threads, Redis and
 * its own fromCsv) and `src/browser.ts` (adds a fromCsv that reads Files and web streams). One list,
 * so the two cannot drift apart.
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
export { toOnnx, type OnnxExportOptions } from './layers/onnx/toOnnx.js';
export { fromOnnx, type OnnxImportOptions } from './layers/onnx/fromOnnx.js';
export { OnnxError, type OnnxPlace } from './layers/onnx/onnxError.js';
export { toTfjs, type TfjsExportOptions, type TfjsArtifacts, type TfjsWeightSpec } from './layers/tfjs/toTfjs.js';

// Tensors, optimizers, schedules, kernels
export { ShapeError, Workspace, sizeOf, formatShape, type Tensor } from './ops/tensor.js';
export { sgd, momentum, adam, type OptimizerConfig, type OptimizerState } from './ops/optimizers.js';
export { constantLr, cosineLr, stepLr, lrSchedules, type LrSchedule } from './ops/schedules.js';
export { createRng, rngFromState, type Rng } from './ops/random.js';
export { initKernels, kernelSet, describeKernelSet, KernelSetError, type KernelSet, type KernelRequest } from './ops/kernels.js';
export * as ops from './ops/index.js';

// Streams: sources that need no files
export type { Sample, Batch, RowOrigin } from './streams/types.js';
export { createCounters, type CsvSourceOptions, type CsvCounters, type FeatureStats } from './streams/sources/fromCsv.js';
export * from './streams/sources/csvErrors.js';
export { createGate, type Gate } from './streams/sources/gate.js';
export { interleave } from './streams/sources/interleave.js';
export type { GenerateOptions, GeneratedRow, GeneratorName } from './streams/sources/generators/generator.js';
export { generateRows, describeGenerator, generatorNames, type GeneratorDescription } from './streams/sources/generators/generateRows.js';
export { generate } from './streams/sources/generators/generate.js';
export { driftProbability } from './streams/sources/generators/driftSchedule.js';

// Streams: training
export * from './streams/training/shuffle.js';
export * from './streams/training/ownedSample.js';
export * from './streams/training/batch.js';
export * from './streams/training/forward.js';
export * from './streams/training/lossHead.js';
export * from './streams/training/delta.js';
export * from './streams/training/averageGradients.js';
export * from './streams/training/applyOptimizer.js';
export { train, backprop, type TrainOptions, type BackpropOptions } from './streams/training/train.js';
export * from './streams/training/fit.js';
export * from './streams/training/evaluate.js';
export * from './streams/training/gradientCheck.js';
export * from './streams/training/internals.js';
export { NonFiniteError, type NonFiniteLocation } from './streams/training/numerics.js';

// Streams: online learning
export * from './streams/online/prequential.js';
export * from './streams/online/onlineLearner.js';
export * from './streams/online/modelVersions.js';
export * from './streams/online/labelJoin.js';
export { evaluateOnline, type EvaluateOnlineOptions, type OnlineEvent, type OnlineInput, type LabelArrival, type LabelTiming, type ReportEvent, type DoneEvent, type StoppedEvent, type LabelCounts, type OnlineRunState } from './streams/online/evaluateOnline.js';
export { readOnlineRunState } from './streams/online/readOnlineRunState.js';
export { OnlineStateError } from './streams/online/stateReader.js';
export { LearnerRun, DIRECTION_ROWS, type LearnerSpec, type LearnerReport, type DetectionEvent, type ReactionEvent, type RunMetrics, type LearnerRunState } from './streams/online/learnerRun.js';
export { parseReactions, describeReaction, reactionNames, type Reaction, type ReactionKind } from './streams/online/reactions.js';
export { onlineNormalize, OnlineNormalizeState } from './streams/online/onlineNormalize.js';
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
export type { Metric, AdditiveMetric, MetricFactory, MetricState, ClassObservation, RegressionObservation } from './streams/online/metrics/metric.js';
export { isAdditive, MetricStateError } from './streams/online/metrics/metric.js';
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
