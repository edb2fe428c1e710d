/**
 * Streaming-memory run (child process of `bench --big-csv SIZES`): reads one big CSV through
 *
 *   fromCsv(file) → shuffle({ window: 1024 }) → batch(64) → train(MLP 784-32-10, SGD)   (default)
 *   fromCsv(file) → shuffle({ window: 1024 }) → batch(64) → count                       (--sink)
 *
 * sampling this process's RSS every 20 ms, and prints `@@ {json}` with the peak RSS sampled, the
 * kernel's maxRSS, rows/s and MB/s. A fresh process per file size, so each peak is its own: flat
 * peaks across sizes show the reader is pull-driven and memory does not grow with the file.
 *
 *   node dist/scripts/bench/bigCsv.js --file F --rows N [--sink]
 */
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { lastValueFrom, scan, tap } from 'rxjs';
import { batch, createCounters, dense, fromCsv, relu, sequential, sgd, shuffle, softmaxCrossEntropy, train } from '../../src/index.js';
import { BATCH, LEARNING_RATE } from './workloads.js';

export const SHUFFLE_WINDOW = 1024;

/** What one big-CSV run reports. */
export interface BigCsvResult {
  readonly fileBytes: number;
  readonly rows: number;
  readonly mode: 'train' | 'sink';
  readonly seconds: number;
  readonly rowsPerSecond: number;
  readonly mbPerSecond: number;
  /** Largest RSS seen by the 20-ms sampler while the pipeline ran. */
  readonly peakRssSampledBytes: number;
  /** process.resourceUsage().maxRSS over the whole process, bytes. */
  readonly maxRssBytes: number;
  readonly peakHeapUsedBytes: number;
  readonly lastLoss: number | null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { file: { type: 'string' }, rows: { type: 'string' }, sink: { type: 'boolean' } },
  });
  const file = values.file;
  if (file === undefined) throw new Error('--file is required');
  const expectedRows = Number(values.rows);
  const isSink = values.sink === true;
  const fileBytes = statSync(file).size;

  let peakRss = process.memoryUsage.rss();
  let peakHeap = process.memoryUsage().heapUsed;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
  }, 20);

  const counters = createCounters();
  const batches = fromCsv(file, { classes: 10, scale: 1 / 255, counters }).pipe(shuffle({ window: SHUFFLE_WINDOW, seed: 1 }), batch(BATCH));
  const t0 = performance.now();
  let rows = 0;
  let lastLoss: number | null = null;
  if (isSink) {
    rows = await lastValueFrom(batches.pipe(scan((n, b) => n + b.m, 0)), { defaultValue: 0 });
  } else {
    const model = sequential({ input: [784], seed: 1 }, dense({ units: 32 }), relu(), dense({ units: 10 }));
    await lastValueFrom(
      batches.pipe(
        train(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: LEARNING_RATE }) }),
        tap((m) => {
          rows = m.samples;
          lastLoss = m.loss;
        }),
      ),
      { defaultValue: null },
    );
  }
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, process.memoryUsage.rss());
  if (Number.isFinite(expectedRows) && rows !== expectedRows) throw new Error(`read ${rows} rows, expected ${expectedRows} (${JSON.stringify(counters)})`);
  const result: BigCsvResult = {
    fileBytes,
    rows,
    mode: isSink ? 'sink' : 'train',
    seconds,
    rowsPerSecond: rows / seconds,
    mbPerSecond: fileBytes / seconds / 1e6,
    peakRssSampledBytes: peakRss,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapUsedBytes: peakHeap,
    lastLoss,
  };
  process.stdout.write(`@@ ${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bigCsv: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
