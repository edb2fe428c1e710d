/**
 * CSV reader throughput: fromCsv end to end into Samples, both engines, on a generated MNIST-shaped
 * CSV (header + 10 000 rows of a label and 784 pixels, ~80 % zeros, others 1–255) in os.tmpdir().
 * Prints MB/s (1e6 bytes) and rows/s of the median of 5 timed passes per engine, after one warm-up,
 * passes alternating between engines. Both engines must return the same rows and label sum.
 *
 *   node dist/scripts/csvThroughput.js [rows]
 */
import { writeFileSync, statSync, rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromCsv } from '../src/streams/sources/fromCsv.js';

type Engine = 'fast' | 'csv-parse';

function makeCsv(rows: number): string {
  let state = 20261126;
  const rand = (): number => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const lines = ['label,' + Array.from({ length: 784 }, (_, i) => `${1 + Math.floor(i / 28)}x${1 + (i % 28)}`).join(',')];
  for (let r = 0; r < rows; r++) {
    const px = Array.from({ length: 784 }, () => (rand() < 0.8 ? 0 : 1 + Math.floor(rand() * 255)));
    lines.push(`${r % 10},${px.join(',')}`);
  }
  return lines.join('\n') + '\n';
}

function readOnce(path: string, engine: Engine): Promise<{ rows: number; labelSum: number; ms: number }> {
  const t0 = process.hrtime.bigint();
  let rows = 0;
  let labelSum = 0;
  return new Promise((resolve, reject) =>
    fromCsv(path, { classes: 10, scale: 1 / 255, shape: [1, 28, 28], engine }).subscribe({
      next: (s) => {
        rows++;
        labelSum += s.label;
      },
      error: reject,
      complete: () => resolve({ rows, labelSum, ms: Number(process.hrtime.bigint() - t0) / 1e6 }),
    }),
  );
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const nRows = Number(process.argv[2] ?? 10_000);
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-csv-throughput-'));
  const path = join(dir, 'mnist-like.csv');
  writeFileSync(path, makeCsv(nRows));
  const bytes = statSync(path).size;
  const engines: Engine[] = ['fast', 'csv-parse'];
  const times: Record<Engine, number[]> = { fast: [], 'csv-parse': [] };
  const checks = new Set<string>();
  try {
    for (let pass = 0; pass < 6; pass++) {
      for (const engine of engines) {
        const r = await readOnce(path, engine);
        checks.add(`${r.rows}/${r.labelSum}`);
        if (pass > 0) times[engine].push(r.ms);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (checks.size !== 1) throw new Error(`engines disagree on rows/labelSum: ${[...checks].join(' vs ')}`);
  console.log(`${nRows} rows × 785 columns, ${(bytes / 1e6).toFixed(1)} MB, median of 5 passes:`);
  for (const engine of engines) {
    const ms = median(times[engine]);
    const mbps = bytes / 1e6 / (ms / 1e3);
    const rps = nRows / (ms / 1e3);
    console.log(`  ${engine.padEnd(9)} ${mbps.toFixed(1).padStart(7)} MB/s ${Math.round(rps).toString().padStart(8)} rows/s  (${ms.toFixed(0)} ms)`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
