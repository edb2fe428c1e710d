import { describeConvWasm } from '../helpers/convWasmSuite.js';

// The non-FMA kernels (runtimes without relaxed SIMD, or DELTAFLOW_KERNELS=simd128), in their own thread.
describeConvWasm(false);
