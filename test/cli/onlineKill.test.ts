/**
 * The kill test of `deltaflow online` on a file: two learners with drift detectors and reactions
 * (boost-lr + reset-optimizer; a background learner) on STAGGER with two concept changes, labels 10 rows late, online normalization and
 * a few bad rows skipped, checkpointed every 40 rows, are SIGKILLed again and again — after a seeded
 * random number of report lines, and every 4th time while a checkpoint is being written (between the
 * fsynced temp file and its rename) — and restarted as a supervisor would: `--resume RUN` alone, or
 * the full command with `--resume-or-start`, or (before any checkpoint exists) the full command. The
 * run must end with model files byte-identical to an uninterrupted run's, the same metrics.csv,
 * events.csv and summary (timing and paths aside), and every row counted once.
 *
 * Also: SIGINT stops at the next row with a checkpoint (exit 130, summary `stopped`) and the resume
 * ends the same; another config is refused, naming the difference.
 *
 * Runs the built CLI (dist/): build first (`npm test` does).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir } from './cliHelpers.js';
import { hasCheckpoint, runKillable, tempFiles, type KillPlan } from './resumeHelpers.js';

const ROWS = 3000;
const BAD_AT = [100, 777, 1500, 2222];
const args = (): string[] => [
  'online', '--data', 'stagger.csv', '--classes', '2', '--window', '50', '--delay', '10', '--normalize', 'online', '--on-bad-row', 'skip', '--checkpoint-every', '40', '--json',
  '--learner', 'model=mlp,hidden=16,lr=0.05,detector=adwin,reaction=boost-lr:factor=4:rows=200+reset-optimizer,name=a',
  '--learner', 'model=mlp,hidden=8,optimizer=adam,lr=0.01,detector=ddm,reaction=background:window=100,name=b',
];
const PROGRESS = '{"type":"progress"';

interface Result {
  readonly models: Buffer[];
  readonly metrics: string;
  readonly events: string;
  /** summary.json without its timing and the run folder's paths. */
  readonly summary: Record<string, unknown>;
}

function readResult(dir: string): Result {
  const summary = JSON.parse(readFileSync(join(dir, 'summary.json'), 'utf8')) as Record<string, unknown>;
  const { seconds: _seconds, models: _models, ...rest } = summary;
  return {
    models: ['model-a.json', 'model-b.json'].map((m) => readFileSync(join(dir, m))),
    metrics: readFileSync(join(dir, 'metrics.csv'), 'utf8'),
    events: readFileSync(join(dir, 'events.csv'), 'utf8'),
    summary: rest,
  };
}

const REMOVED = /removed (\S+), left by an interrupted checkpoint write/g;

describe('kill test: deltaflow online on a file, repeated SIGKILL and resume', () => {
  let cwd = '';
  let full: Result;

  beforeAll(async () => {
    cwd = tempDir();
    // STAGGER's concept changes at rows 1000 and 2000 flip most labels: both detectors fire.
    const g = await runCli(['generate', 'stagger', '--rows', String(ROWS), '--drift-at', '1000,2000', '--seed', '11', '--out', 'gen.csv'], { cwd });
    expect(g.code, g.stderr).toBe(0);
    const lines = readFileSync(join(cwd, 'gen.csv'), 'utf8').trimEnd().split('\n');
    // Four bad rows (skipped and counted): a non-number, a missing field, a label out of range, hex.
    const bad = ['abc,1,2,0', '1,2,0', '1,2,3,7', '0x10,1,2,1'];
    BAD_AT.forEach((at, i) => lines.splice(at + i + 1, 0, bad[i]));
    writeFileSync(join(cwd, 'stagger.csv'), `${lines.join('\n')}\n`);
    const r = await runCli([...args(), '--out', 'full'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    full = readResult(join(cwd, 'full'));
  }, 60_000);

  it('the uninterrupted run met drifts, reacted (a boost, a background learner) and counted every row once', () => {
    const events = full.events.split('\n');
    expect(events.some((e) => e.includes(',reaction,,,,boost-lr,learning rate ×4 for 200 rows'))).toBe(true);
    expect(events.some((e) => /background learner started/.test(e))).toBe(true);
    expect(events.some((e) => /background learner dropped/.test(e))).toBe(true);
    expect(full.summary).toMatchObject({ status: 'done', rows: ROWS, rowsTrained: ROWS, rowsSkipped: BAD_AT.length, dataRows: ROWS + BAD_AT.length });
    expect((full.summary.learners as { scored: number }[]).map((l) => l.scored)).toEqual([ROWS, ROWS]);
  });

  it('≥ 10 SIGKILLs (≥ 2 during a checkpoint write), each restarted: byte-identical models, the same metrics, events and summary', async () => {
    const u = rng(4242);
    const out = 'killed';
    const checkpoints = join(cwd, out, 'checkpoints');
    let kills = 0;
    let killsDuringWrite = 0;
    let tempLeft = 0;
    let tempRemoved = 0;
    const restarts = { resumeOnly: 0, resumeOrStart: 0, fresh: 0 };
    for (let cycle = 0; ; cycle++) {
      const isResume = hasCheckpoint(checkpoints);
      let argv: string[];
      if (!isResume) {
        restarts.fresh++;
        argv = [...args(), '--out', out, '--force'];
      } else if (cycle % 2 === 0) {
        restarts.resumeOnly++;
        argv = ['online', '--resume', out];
      } else {
        restarts.resumeOrStart++;
        argv = [...args(), '--out', out, '--resume-or-start'];
      }
      const isWriteKill = cycle % 4 === 3;
      const kill: KillPlan | undefined = kills >= 12 ? undefined : isWriteKill ? { onTempIn: join(out, 'checkpoints') } : { afterSteps: 1 + Math.floor(u() * 6) };
      const r = await runKillable(argv, { cwd, kill, linePrefix: PROGRESS, env: isWriteKill ? { DELTAFLOW_CKPT_PAUSE_MS: '300' } : {} });
      tempRemoved += [...r.stderr.matchAll(REMOVED)].length;
      if (r.code === 0) break;
      if (r.signal !== 'SIGKILL') throw new Error(`cycle ${cycle} ended with code ${r.code}: ${r.stderr}`);
      kills++;
      const left = tempFiles(checkpoints);
      tempLeft += left.length;
      if (left.length > 0) killsDuringWrite++;
    }
    process.stdout.write(`online kill test: ${kills} SIGKILLs (${killsDuringWrite} during a checkpoint write), restarts ${JSON.stringify(restarts)}, ${tempLeft} temp files left and ${tempRemoved} cleaned\n`);
    expect(kills).toBeGreaterThanOrEqual(10);
    expect(killsDuringWrite).toBeGreaterThanOrEqual(2);
    expect(restarts.resumeOnly).toBeGreaterThanOrEqual(2);
    expect(restarts.resumeOrStart).toBeGreaterThanOrEqual(2);
    expect(tempRemoved).toBe(tempLeft);
    expect(tempFiles(checkpoints)).toEqual([]);
    const got = readResult(join(cwd, out));
    got.models.forEach((m, i) => expect(m.equals(full.models[i]), `model-${'ab'[i]}.json`).toBe(true));
    expect(got.metrics).toBe(full.metrics);
    expect(got.events).toBe(full.events);
    expect(got.summary).toEqual(full.summary);
  }, 120_000);

  it('SIGINT: exit 130 at the next row with a checkpoint, summary stopped; --resume ends the same as the uninterrupted run', async () => {
    const s = await runKillable([...args(), '--out', 'interrupted'], { cwd, kill: { afterSteps: 20, signal: 'SIGINT' }, linePrefix: PROGRESS });
    expect(s.code, s.stderr).toBe(130);
    expect(s.stderr).toMatch(/SIGINT received: stopping with a checkpoint once the row in hand is learned \(at once while waiting for rows; send it again to exit at once\)/);
    const m = /stopped by SIGINT after row (\d+); checkpoint (\S+)\n/.exec(s.stderr);
    expect(m).not.toBeNull();
    expect(basename(m?.[2] ?? '')).toMatch(/^ckpt-\d+\.bin$/);
    expect(s.stderr).toContain('continue with: deltaflow online --resume interrupted');
    const stopped = JSON.parse(readFileSync(join(cwd, 'interrupted', 'summary.json'), 'utf8')) as { status: string; signal: string; rows: number };
    expect(stopped).toMatchObject({ status: 'stopped', signal: 'SIGINT', rows: Number(m?.[1]) });
    expect(existsSync(join(cwd, 'interrupted', 'model-a.json'))).toBe(false);
    const r = await runCli(['online', '--resume', 'interrupted'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const got = readResult(join(cwd, 'interrupted'));
    got.models.forEach((mm, i) => expect(mm.equals(full.models[i])).toBe(true));
    expect(got.metrics).toBe(full.metrics);
    expect(got.events).toBe(full.events);
    expect(got.summary).toEqual(full.summary);
    const again = await runCli(['online', '--resume', 'interrupted'], { cwd });
    expect(again.stderr).toBe('deltaflow: the run in interrupted is complete (its summary.json says done); nothing to resume\n');
  }, 60_000);

  it('--resume with another config is refused, listing the difference', async () => {
    const s = await runKillable([...args(), '--out', 'other'], { cwd, kill: { afterSteps: 5, signal: 'SIGTERM' }, linePrefix: PROGRESS });
    expect(s.code, s.stderr).toBe(143);
    const r = await runCli(['online', '--resume', 'other', '--window', '60'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: checkpoint other\/checkpoints\/ckpt-\d+\.bin was written for a different training config: window: 50 \(checkpoint\) vs 60 \(now\)/);
  });
});
