/**
 * deltaflow: train dense and convolutional networks as an RxJS dataflow.
 *
 * Layers (specs and the sequential model), model files, the streaming pieces (CSV source, shuffle,
 * batch, forward and delta operators, loss heads, gradient averaging, optimizer sinks, train, fit,
 * evaluate, prequential, drift detectors), online metrics (cumulative, windowed, faded), synthetic
 * drift streams, checkpoints, and the numeric kernels under the `ops` namespace.
 *
 * Importing this module turns on the WebAssembly SIMD kernels of this thread (initKernels, awaited at
 * the top level), so code that imports from 'deltaflow' runs at full speed without asking: with
 * relaxed-SIMD FMA where the runtime has it, the TypeScript kernels where WebAssembly SIMD is missing
 * (`kernelSet()` says which; DELTAFLOW_KERNELS overrides).
 */
import { initKernels as initThreadKernels } from './ops/kernels.js';

await initThreadKernels();

export * from './portable.js';

// Files: model files, ONNX and TF.js files
export { saveModel, loadModel } from './layers/modelFile.js';
export { saveOnnx } from './layers/onnx/toOnnx.js';
export { loadOnnx } from './layers/onnx/fromOnnx.js';
export { saveTfjs } from './layers/tfjs/toTfjs.js';

// Sources that read files, stdin and Redis
export { fromCsv, featureStats, type CsvInput } from './streams/sources/fromCsv.js';
export { createCsvThread, CsvThread, type CsvThreadOptions, type CsvThreadStats } from './streams/sources/csvThread.js';
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

// Worker threads and checkpoints
export { createGradientPool, type GradientPool, type GradientPoolOptions, type GradientPoolStats } from './streams/training/train.js';
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
// The model file's JSON type wins over the checkpoint format's structurally similar one.
export type { JsonValue, JsonObject } from './layers/modelFile.js';
