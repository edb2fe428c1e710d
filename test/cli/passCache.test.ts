/**
 * The rows of a training file kept between passes when the shuffle window holds the whole file
 * (scripts/commands/passCache.ts): a replayed pass is the pass a read gives. The cache itself on a
 * counted source; then the CLI: a run whose later epochs replay the first (--shuffle 1000 on 300 rows)
 * against the same run reading every epoch (--shuffle 301: the window still never fills, so the
 * shuffle is the same, but the file's 302 lines are more than the window, so nothing is kept).
 */
import { join } from 'node:path';
import { lastValueFrom, Observable, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { createPassCache } from '../../scripts/commands/passCache.js';
import { createCounters, type CsvCounters } from '../../src/streams/sources/csvRowPolicy.js';
import type { Sample } from '../../src/streams/types.js';
import { runCli, tempDir } from './cliHelpers.js';
import { readRun, writeKillData } from './resumeHelpers.js';

/** A source of `n` rows that are views of one block, filling `counters` as a read would; counts its reads. */
function countedSource(n: number, counters: CsvCounters, reads: { n: number }): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    reads.n++;
    const block = Float32Array.from({ length: 2 * n }, (_, i) => i);
    for (let i = 0; i < n; i++) {
      counters.dataRows++;
      counters.rowsEmitted++;
      subscriber.next({ x: block.subarray(2 * i, 2 * i + 2), target: new Float32Array([1]), label: 0, origin: { source: 's.csv', line: i + 2, record: i, endOffset: 10 * (i + 1) } });
    }
    counters.rowsSkipped = 1;
    counters.skippedByCode = { CSV_NOT_A_NUMBER: 1 };
    counters.bytesRead = 10 * n + 7;
    subscriber.complete();
  });
}

const plain = (rows: Sample[]): unknown[] => rows.map((s) => ({ x: Array.from(s.x), origin: s.origin }));

describe('createPassCache', () => {
  it('a pass within the window is kept: later passes replay the same rows, with its counters, without reading', async () => {
    const cache = createPassCache(10);
    const reads = { n: 0 };
    const c1 = createCounters();
    const first = await lastValueFrom(cache.pass(() => countedSource(8, c1, reads), c1).pipe(toArray()));
    expect(cache.isKept).toBe(true);
    for (let pass = 2; pass <= 3; pass++) {
      const c = createCounters();
      const again = await lastValueFrom(cache.pass(() => countedSource(8, c, reads), c).pipe(toArray()));
      expect(plain(again)).toEqual(plain(first));
      expect(c).toEqual(c1);
      expect(c.skippedByCode).not.toBe(c1.skippedByCode);
    }
    expect(reads.n).toBe(1);
    // The rows are held in arrays of their own, not as views of the block they came in.
    expect(first.every((s) => s.x.byteLength === s.x.buffer.byteLength)).toBe(true);
  });

  it('a pass larger than the window, or one that does not complete, is not kept: the next pass reads again', async () => {
    const reads = { n: 0 };
    const big = createPassCache(5);
    for (let pass = 1; pass <= 2; pass++) {
      const c = createCounters();
      expect(await lastValueFrom(big.pass(() => countedSource(6, c, reads), c).pipe(toArray()))).toHaveLength(6);
    }
    expect(big.isKept).toBe(false);
    expect(reads.n).toBe(2);
    const failing = createPassCache(100);
    const broken = new Observable<Sample>((s) => s.error(new Error('read failed')));
    await expect(lastValueFrom(failing.pass(() => broken, undefined))).rejects.toThrow('read failed');
    expect(failing.isKept).toBe(false);
  });
});

describe('deltaflow train: epochs replayed from the kept pass = epochs read from the file', () => {
  it('the same model weights, metrics.csv, rejected.csv and counters', async () => {
    const cwd = tempDir();
    writeKillData(join(cwd, 'data.csv'), 300, 5);
    const base = ['train', '--data', 'data.csv', '--test', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '8', '--epochs', '3', '--batch', '16',
      '--seed', '2', '--lr', '0.05', '--optimizer', 'adam', '--on-bad-row', 'skip', '--workers', '1', '--json'];
    const kept = await runCli([...base, '--shuffle', '1000', '--out', 'kept'], { cwd });
    expect(kept.code, kept.stderr).toBe(0);
    const read = await runCli([...base, '--shuffle', '301', '--out', 'read'], { cwd });
    expect(read.code, read.stderr).toBe(0);
    const a = readRun(join(cwd, 'kept'));
    const b = readRun(join(cwd, 'read'));
    const layers = (m: Buffer): unknown => (JSON.parse(m.toString('utf8')) as { layers: unknown }).layers;
    expect(layers(a.model)).toEqual(layers(b.model));
    expect(a.metrics).toBe(b.metrics);
    expect(a.rejected).toBe(b.rejected);
    expect(a.rejected?.trim().split('\n')).toHaveLength(1 + 2);
    expect(a.summary).toEqual(b.summary);
    expect(a.summary).toMatchObject({ rowsTrained: 300, rowsSkipped: 2, dataRows: 302, epochs: 3 });
  }, 60_000);
});
