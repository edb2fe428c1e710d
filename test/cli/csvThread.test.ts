/**
 * `deltaflow train --csv-thread`: parsing the CSV files on a thread of their own changes nothing a run
 * writes — model.json byte for byte, metrics.csv (timing aside), rejected.csv and the summary counters
 * are those of the same run parsing on the training thread, with bad rows skipped, a test file, a
 * shuffle window and checkpoints; a run stopped by SIGTERM on the thread resumes to the same files.
 * The start line says how many workers were chosen and why, and whether the CSV has its own thread.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './cliHelpers.js';
import { readRun, runKillable, writeKillData, type RunResult } from './resumeHelpers.js';

const args = ['train', '--data', 'data.csv', '--test', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '16', '--epochs', '2', '--batch', '16',
  '--shuffle', '64', '--seed', '3', '--lr', '0.05', '--optimizer', 'sgd', '--on-bad-row', 'skip', '--checkpoint-every', '9', '--json', '--json-steps', '--workers', '1'];

describe('deltaflow train --csv-thread on = off', () => {
  let cwd = '';
  let inline: RunResult;

  beforeAll(async () => {
    cwd = tempDir();
    writeKillData(join(cwd, 'data.csv'), 2400, 4);
    const r = await runCli([...args, '--csv-thread', 'off', '--out', 'inline'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    inline = readRun(join(cwd, 'inline'));
  }, 60_000);

  it('the same model.json, metrics.csv, rejected.csv and counters', async () => {
    const r = await runCli([...args, '--csv-thread', 'on', '--out', 'thread'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const thread = readRun(join(cwd, 'thread'));
    expect(thread.model.equals(inline.model)).toBe(true);
    expect(thread.metrics).toBe(inline.metrics);
    expect(thread.rejected).toBe(inline.rejected);
    expect(thread.rejected?.trim().split('\n')).toHaveLength(1 + 5);
    expect(thread.summary).toEqual(inline.summary);
  });

  it('a run on the thread stopped by SIGTERM resumes (on the thread) to the same files', async () => {
    const s = await runKillable([...args, '--csv-thread', 'on', '--out', 'stopped'], { cwd, kill: { afterSteps: 100, signal: 'SIGTERM' } });
    expect(s.code, s.stderr).toBe(143);
    cpSync(join(cwd, 'stopped'), join(cwd, 'resumed'), { recursive: true });
    const r = await runCli(['train', '--resume', 'resumed'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const resumed = readRun(join(cwd, 'resumed'));
    expect(resumed.model.equals(inline.model)).toBe(true);
    expect(resumed.metrics).toBe(inline.metrics);
    expect(resumed.rejected).toBe(inline.rejected);
    expect(resumed.summary).toEqual(inline.summary);
  });

  it('the start line names the workers chosen and the parser thread', async () => {
    const on = await runCli(['train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '16', '--epochs', '1', '--on-bad-row', 'skip', '--csv-thread', 'on', '--out', 'line-on'], { cwd });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout.split('\n')[0]).toMatch(/; 1 worker \(auto: (1 core|split in 2, a slice of 16 rows would be 0\.0 MFLOP and \d+ FLOP per parameter; a worker pays off from \d+ MFLOP and \d+)\), CSV parsing on its own thread; run folder line-on$/);
    const off = await runCli(['train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '16', '--epochs', '1', '--on-bad-row', 'skip', '--workers', '2', '--csv-thread', 'off', '--out', 'line-off'], { cwd });
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout.split('\n')[0]).toMatch(/; 2 workers \(given\); run folder line-off$/);
  });

  it('auto, in file order, parses between the steps when every core computes: a heavy net, or a given count that fills the cores', async () => {
    const heavy = ['train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '512,512', '--batch', '64', '--shuffle', '0', '--epochs', '1', '--on-bad-row', 'skip'];
    const auto = await runCli([...heavy, '--out', 'line-heavy'], { cwd });
    expect(auto.code, auto.stderr).toBe(0);
    expect(auto.stdout.split('\n')[0]).toMatch(/; (1 worker \(auto: 1 core\)|2 workers \(auto: a slice of 32 rows is \d+ MFLOP and \d+ FLOP per parameter; a worker pays off from \d+ MFLOP and \d+; rows parsed between the steps, which beats a parser thread from 1000 training FLOPs per CSV field \(here \d+\)\)); run folder line-heavy$/);
    const given = await runCli([...heavy, '--workers', '2', '--out', 'line-given'], { cwd });
    expect(given.code, given.stderr).toBe(0);
    // One core: auto never starts a parser thread; two: the two workers take both cores.
    expect(given.stdout.split('\n')[0]).toMatch(/; 2 workers \(given\); run folder line-given$/);
  });
});
