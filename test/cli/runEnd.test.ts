/**
 * How a training run ends, and what its summary.json says then:
 * - SIGINT stops at the next step even when the whole file sits in the shuffle window (the steps then
 *   run inside the window's end-of-stream flush), and a second SIGINT exits at once;
 * - a stopped or failed run counts as trained only the rows an update was computed from; rows that
 *   were read but still sat in the shuffle window are `rowsPending`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir } from './cliHelpers.js';
import { runKillable } from './resumeHelpers.js';

/** `f0..f{k-1},label`: 3 noisy classes. */
function writeRows(path: string, n: number, features: number, seed: number): void {
  const u = rng(seed);
  const lines = [[...Array.from({ length: features }, (_, i) => `f${i}`), 'label'].join(',')];
  for (let i = 0; i < n; i++) lines.push([...Array.from({ length: features }, (_, j) => ((j % 3 === i % 3 ? 1 : 0) + u()).toFixed(3)), String(i % 3)].join(','));
  writeFileSync(path, `${lines.join('\n')}\n`);
}

const summaryOf = (dir: string): Record<string, unknown> => JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;

describe('how a training run ends', () => {
  let cwd = '';
  // 8,000 rows in a shuffle window of 8,192: an epoch's 1,000 steps all run in the window's flush.
  const args = ['train', '--data', 'rows.csv', '--classes', '3', '--model', 'mlp', '--hidden', '384,384', '--epochs', '3', '--batch', '8', '--shuffle', '8192',
    '--optimizer', 'sgd', '--lr', '0.01', '--workers', '1', '--json', '--json-steps'];
  beforeAll(() => {
    cwd = tempDir();
    writeRows(join(cwd, 'rows.csv'), 8000, 32, 1);
  });

  it('SIGINT inside the shuffle window\'s flush stops at the next step with a checkpoint, and summary.json says stopped', async () => {
    const r = await runKillable([...args, '--out', 'stopped'], { cwd, kill: { afterSteps: 30, signal: 'SIGINT' } });
    expect(r.code, r.stderr).toBe(130);
    const at = /stopped by SIGINT after step (\d+); checkpoint/.exec(r.stderr);
    expect(at, r.stderr).not.toBeNull();
    const step = Number(at?.[1]);
    // Long before the epoch's end at step 1000 (where a flush that never yields would stop).
    expect(step).toBeGreaterThanOrEqual(30);
    expect(step).toBeLessThan(600);
    const summary = summaryOf(join(cwd, 'stopped'));
    expect(summary).toMatchObject({ status: 'stopped', signal: 'SIGINT', steps: step, epochs: 0, rowsTrained: step * 8, rowsSkipped: 0, dataRows: 8000 });
    expect(summary.rowsPending).toBe(8000 - step * 8);
  });

  it('a second SIGINT exits at once, without a checkpoint', async () => {
    const r = await runKillable([...args, '--out', 'twice'], { cwd, kill: { afterSteps: 30, signal: 'SIGINT', times: 2 } });
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('second SIGINT: exiting now, without a checkpoint');
    expect(r.steps).toBeLessThan(600);
  });

  it('a run failing at row 5 with 4 rows in the shuffle window reports 0 trained, 4 pending', async () => {
    writeFileSync(join(cwd, 'missing.csv'), 'a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n9,,0\n');
    const r = await runCli(['train', '--data', 'missing.csv', '--classes', '2', '--out', 'failed', '--quiet'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('deltaflow: missing.csv:6:2 (column "b"): missing value (empty field)\n');
    expect(summaryOf(join(cwd, 'failed'))).toMatchObject({ status: 'failed', steps: 0, rowsTrained: 0, rowsPending: 4, rowsSkipped: 0, dataRows: 4 });
  });

  it('a run that completes reports every row trained and none pending', async () => {
    const r = await runCli(['train', '--data', 'rows.csv', '--classes', '3', '--model', 'mlp', '--hidden', '8', '--epochs', '1', '--out', 'done', '--quiet', '--workers', '1'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(summaryOf(join(cwd, 'done'))).toMatchObject({ status: 'done', rowsTrained: 8000, rowsPending: 0, rowsSkipped: 0, dataRows: 8000 });
  });
});
