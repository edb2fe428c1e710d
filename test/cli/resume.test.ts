/**
 * `deltaflow train` checkpoints beyond the kill test (RELIABILITY.md #39–#42): SIGTERM stops cleanly
 * with a checkpoint and a resume ends like an uninterrupted run; a damaged newest checkpoint is set
 * aside with a warning naming it and the previous one is used; another config or a modified input is
 * refused, listing what differs; an unwritable checkpoint directory stops the run with one line.
 *
 * Runs the built CLI (dist/): build first (`npm test` does).
 */
import { appendFileSync, cpSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './cliHelpers.js';
import { readRun, runKillable, writeKillData, type RunResult } from './resumeHelpers.js';

const ROWS = 1500;
const args = ['train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '16', '--epochs', '3', '--batch', '16', '--shuffle', '64',
  '--seed', '1', '--lr', '0.05', '--optimizer', 'sgd', '--on-bad-row', 'skip', '--checkpoint-every', '7', '--json', '--json-steps', '--workers', '1'];

const checkpoints = (dir: string): string[] => readdirSync(dir).filter((n) => /^ckpt-\d+\.bin$/.test(n)).sort();

describe('deltaflow train --checkpoint-every / --resume', () => {
  let cwd = '';
  let full: RunResult;

  /** A run stopped by SIGTERM after `steps` step lines, copied to `name` (so each test damages its own copy). */
  let stopped = '';

  beforeAll(async () => {
    cwd = tempDir();
    writeKillData(join(cwd, 'data.csv'), ROWS, 9);
    const r = await runCli([...args, '--out', 'full'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    full = readRun(join(cwd, 'full'));
    const s = await runKillable([...args, '--out', 'stopped'], { cwd, kill: { afterSteps: 60, signal: 'SIGTERM' } });
    expect(s.code, s.stderr).toBe(143);
    stopped = s.stderr;
  }, 60_000);

  const copyOfStopped = (name: string): string => {
    cpSync(join(cwd, 'stopped'), join(cwd, name), { recursive: true });
    return name;
  };

  it('SIGTERM: exit 143 after a checkpoint, naming it and how to resume; the resume ends byte-identical', async () => {
    expect(stopped).toMatch(/SIGTERM received: stopping at the next step with a checkpoint/);
    expect(stopped).toMatch(/stopped by SIGTERM after step (\d+); checkpoint stopped\/checkpoints\/ckpt-\d+\.bin\n/);
    expect(stopped).toContain('continue with: deltaflow train --resume stopped');
    const dir = copyOfStopped('sigterm');
    const r = await runCli([...args, '--resume', dir], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const resumed = readRun(join(cwd, dir));
    expect(resumed.model.equals(full.model)).toBe(true);
    expect(resumed.metrics).toBe(full.metrics);
    expect(resumed.rejected).toBe(full.rejected);
    expect(resumed.summary).toEqual(full.summary);
  });

  it('--resume RUN alone continues with the options the run was started with, byte-identical', async () => {
    const dir = copyOfStopped('bare-resume');
    const r = await runCli(['train', '--resume', dir], { cwd });
    expect(r.code, r.stderr).toBe(0);
    // The stored --json --json-steps came back too: the output is JSON lines.
    expect(r.stdout.trim().split('\n').every((l) => l.startsWith('{'))).toBe(true);
    const resumed = readRun(join(cwd, dir));
    expect(resumed.model.equals(full.model)).toBe(true);
    expect(resumed.metrics).toBe(full.metrics);
    expect(resumed.rejected).toBe(full.rejected);
    expect(resumed.summary).toEqual(full.summary);
  });

  it('--resume RUN with one option changed is refused, listing the difference', async () => {
    const dir = copyOfStopped('bare-other-lr');
    const r = await runCli(['train', '--resume', dir, '--lr', '0.1'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: checkpoint bare-other-lr\/checkpoints\/ckpt-\d+\.bin was written for a different training config: optimizer\.lr: 0\.05 \(checkpoint\) vs 0\.1 \(now\)\n$/);
  });

  it('--resume-or-start: starts an empty folder, resumes it after a stop, and leaves a completed run alone', async () => {
    const once = [...args, '--out', 'supervised', '--resume-or-start'];
    const first = await runKillable(once, { cwd, kill: { afterSteps: 60, signal: 'SIGTERM' } });
    expect(first.code, first.stderr).toBe(143);
    const second = await runCli(once, { cwd });
    expect(second.code, second.stderr).toBe(0);
    const result = readRun(join(cwd, 'supervised'));
    expect(result.model.equals(full.model)).toBe(true);
    expect(result.metrics).toBe(full.metrics);
    expect(result.summary).toEqual(full.summary);
    const third = await runCli(once, { cwd });
    expect(third.code).toBe(0);
    expect(third.stderr).toBe('deltaflow: the run in supervised is complete (its summary.json says done); nothing to resume\n');
    expect(readFileSync(join(cwd, 'supervised', 'model.json')).equals(full.model)).toBe(true);
    const both = await runCli([...once, '--resume', 'supervised'], { cwd });
    expect(both.stderr).toBe('deltaflow: --resume and --resume-or-start: give one (--resume-or-start takes the run folder from --out)\n');
    const noOut = await runCli(['train', '--resume-or-start'], { cwd });
    expect(noOut.stderr).toBe('deltaflow: --resume-or-start needs --out DIR: the run folder to resume, or to start in\n');
  });

  it('a fresh run refuses a non-empty --out; --force replaces that run\'s files and keeps others', async () => {
    cpSync(join(cwd, 'full'), join(cwd, 'occupied'), { recursive: true });
    rmSync(join(cwd, 'occupied', 'checkpoints'), { recursive: true, force: true });
    writeFileSync(join(cwd, 'occupied', 'notes.txt'), 'mine');
    const short = ['train', '--data', 'data.csv', '--classes', '3', '--model', 'mlp', '--hidden', '4', '--epochs', '1', '--quiet', '--workers', '1', '--on-bad-row', 'skip'];
    const refused = await runCli([...short, '--out', 'occupied'], { cwd });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^deltaflow: --out occupied is not empty \(it holds [^)]+\): choose another folder, continue its run with --resume occupied, or pass --force to replace that run's files\n$/);
    const forced = await runCli([...short, '--out', 'occupied', '--force'], { cwd });
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'occupied', 'notes.txt'), 'utf8')).toBe('mine');
    expect(readFileSync(join(cwd, 'occupied', 'model.json')).equals(full.model)).toBe(false);
  });

  for (const damage of ['bit-flipped', 'truncated'] as const) {
    it(`a ${damage} newest checkpoint: warning naming it, fallback to the previous one, same result`, async () => {
      const dir = copyOfStopped(damage);
      const files = checkpoints(join(cwd, dir, 'checkpoints'));
      expect(files.length).toBe(2);
      const newest = join(cwd, dir, 'checkpoints', files[1]);
      if (damage === 'truncated') truncateSync(newest, 100);
      else {
        const bytes = readFileSync(newest);
        bytes[Math.floor(bytes.length / 2)] ^= 0x10;
        writeFileSync(newest, bytes);
      }
      const r = await runCli([...args, '--resume', dir], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${dir}/checkpoints/${files[1]}`);
      expect(r.stderr).toContain('falling back to the previous checkpoint');
      expect(readdirSync(join(cwd, dir, 'checkpoints'))).toContain(`${files[1]}.corrupt`);
      const resumed = readRun(join(cwd, dir));
      expect(resumed.model.equals(full.model)).toBe(true);
      expect(resumed.metrics).toBe(full.metrics);
      expect(resumed.rejected).toBe(full.rejected);
      expect(resumed.summary).toEqual(full.summary);
    });
  }

  it('a checkpoint of another config (--lr changed) is refused, listing the difference', async () => {
    const dir = copyOfStopped('other-lr');
    const changed = args.map((a, i) => (args[i - 1] === '--lr' ? '0.1' : a));
    const r = await runCli([...changed, '--resume', dir], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: checkpoint other-lr\/checkpoints\/ckpt-\d+\.bin was written for a different training config: optimizer\.lr: 0\.05 \(checkpoint\) vs 0\.1 \(now\)\n$/);
  });

  it('an input modified between the kill and the resume is refused; --allow-input-change accepts it', async () => {
    const dir = copyOfStopped('changed-input');
    cpSync(join(cwd, 'data.csv'), join(cwd, 'data-copy.csv'));
    const moved = args.map((a) => (a === 'data.csv' ? 'data-copy.csv' : a));
    appendFileSync(join(cwd, 'data-copy.csv'), '0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,1.0,1.1,1.2,2\n');
    const r = await runCli([...moved, '--resume', dir], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: input data-copy\.csv is not the input checkpoint changed-input\/checkpoints\/ckpt-\d+\.bin was taken from: input\.size: \d+ \(checkpoint\) vs \d+ \(now\);/);
    const allowed = await runCli([...moved, '--resume', dir, '--allow-input-change'], { cwd });
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it('--resume of a folder without checkpoints, and a fresh run into one with checkpoints, are errors', async () => {
    const none = await runCli([...args, '--resume', 'full-none'], { cwd });
    expect(none.stderr).toBe('deltaflow: --resume full-none: no such directory (give the run folder)\n');
    cpSync(join(cwd, 'full'), join(cwd, 'no-ckpt'), { recursive: true });
    // A completed run has nothing to resume (exit 0); one that did not complete and has no checkpoint is an error.
    const complete = await runCli([...args.filter((a) => a !== '--checkpoint-every' && a !== '7'), '--resume', 'no-ckpt', '--checkpoint-dir', 'no-ckpt/elsewhere'], { cwd });
    expect(complete.code, complete.stderr).toBe(0);
    expect(complete.stderr).toBe('deltaflow: the run in no-ckpt is complete (its summary.json says done); nothing to resume\n');
    rmSync(join(cwd, 'no-ckpt', 'summary.json'));
    const noCkpt = await runCli([...args.filter((a) => a !== '--checkpoint-every' && a !== '7'), '--resume', 'no-ckpt', '--checkpoint-dir', 'no-ckpt/elsewhere'], { cwd });
    expect(noCkpt.code).toBe(1);
    expect(noCkpt.stderr).toBe('deltaflow: --resume no-ckpt: no checkpoint in no-ckpt/elsewhere\n');
    const dir = copyOfStopped('fresh-over');
    const fresh = await runCli([...args, '--out', dir], { cwd });
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toBe(`deltaflow: ${dir}/checkpoints already holds checkpoints of an earlier run: continue it with --resume ${dir}, or choose another --out or --checkpoint-dir (--force replaces that run)\n`);
  });

  it('--max-bad-fraction: a resumed pass counts the rows skipped before its checkpoint, though it skips none itself', async () => {
    // 30 bad rows at the top of 4,000: every checkpoint lies past them (the window of 64 is filled before step 1).
    const lines = ['a,b,c,label'];
    for (let i = 0; i < 30; i++) lines.push(`${i},abc,1,0`);
    for (let i = 0; i < 4000; i++) lines.push(`${(i % 7) / 7},${(i % 5) / 5},${(i % 3) / 3},${i % 3}`);
    writeFileSync(join(cwd, 'top-bad.csv'), `${lines.join('\n')}\n`);
    const budget = ['train', '--data', 'top-bad.csv', '--classes', '3', '--model', 'mlp', '--hidden', '8', '--epochs', '1', '--batch', '16', '--shuffle', '64',
      '--seed', '1', '--optimizer', 'sgd', '--on-bad-row', 'skip', '--max-bad-fraction', '0.005', '--checkpoint-every', '7', '--json', '--json-steps', '--workers', '1'];
    const detail = 'too many bad rows: 30 of 4030 rows skipped (0.7%), more than maxBadFraction 0.005';
    const whole = await runCli([...budget, '--out', 'budget-full'], { cwd });
    expect(whole.code).toBe(1);
    expect(whole.stderr).toContain(`deltaflow: top-bad.csv:31: ${detail} (last: `);
    const stop = await runKillable([...budget, '--out', 'budget'], { cwd, kill: { afterSteps: 1, signal: 'SIGTERM' } });
    expect(stop.code, stop.stderr).toBe(143);
    const resumed = await runCli([...budget, '--resume', 'budget'], { cwd });
    expect(resumed.code).toBe(1);
    expect(resumed.stderr).toMatch(new RegExp(`^deltaflow: top-bad\\.csv: ${detail.replace(/[().]/g, '\\$&')} \\(every skip counted before byte offset \\d+, where this read resumed\\)`));
    // The failed runs report the same counters, and rejected.csv kept the 30 rows skipped before the checkpoint.
    const summary = (dir: string): unknown => {
      const { status, rowsTrained, rowsSkipped, dataRows, skippedByCode } = JSON.parse(readFileSync(join(cwd, dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
      return { status, rowsTrained, rowsSkipped, dataRows, skippedByCode };
    };
    expect(summary('budget')).toEqual(summary('budget-full'));
    expect(summary('budget')).toMatchObject({ status: 'failed', rowsSkipped: 30, dataRows: 4030 });
    const rejected = readFileSync(join(cwd, 'budget', 'rejected.csv'), 'utf8');
    expect(rejected).toBe(readFileSync(join(cwd, 'budget-full', 'rejected.csv'), 'utf8'));
    expect(rejected.trimEnd().split('\n')).toHaveLength(1 + 30);
  });

  it('a checkpoint directory that cannot be written stops the run with one line', async () => {
    writeFileSync(join(cwd, 'a-file'), 'x');
    const r = await runCli([...args, '--out', 'unwritable', '--checkpoint-dir', 'a-file/ckpt'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: cannot use the checkpoint directory a-file\/ckpt: a component of the path is not a directory \(ENOTDIR\); no checkpoint was written\n$/);
  });
});
