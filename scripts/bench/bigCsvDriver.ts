/**
 * `bench --big-csv 256M,1G`: for each size, write a CSV of at least that many bytes of MNIST digits
 * into os.tmpdir() (streaming writes), run bigCsv.js on it in a fresh child process (so its peak RSS
 * is its own), delete the file, and report peak RSS per size. Target: flat in file size and under
 * 250 MB.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { BigCsvResult } from './bigCsv.js';
import { writeDigitsCsv } from './csvIngest.js';
import { loadDigits } from './data.js';
import { fmt, mb } from './stats.js';

export const RSS_TARGET_BYTES = 250e6;

async function runChild(file: string, rows: number, isSink: boolean): Promise<BigCsvResult> {
  const script = fileURLToPath(new URL('./bigCsv.js', import.meta.url));
  const child = spawn(process.execPath, [script, '--file', file, '--rows', String(rows), ...(isSink ? ['--sink'] : [])], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let result: BigCsvResult | null = null;
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line.startsWith('@@ ')) result = JSON.parse(line.slice(3)) as BigCsvResult;
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0 || result === null) throw new Error(`bigCsv.js on ${file} exited with code ${code}`);
  return result;
}

/** Run every size; returns the results (printed as a table unless `isJson`). */
export async function runBigCsv(sizes: readonly number[], isSink: boolean, isJson: boolean, log: (line: string) => void): Promise<BigCsvResult[]> {
  const digits = loadDigits();
  const results: BigCsvResult[] = [];
  for (const size of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'deltaflow-bigcsv-'));
    try {
      const file = join(dir, 'big.csv');
      const t0 = performance.now();
      const written = await writeDigitsCsv(digits, file, { minBytes: size });
      log(`big-csv: wrote ${fmt(mb(written.bytes))} MB, ${written.rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      const r = await runChild(file, written.rows, isSink);
      log(`big-csv: ${r.mode} ${fmt(r.rowsPerSecond)} rows/s, peak RSS ${fmt(mb(r.peakRssSampledBytes))} MB`);
      results.push(r);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  if (isJson) {
    process.stdout.write(`${JSON.stringify({ bigCsv: results, rssTargetBytes: RSS_TARGET_BYTES }, null, 2)}\n`);
  } else {
    const lines = [
      `### Streaming memory: fromCsv → shuffle(window 1024) → batch(64) → ${isSink ? 'counting sink' : 'train(MLP 784-32-10, SGD)'}`,
      '',
      '| file MB | rows | seconds | rows/s | MB/s | peak RSS sampled, MB | maxRSS, MB | peak heap used, MB | under 250 MB |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
      ...results.map(
        (r) =>
          `| ${fmt(mb(r.fileBytes))} | ${r.rows.toLocaleString('en-US')} | ${fmt(r.seconds)} | ${fmt(r.rowsPerSecond)} | ${fmt(r.mbPerSecond)} | ` +
          `${fmt(mb(r.peakRssSampledBytes))} | ${fmt(mb(r.maxRssBytes))} | ${fmt(mb(r.peakHeapUsedBytes))} | ${r.maxRssBytes < RSS_TARGET_BYTES ? 'yes' : 'NO'} |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  return results;
}
