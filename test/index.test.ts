/**
 * The public API: what `import … from 'deltaflow'` gives (src/index.ts). A name removed or renamed
 * here breaks users' code, so the list changes only on purpose, together with the README.
 */
import { describe, expect, it } from 'vitest';
import * as deltaflow from '../src/index.js';

const NAMES = [
  'adam', 'applyOptimizer', 'averageGradients', 'avgPool2d', 'backprop', 'batch', 'budgetError', 'buildLayer',
  'canonicalJson', 'CHECKPOINT_FORMAT', 'CHECKPOINT_PAUSE_ENV', 'CHECKPOINT_VERSION', 'CheckpointError',
  'cloneModel', 'compareIds', 'compareInput', 'configHash', 'constantLr', 'conv2d', 'cosineLr',
  'countLineBreaks', 'createCheckpoint', 'createCheckpointWriter', 'createCounters', 'createGate',
  'createGradientPool', 'createModel', 'createRng', 'createTrainingState', 'CsvError', 'decodeCheckpoint',
  'deltaLayer', 'deltaModel', 'dense', 'describeModel', 'diffConfigs', 'emptyLineError', 'encodeCheckpoint',
  'evaluate', 'featureStats', 'fieldCountError', 'findInvalidUtf8', 'fit', 'flatten', 'foldIdsHash',
  'formatDifferences', 'formatShape', 'forwardAll', 'forwardLayer', 'forwardModel', 'fromCsv',
  'fromRedisStream', 'gradientCheck', 'headerError', 'initialPosition', 'initKernels', 'inputFingerprint',
  'internals', 'isLayerKind', 'keySlot', 'layerKinds', 'listNames', 'loadModel', 'lossHead', 'lrSchedules',
  'MAX_MODEL_BYTES', 'MAX_MODEL_ELEMENTS', 'maxPool2d', 'meanSquaredError', 'MODEL_FORMAT', 'MODEL_VERSION',
  'ModelFileError', 'modelFromJson', 'modelToJson', 'momentum', 'noDataError', 'NonFiniteError', 'ops',
  'OptionError', 'paramCount', 'partitionKey', 'place', 'prefixHash', 'prequential', 'publishCsv', 'readError',
  'readLatestCheckpoint', 'RedisEntryError', 'RedisStreamError', 'relu', 'restoreParams', 'rngFromState',
  'saveModel', 'scanStructure', 'sequential', 'sgd', 'sha256Hex', 'ShapeError', 'showLiteral', 'shuffle',
  'ShuffleState', 'sigmoid', 'sizeOf', 'snapshotParams', 'softmaxCrossEntropy', 'stepLr', 'tanh',
  'toRedisStream', 'train', 'utf8Error', 'utf8SequenceLength', 'valueError', 'Workspace', 'writeCheckpoint',
];

describe('the public API (src/index.ts)', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(deltaflow).sort()).toEqual([...NAMES].sort());
  });
});
