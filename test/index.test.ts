/**
 * The public API: what `import … from 'deltaflow'` gives (src/index.ts). A name removed or renamed
 * here breaks users' code, so the list changes only on purpose, together with the README.
 */
import { describe, expect, it } from 'vitest';
import * as deltaflow from '../src/index.js';

const NAMES = [
  'CHECKPOINT_FORMAT', 'CHECKPOINT_PAUSE_ENV', 'CHECKPOINT_VERSION', 'CheckpointError', 'CsvError',
  'MAX_MODEL_BYTES', 'MAX_MODEL_ELEMENTS', 'MODEL_FORMAT', 'MODEL_VERSION', 'ModelFileError',
  'NonFiniteError', 'OptionError', 'ShapeError', 'ShuffleState', 'Workspace', 'adam', 'applyOptimizer',
  'averageGradients', 'avgPool2d', 'backprop', 'batch', 'budgetError', 'buildLayer', 'canonicalJson',
  'cloneModel', 'compareInput', 'configHash', 'constantLr', 'conv2d', 'cosineLr', 'countLineBreaks',
  'createCheckpoint', 'createCheckpointWriter', 'createCounters', 'createGate', 'createGradientPool',
  'createModel', 'createRng', 'createTrainingState', 'decodeCheckpoint', 'deltaLayer', 'deltaModel', 'dense',
  'describeModel', 'diffConfigs', 'emptyLineError', 'encodeCheckpoint', 'evaluate', 'featureStats',
  'fieldCountError', 'findInvalidUtf8', 'fit', 'flatten', 'formatDifferences', 'formatShape', 'forwardAll',
  'forwardLayer', 'forwardModel', 'fromCsv', 'gradientCheck', 'headerError', 'initKernels',
  'inputFingerprint', 'internals', 'isLayerKind', 'layerKinds', 'listNames', 'loadModel', 'lossHead',
  'lrSchedules', 'maxPool2d', 'meanSquaredError', 'modelFromJson', 'modelToJson', 'momentum', 'noDataError',
  'ops', 'paramCount', 'place', 'prefixHash', 'prequential', 'readError', 'readLatestCheckpoint', 'relu',
  'restoreParams', 'rngFromState', 'saveModel', 'scanStructure', 'sequential', 'sgd', 'sha256Hex',
  'showLiteral', 'shuffle', 'sigmoid', 'sizeOf', 'snapshotParams', 'softmaxCrossEntropy', 'stepLr', 'tanh',
  'train', 'utf8Error', 'LabelJoin', 'ModelVersions', 'onlineLearner', 'utf8SequenceLength', 'valueError', 'writeCheckpoint',
];

describe('the public API (src/index.ts)', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(deltaflow).sort()).toEqual([...NAMES].sort());
  });
});
