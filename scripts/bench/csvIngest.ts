/**
 * CSV ingest benchmark: an MNIST-like CSV (header `label,p0,…,p783`, integer pixels 0..255, the real
 * digits repeated to the asked row count) read end to end — open, read from disk (page cache warm
 * after the warm-up pass), parse, every field to a number — by each reader, passes alternating
 * reader by reader so machine phases hit all of them. Figures: rows/s and MB/s (1e6 bytes) of
 * each pass; median, min, max.
 *
 * Readers: deltaflow's fromCsv into Samples (each engine it has), and the peers' baselines —
 * csv-parse 7 stream API with `cast: true` (arrays, as the peers' csv-bench.js), and the no-library
 * `readline` + `split(',')` + `Number()` reference.
 */
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { parse } from 'csv-parse';
import { CSV_HEADER, csvLine, type Digits } from './data.js';
import { spread, type Spread } from './stats.js';

/** What one pass of a reader returns, so a reader that drops or mangles rows is caught. */
export interface ReadCheck {
  readonly rows: number;
  readonly labelSum: number;
}

export interface CsvReader {
  readonly id: string;
  readonly label: string;
  read(file: string): Promise<ReadCheck>;
}

export interface CsvReaderResult {
  readonly id: string;
  readonly label: string;
  status: 'ok' | 'failed';
  reason?: string;
  readonly rowsPerSecond: number[];
  rows?: Spread;
  /** MB/s of the median pass. */
  mbPerSecond?: number;
}

export interface CsvResult {
  readonly rows: number;
  readonly bytes: number;
  readonly columns: number;
  readonly readers: CsvReaderResult[];
}

/** What writeDigitsCsv wrote: data rows (header excluded), file bytes, and the sum of the labels. */
export interface WrittenCsv {
  readonly rows: number;
  readonly bytes: number;
  readonly labelSum: number;
}

/**
 * Write the digits (cycling) as CSV, streaming in ~1 MB chunks with backpressure, until `rows` rows
 * are written or, with `minBytes`, until the file holds at least that many bytes.
 */
export async function writeDigitsCsv(digits: Digits, file: string, until: { rows: number } | { minBytes: number }): Promise<WrittenCsv> {
  const out = createWriteStream(file);
  let labelSum = 0;
  let bytes = 0;
  let rows = 0;
  let chunk = `${CSV_HEADER}\n`;
  const isDone = (): boolean => ('rows' in until ? rows >= until.rows : bytes + chunk.length >= until.minBytes);
  while (!isDone()) {
    const i = rows % digits.n;
    labelSum += digits.labels[i];
    chunk += `${csvLine(digits, i)}\n`;
    rows++;
    if (chunk.length > 1 << 20) {
      bytes += chunk.length; // ASCII only: characters are bytes
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
  return { rows, bytes: statSync(file).size, labelSum };
}

export const csvParseReader: CsvReader = {
  id: 'csv-parse',
  label: 'csv-parse 7 stream, cast: true (arrays)',
  async read(file) {
    let rows = 0;
    let labelSum = 0;
    for await (const rec of createReadStream(file).pipe(parse({ cast: true, from_line: 2 }))) {
      const fields = rec as unknown[];
      rows++;
      labelSum += Number(fields[0]);
    }
    return { rows, labelSum };
  },
};

export const readlineReader: CsvReader = {
  id: 'readline-split',
  label: 'reference: readline + split + Number (no quoting)',
  async read(file) {
    let rows = 0;
    let labelSum = 0;
    let isHeader = true;
    for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
      if (isHeader) {
        isHeader = false;
        continue;
      }
      if (line.length === 0) continue;
      const f = line.split(',');
      const rec = new Float64Array(f.length);
      for (let i = 0; i < f.length; i++) rec[i] = Number(f[i]);
      rows++;
      labelSum += rec[0];
    }
    return { rows, labelSum };
  },
};

/** Time `passes` passes of every reader (after one warm-up pass each), reader passes interleaved. */
export async function benchCsv(
  file: string,
  expected: ReadCheck,
  readers: readonly CsvReader[],
  passes: number,
  log: (line: string) => void,
): Promise<CsvResult> {
  const bytes = statSync(file).size;
  const results: CsvReaderResult[] = readers.map((r) => ({ id: r.id, label: r.label, status: 'ok', rowsPerSecond: [] }));
  const check = (i: number, got: ReadCheck): void => {
    if (got.rows !== expected.rows || got.labelSum !== expected.labelSum) {
      throw new Error(`${readers[i].id} read ${got.rows} rows with label sum ${got.labelSum}, expected ${expected.rows} and ${expected.labelSum}`);
    }
  };
  for (let i = 0; i < readers.length; i++) {
    try {
      check(i, await readers[i].read(file));
    } catch (e) {
      results[i].status = 'failed';
      results[i].reason = e instanceof Error ? e.message : String(e);
      log(`csv ${readers[i].id}: failed: ${results[i].reason}`);
    }
  }
  for (let p = 0; p < passes; p++) {
    for (let j = 0; j < readers.length; j++) {
      const i = (j + p) % readers.length;
      if (results[i].status !== 'ok') continue;
      try {
        const t0 = performance.now();
        const got = await readers[i].read(file);
        const dt = (performance.now() - t0) / 1000;
        check(i, got);
        results[i].rowsPerSecond.push(got.rows / dt);
        log(`csv pass ${p} ${readers[i].id}: ${(got.rows / dt).toFixed(0)} rows/s, ${(bytes / dt / 1e6).toFixed(1)} MB/s`);
      } catch (e) {
        results[i].status = 'failed';
        results[i].reason = e instanceof Error ? e.message : String(e);
      }
    }
  }
  for (const r of results) {
    if (r.rowsPerSecond.length === 0) continue;
    r.rows = spread(r.rowsPerSecond);
    r.mbPerSecond = (r.rows.median * bytes) / expected.rows / 1e6;
  }
  return { rows: expected.rows, bytes, columns: 785, readers: results };
}
