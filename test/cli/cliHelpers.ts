/**
 * Helpers for the CLI tests: run the built program as a user would (`node dist/scripts/cli.js …`),
 * and write small generated data sets as CSV. The suite's pretest step builds dist/ first.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../dist/scripts/cli.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `deltaflow …args` in `cwd`, optionally feeding `stdin`. */
export function runCli(args: readonly string[], options: { cwd?: string; stdin?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: { ...process.env, DELTAFLOW_DEBUG: '', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.stdin ?? '');
  });
}

/** A fresh temporary folder. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'deltaflow-cli-'));
}

/** A small deterministic generator (mulberry32) so the data sets are the same on every run. */
export function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(u: () => number): number {
  return Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
}

/** Three Gaussian blobs in 2-D with string class names, header `x,y,species` (label last). */
export function writeBlobs(path: string, n: number, seed: number): void {
  const u = rng(seed);
  const centers: [string, number, number][] = [
    ['setosa', -2, 0],
    ['versicolor', 2, 0],
    ['virginica', 0, 3],
  ];
  const lines = ['x,y,species'];
  for (let i = 0; i < n; i++) {
    const [name, cx, cy] = centers[i % 3];
    lines.push(`${(cx + 0.6 * normal(u)).toFixed(4)},${(cy + 0.6 * normal(u)).toFixed(4)},${name}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Two interleaved spirals, header `a,b,arm` with classes `left`/`right`. */
export function writeSpiral(path: string, n: number, seed: number): void {
  const u = rng(seed);
  const lines = ['a,b,arm'];
  for (let i = 0; i < n; i++) {
    const arm = i % 2;
    const t = 0.5 + 3.5 * u();
    const r = t;
    const angle = t * 1.6 + arm * Math.PI;
    lines.push(`${(r * Math.cos(angle) + 0.1 * normal(u)).toFixed(4)},${(r * Math.sin(angle) + 0.1 * normal(u)).toFixed(4)},${arm === 0 ? 'left' : 'right'}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** y = 2·a − 3·b + 0.5·c + 1 + noise(0.05), header `a,b,c,y`. */
export function writeLinear(path: string, n: number, seed: number): void {
  const u = rng(seed);
  const lines = ['a,b,c,y'];
  for (let i = 0; i < n; i++) {
    const a = 2 * u() - 1;
    const b = 2 * u() - 1;
    const c = 2 * u() - 1;
    const y = 2 * a - 3 * b + 0.5 * c + 1 + 0.05 * normal(u);
    lines.push(`${a.toFixed(5)},${b.toFixed(5)},${c.toFixed(5)},${y.toFixed(5)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/**
 * Tiny MNIST-like images: `label,p0..p63` (8×8, levels 0..255), class k is a bright horizontal bar at
 * row k (k < 4) or a vertical bar at column k − 4 (k ≥ 4), with noise. Four classes… eight classes.
 */
export function writeBars(path: string, n: number, seed: number, withLabel = true): void {
  const u = rng(seed);
  const header = [...(withLabel ? ['label'] : []), ...Array.from({ length: 64 }, (_, i) => `p${i}`)];
  const lines = [header.join(',')];
  for (let i = 0; i < n; i++) {
    const k = i % 8;
    const px: number[] = [];
    for (let r = 0; r < 8; r++) {
      for (let c = 0; c < 8; c++) {
        const isOn = k < 4 ? r === 2 * k || r === 2 * k + 1 : c === 2 * (k - 4) || c === 2 * (k - 4) + 1;
        px.push(Math.max(0, Math.min(255, Math.round((isOn ? 200 : 20) + 40 * normal(u)))));
      }
    }
    lines.push([...(withLabel ? [String(k)] : []), ...px].join(','));
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Parse CSV text without quotes (what predict writes): header and rows of strings. */
export function parseCsv(text: string): { header: string[]; rows: string[][] } {
  const lines = text.trimEnd().split('\n');
  return { header: lines[0].split(','), rows: lines.slice(1).map((l) => l.split(',')) };
}
