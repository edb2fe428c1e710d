/**
 * What a worker must share with its coordinator so that its slices have the coordinator's bits: the
 * wire protocol, the byte order, the kernels (WASM and TypeScript kernels sum in different orders,
 * kernels.ts) and the model it builds from the job's layer specs and seed (a hash of the initial
 * weights, which differs when the layer code differs). The job's config hash is compared too. A
 * worker that differs in any field is refused, and the refusal names the field.
 */
import { createHash } from 'node:crypto';
import { endianness } from 'node:os';
import type { LayerSpec } from '../../layers/layer.js';
import { createModel } from '../../layers/sequential.js';
import { convWasmReady } from '../../ops/wasm/convWasm.js';
import { elementwiseWasmReady } from '../../ops/wasm/elementwiseWasm.js';
import { wasmReady } from '../../ops/wasm/gemmWasm.js';

/** The wire protocol's version (wire.ts, packValues.ts; 2: tasks may carry their weights and packed rows); a change makes old workers refuse to join. */
export const PROTOCOL = '2';

export type Fingerprint = Readonly<Record<string, string>>;

const kernel = (isWasm: boolean): string => (isWasm ? 'wasm' : 'typescript');

/** This process's fingerprint for a model of `specs` on `input` seeded with `seed`, and a job config hash. */
export function fingerprintOf(input: readonly number[], specs: readonly LayerSpec[], seed: number, configHash: string): Fingerprint {
  const model = createModel(input, specs, seed);
  const h = createHash('sha256');
  for (const p of model.params) h.update(new Uint8Array(p.value.buffer, p.value.byteOffset, p.value.byteLength));
  return {
    protocol: PROTOCOL,
    endianness: endianness(),
    'kernels.conv': kernel(convWasmReady()),
    'kernels.gemm': kernel(wasmReady()),
    'kernels.elementwise': kernel(elementwiseWasmReady()),
    model: h.digest('hex').slice(0, 16),
    config: configHash.slice(0, 16),
  };
}

/** The first field where `theirs` differs from `ours`, in words; null when none does. */
export function fingerprintDifference(ours: Fingerprint, theirs: Fingerprint): string | null {
  for (const key of Object.keys(ours)) {
    if (theirs[key] !== ours[key]) return `${key} differs (the job has ${ours[key]}, the worker ${theirs[key] ?? 'nothing'})`;
  }
  return null;
}
