/**
 * The numeric kernels, for users who want them directly (`import { ops } from 'deltaflow'`):
 * pure functions over flat Float32Arrays, NCHW row-major, each with its slow loop-by-loop oracle.
 */
export * from './tensor.js';
export * from './gemm.js';
export * from './conv.js';
export * from './pool.js';
export * from './activations.js';
export * from './loss.js';
export * from './random.js';
export * from './init.js';
export * from './optimizers.js';
export * from './averaging.js';
export * from './schedules.js';
export * from './metrics.js';
export * from './kernels.js';
export * from './distribution.js';
export * from './smoothing.js';
