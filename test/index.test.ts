/**
 * The public API: what `import … from 'deltaflow'` gives (src/index.ts). A name removed or renamed
 * here breaks users' code, so the list changes only on purpose, together with the README.
 */
import { describe, expect, it } from 'vitest';
import * as deltaflow from '../src/index.js';

const NAMES = [
  'Adwin', 'CHECKPOINT_FORMAT', 'CHECKPOINT_PAUSE_ENV', 'CHECKPOINT_VERSION', 'CLASSIFICATION_METRICS',
  'CheckpointError', 'CsvError', 'CsvThread', 'DIRECTION_ROWS', 'Ddm', 'DetectorSnapshotError',
  'DistributedError', 'DriftInputError', 'Eddm', 'HddmA', 'KernelSetError', 'Kswin', 'LabelJoin',
  'LearnerRun', 'MAX_MODEL_BYTES', 'MAX_MODEL_ELEMENTS', 'MODEL_FORMAT', 'MODEL_VERSION', 'MetricStateError',
  'ModelFileError', 'ModelVersions', 'NonFiniteError', 'OnlineNormalizeState', 'OnlineStateError',
  'OnnxError', 'OptionError', 'PageHinkley', 'REGRESSION_METRICS', 'RedisEntryError', 'RedisStreamError',
  'ShapeError', 'ShuffleState', 'WorkerRefusedError', 'Workspace', 'accuracyMetric', 'adam',
  'applyOptimizer', 'averageGradients', 'avgPool2d', 'backprop', 'batch', 'budgetError', 'buildLayer',
  'canonicalJson', 'checkResumable', 'classificationMetrics', 'cloneModel', 'compareIds', 'compareInput',
  'configHash', 'constantLr', 'conv2d', 'cosineLr', 'countLineBreaks', 'createCheckpoint',
  'createCheckpointWriter', 'createCounters', 'createCsvThread', 'createGate', 'createGradientPool',
  'createModel', 'createRng', 'createTrainingState', 'decodeCheckpoint', 'deltaLayer', 'deltaModel', 'dense',
  'describeGenerator', 'describeKernelSet', 'describeModel', 'describeReaction', 'detectDrift',
  'detectorNames', 'diffConfigs', 'driftProbability', 'emptyLineError', 'encodeCheckpoint', 'evaluate',
  'evaluateOnline', 'fadingMetric', 'featureStats', 'fieldCountError', 'findInvalidUtf8', 'fit', 'flatten',
  'foldIdsHash', 'formatDifferences', 'formatShape', 'forwardAll', 'forwardLayer', 'forwardModel', 'fromCsv',
  'fromOnnx', 'fromRedisStream', 'generate', 'generateRows', 'generatorNames', 'gradientCheck',
  'headerError', 'initKernels', 'initialPosition', 'inputFingerprint', 'interleave', 'internals',
  'isAdditive', 'isLayerKind', 'kappaMetric', 'kappaTemporalMetric', 'kernelSet', 'keySlot', 'layerKinds',
  'listNames', 'loadModel', 'loadOnnx', 'logLossMetric', 'lossHead', 'lrSchedules', 'macroF1Metric',
  'maeMetric', 'maxPool2d', 'meanSquaredError', 'metricNames', 'metricSet', 'modelFromJson', 'modelToJson',
  'momentum', 'noDataError', 'onlineLearner', 'onlineNormalize', 'openDistributedJob', 'ops', 'ownedSample',
  'paramCount', 'parseDetector', 'parseReactions', 'partitionKey', 'partitionSeed', 'peekLatestCheckpoint',
  'place', 'prefixHash', 'prequential', 'publishCsv', 'r2Metric', 'reactionNames', 'readError',
  'readLatestCheckpoint', 'readOnlineRunState', 'regressionMetrics', 'relu', 'restoreDetector',
  'restoreParams', 'rmseMetric', 'rngFromState', 'runWorker', 'saveModel', 'saveOnnx', 'saveTfjs',
  'scanStructure', 'sequential', 'sgd', 'sha256Hex', 'showLiteral', 'shuffle', 'sigmoid', 'sizeOf',
  'snapshotParams', 'softmaxCrossEntropy', 'stepLr', 'tanh', 'toOnnx', 'toRedisStream', 'toTfjs', 'train',
  'utf8Error', 'utf8SequenceLength', 'valueError', 'windowMetric', 'writeCheckpoint',
];

describe('the public API (src/index.ts)', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(deltaflow).sort()).toEqual([...NAMES].sort());
  });
});
