/**
 * metrics.csv of a run folder: step rows are handed to the file together, and every row added is in
 * the file after an epoch row, after flushMetrics (what a checkpoint calls before it is written),
 * and after close.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type MetricsRow, openRunFolder } from '../../scripts/runFolder.js';

const dir = mkdtempSync(join(tmpdir(), 'deltaflow-runfolder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stepRow = (step: number): MetricsRow => ({ kind: 'step', epoch: 1, step, samples: 32 * step, loss: 1 / step, accuracy: 0.5, testLoss: null, testAccuracy: null, lr: 0.1, seconds: step / 100 });

/** The data rows of metrics.csv once they reach `n` (the stream writes in the background). */
async function rowsWhen(path: string, n: number): Promise<string[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const rows = existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(1) : [];
    if (rows.length >= n || Date.now() > deadline) return rows;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('metrics.csv hand-over', () => {
  it('an epoch row, flushMetrics and close each put every row added so far into the file, in order', async () => {
    const run = await openRunFolder(join(dir, 'a'));
    for (let s = 1; s <= 5; s++) run.addMetrics(stepRow(s));
    run.addMetrics({ ...stepRow(5), kind: 'epoch', testLoss: 0.3, testAccuracy: 0.9 });
    const afterEpoch = await rowsWhen(run.metricsPath, 6);
    expect(afterEpoch).toHaveLength(6);
    expect(afterEpoch.map((l) => l.split(',')[0])).toEqual(['step', 'step', 'step', 'step', 'step', 'epoch']);

    for (let s = 6; s <= 9; s++) run.addMetrics(stepRow(s));
    run.flushMetrics();
    expect(await rowsWhen(run.metricsPath, 10)).toHaveLength(10);

    run.addMetrics(stepRow(10));
    await run.close();
    const all = readFileSync(run.metricsPath, 'utf8').trim().split('\n');
    expect(all).toHaveLength(12);
    expect(all.slice(1).map((l) => l.split(',')[2])).toEqual(['1', '2', '3', '4', '5', '5', '6', '7', '8', '9', '10']);
  });
});
