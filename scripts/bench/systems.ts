/**
 * Which peers the bench can run here, and how to start each one (as a ChildRunner):
 * TF.js cpu and wasm and ConvNetJS through peerServer.js (Node), PyTorch 1 thread and 2 threads
 * (OpenBLAS held to 1 thread: the fast 2-thread setting on 2 vCPUs) through torch_bench.py with the
 * Debian interpreter /usr/bin/python3. PyTorch is optional: where `import torch` fails it is listed as
 * skipped, never required.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChildRunner } from './childRunner.js';
import type { PassRunner } from './runner.js';
import type { SkippedSystem } from './training.js';
import type { WorkloadId } from './workloads.js';

export const PYTHON = '/usr/bin/python3';

export const PEER_IDS = ['tfjs-cpu', 'tfjs-wasm', 'convnetjs', 'pytorch-1t', 'pytorch-2t'] as const;
export type PeerId = (typeof PEER_IDS)[number];

export const PEER_LABELS: Readonly<Record<PeerId, string>> = {
  'tfjs-cpu': 'TF.js 4.22 cpu (pure JS), trainOnBatch',
  'tfjs-wasm': 'TF.js 4.22 wasm (XNNPACK, SIMD), trainOnBatch',
  convnetjs: 'ConvNetJS 0.3.0',
  'pytorch-1t': 'PyTorch, 1 thread (BLAS 1)',
  'pytorch-2t': 'PyTorch, 2 threads (BLAS 1)',
};

/** A Python script of the bench, next to this module's source: dist/scripts/bench/x.js → scripts/bench/NAME. */
export function benchScript(name: string): string {
  const candidates = [`./${name}`, `../../../scripts/bench/${name}`].map((p) => fileURLToPath(new URL(p, import.meta.url)));
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`${name} not found (looked at ${candidates.join(', ')})`);
  return found;
}

/** Why PyTorch cannot run here, or null when `/usr/bin/python3 -c 'import torch'` works. */
export function torchUnavailable(): string | null {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error !== undefined) return `${PYTHON}: ${r.error.message}`;
  if (r.status !== 0) return `${PYTHON} -c 'import torch' failed: ${(r.stderr ?? '').trim().split('\n').slice(-1)[0]}`;
  return null;
}

export interface PeerPlan {
  readonly runners: PassRunner[];
  readonly skipped: SkippedSystem[];
}

/** Runners for the chosen peers on one workload; `torchReason` non-null marks PyTorch as skipped. */
export function peerRunners(workload: WorkloadId, chosen: readonly PeerId[], dataDir: string, torchReason: string | null): PeerPlan {
  const node = process.execPath;
  const server = fileURLToPath(new URL('./peerServer.js', import.meta.url));
  const runners: PassRunner[] = [];
  const skipped: SkippedSystem[] = [];
  for (const id of chosen) {
    const label = PEER_LABELS[id];
    if (id === 'pytorch-1t' || id === 'pytorch-2t') {
      if (torchReason !== null) {
        skipped.push({ id, label, reason: torchReason });
        continue;
      }
      const threads = id === 'pytorch-1t' ? ['--threads', '1'] : ['--threads', '2', '--blas-threads', '1'];
      runners.push(new ChildRunner(id, label, workload, PYTHON, [benchScript('torch_bench.py'), '--workload', workload, '--data', dataDir, ...threads]));
    } else {
      runners.push(new ChildRunner(id, label, workload, node, [server, '--peer', id, '--workload', workload, '--data', dataDir]));
    }
  }
  return { runners, skipped };
}
