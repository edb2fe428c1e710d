/**
 * `--follow` on the command line: a writer process appends rows to a CSV in random chunks — lines
 * split across writes at any byte — while `deltaflow online --follow` and `deltaflow predict --follow`
 * tail it. Each sees every row exactly once, in order: once the writer is done and SIGINT has stopped
 * them, online's summary counts every row once and its metrics.csv equals a run over the finished
 * file; predict wrote one line per row, the same lines as a run over the finished file. `train
 * --follow` stops with a checkpoint and model.json (at once, though the file is idle), and resumes on
 * the grown file to the weights of one run never stopped; `online --follow` resumes the same way to
 * the metrics of one run over the whole file. A partial last line is read only once its newline
 * arrives. A truncated or rotated file ends the run with a line saying so.
 *
 * Runs the built CLI (dist/): build first (`npm test` does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir } from './cliHelpers.js';

const N = 1500;

/** Every child started, so a failed test leaves none running (a follower never ends by itself). */
const children = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

/** A child process of the CLI whose stdout and stderr are collected; `exited` resolves with its code. */
function start(args: readonly string[], cwd: string): { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, DELTAFLOW_DEBUG: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr?.setEncoding('utf8').on('data', (s: string) => (err += s));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, out: () => out, err: () => err, exited };
}

async function until(what: string, isDone: () => boolean, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!isDone()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** The writer: appends `text` to `path` in chunks of 1–300 bytes, 0–3 ms apart (seeded), in its own process. */
function runWriter(path: string, text: string, seed: number): Promise<number | null> {
  const script = `
    const fs = require('node:fs');
    const text = fs.readFileSync(process.argv[2], 'utf8');
    let a = ${seed};
    const u = () => { a = (a + 0x6d2b79f5) | 0; let t = Math.imul(a ^ (a >>> 15), 1 | a); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
    const fd = fs.openSync(process.argv[1], 'a');
    let at = 0, chunks = 0, split = 0;
    const step = () => {
      if (at >= text.length) { fs.closeSync(fd); process.stdout.write(chunks + ' ' + split); return; }
      const n = 1 + Math.floor(u() * 300);
      const piece = text.slice(at, at + n);
      fs.writeSync(fd, piece);
      at += piece.length; chunks++;
      if (!piece.endsWith('\\n')) split++;
      setTimeout(step, Math.floor(u() * 4));
    };
    step();`;
  const source = `${path}.rows`;
  writeFileSync(source, text);
  const child = spawn(process.execPath, ['-e', script, path, source], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout?.setEncoding('utf8').on('data', (s: string) => (out += s));
  return new Promise((resolve) => child.on('close', (code) => {
    const [chunks, split] = out.split(' ').map(Number);
    expect(chunks).toBeGreaterThan(50);
    expect(split).toBeGreaterThan(25);
    resolve(code);
  }));
}

describe('--follow: a growing file, written in pieces by another process', () => {
  let cwd = '';
  let header = '';
  let body = '';

  beforeAll(async () => {
    cwd = tempDir();
    const g = await runCli(['generate', 'stagger', '--rows', String(N), '--drift-at', '700', '--seed', '8', '--out', 'gen.csv'], { cwd });
    expect(g.code, g.stderr).toBe(0);
    const lines = readFileSync(join(cwd, 'gen.csv'), 'utf8').trimEnd().split('\n');
    header = `id,${lines[0]}`;
    body = lines.slice(1).map((l, i) => `r${i},${l}\n`).join('');
    writeFileSync(join(cwd, 'all.csv'), `${header}\n${body}`);
    const t = await runCli(['train', '--data', 'all.csv', '--exclude', 'id', '--classes', '2', '--epochs', '1', '--workers', '1', '--json', '--out', 'trained'], { cwd });
    expect(t.code, t.stderr).toBe(0);
  }, 60_000);

  it('online --follow and predict --follow see every row exactly once, in order, as a run over the finished file', async () => {
    const path = join(cwd, 'grow.csv');
    writeFileSync(path, `${header}\n`);
    const online = start(['online', '--data', 'grow.csv', '--follow', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '100', '--json', '--out', 'followed'], cwd);
    const predict = start(['predict', '--model', 'trained/model.json', '--data', 'grow.csv', '--follow', '--keep', 'id'], cwd);
    expect(await runWriter(path, body, 31)).toBe(0);
    await until('online to learn every row', () => online.out().includes(`"row":${N},`));
    await until('predict to write every row', () => predict.out().split('\n').length >= N + 2);
    online.child.kill('SIGINT');
    predict.child.kill('SIGINT');
    expect(await online.exited, online.err()).toBe(130);
    expect(await predict.exited, predict.err()).toBe(130);

    const summary = JSON.parse(readFileSync(join(cwd, 'followed', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'stopped', rows: N, rowsTrained: N, rowsSkipped: 0, dataRows: N, learners: [{ scored: N }] });
    const whole = await runCli(['online', '--data', 'grow.csv', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '100', '--json', '--out', 'whole'], { cwd });
    expect(whole.code, whole.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'followed', 'metrics.csv'), 'utf8')).toBe(readFileSync(join(cwd, 'whole', 'metrics.csv'), 'utf8'));

    const lines = predict.out().trimEnd().split('\n');
    expect(lines).toHaveLength(N + 1);
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(Array.from({ length: N }, (_, i) => `r${i}`));
    const once = await runCli(['predict', '--model', 'trained/model.json', '--data', 'grow.csv', '--keep', 'id'], { cwd });
    expect(predict.out()).toBe(once.stdout);
    expect(predict.err()).toBe(`deltaflow: stopped by SIGINT after ${N} rows\n`);
  }, 60_000);

  it('train --follow: SIGINT stops with a checkpoint and model.json; --resume reads on from where it stopped after the file grew', async () => {
    const path = join(cwd, 'train-grow.csv');
    const rows = body.split('\n');
    // 605 rows: the last 5 wait in a half-filled batch when SIGINT comes; the checkpoint is the step at 600, and a resume reads them again.
    writeFileSync(path, `${header}\n${rows.slice(0, 605).join('\n')}\n`);
    const args = ['train', '--data', 'train-grow.csv', '--follow', '--exclude', 'id', '--classes', '2', '--batch', '10', '--shuffle', '0', '--optimizer', 'sgd', '--workers', '1', '--json', '--json-steps', '--out', 'tf'];
    const first = start(args, cwd);
    await until('600 rows trained', () => first.out().includes('"samples":600,'));
    first.child.kill('SIGINT');
    expect(await first.exited, first.err()).toBe(130);
    expect(first.err()).toBe('deltaflow: SIGINT received: stopping now with a checkpoint (send it again to exit at once)\ndeltaflow: stopped by SIGINT after step 60; checkpoint tf/checkpoints/ckpt-00000001.bin\ndeltaflow: continue with: deltaflow train --resume tf\n');
    expect(JSON.parse(readFileSync(join(cwd, 'tf', 'model.json'), 'utf8'))).toMatchObject({ meta: { training: { rows: 600 } } });
    writeFileSync(path, `${rows.slice(605, 900).join('\n')}\n`, { flag: 'a' });
    const second = start(['train', '--resume', 'tf'], cwd);
    await until('900 rows trained', () => second.out().includes('"samples":900,'));
    second.child.kill('SIGINT');
    expect(await second.exited, second.err()).toBe(130);
    // The steps after the resume start at row 601: no row read twice, none skipped.
    const steps = second.out().trim().split('\n').map((l) => JSON.parse(l) as { type: string; samples: number }).filter((l) => l.type === 'step');
    expect(steps[0].samples).toBe(610);
    expect(steps.at(-1)?.samples).toBe(900);
    // And the weights are those of one run over the 900 rows, never stopped.
    writeFileSync(join(cwd, 'first-900.csv'), `${header}\n${rows.slice(0, 900).join('\n')}\n`);
    const once = await runCli(['train', '--data', 'first-900.csv', ...args.slice(4, -2), '--epochs', '1', '--out', 'tf-once'], { cwd });
    expect(once.code, once.stderr).toBe(0);
    const layers = (dir: string): unknown => (JSON.parse(readFileSync(join(cwd, dir, 'model.json'), 'utf8')) as { layers: unknown }).layers;
    expect(layers('tf')).toEqual(layers('tf-once'));
  }, 60_000);

  it('online --follow: SIGINT stops with a checkpoint; --resume follows on from the next row after the file grew, and ends as one run over the whole file', async () => {
    const path = join(cwd, 'resume-grow.csv');
    const rows = body.trimEnd().split('\n');
    writeFileSync(path, `${header}\n${rows.slice(0, 700).join('\n')}\n`);
    const args = ['online', '--data', 'resume-grow.csv', '--follow', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '100', '--json', '--out', 'resumed'];
    const first = start(args, cwd);
    await until('700 rows learned', () => first.out().includes('"row":700,'));
    first.child.kill('SIGINT');
    expect(await first.exited, first.err()).toBe(130);
    expect(first.err()).toMatch(/^deltaflow: SIGINT received: .*\ndeltaflow: stopped by SIGINT after row 700; checkpoint resumed\/checkpoints\/ckpt-\d+\.bin\ndeltaflow: continue with: deltaflow online --resume resumed\n$/);
    // The rest arrives in two pieces, the first (written while no reader runs) ending in the middle of a line.
    const rest = `${rows.slice(700).join('\n')}\n`;
    const cut = rest.indexOf('\n', rest.length / 3) - 3;
    writeFileSync(path, rest.slice(0, cut), { flag: 'a' });
    const second = start(['online', '--resume', 'resumed'], cwd);
    await until('the rows of the first piece learned', () => second.out().includes('"row":900,'));
    writeFileSync(path, rest.slice(cut), { flag: 'a' });
    await until('every row learned', () => second.out().includes(`"row":${N},`));
    second.child.kill('SIGINT');
    expect(await second.exited, second.err()).toBe(130);
    // The reports after the resume start at row 800: none repeated, none missing.
    const reports = second.out().trim().split('\n').map((l) => JSON.parse(l) as { type: string; row: number }).filter((l) => l.type === 'progress');
    expect(reports.map((r) => r.row)).toEqual(Array.from({ length: (N - 700) / 100 }, (_, i) => 800 + 100 * i));
    const summary = JSON.parse(readFileSync(join(cwd, 'resumed', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'stopped', rows: N, rowsTrained: N, dataRows: N, learners: [{ scored: N }] });
    const whole = await runCli(['online', '--data', 'all.csv', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '100', '--json', '--out', 'whole-resumed'], { cwd });
    expect(whole.code, whole.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'resumed', 'metrics.csv'), 'utf8')).toBe(readFileSync(join(cwd, 'whole-resumed', 'metrics.csv'), 'utf8'));
  }, 60_000);

  it('a partial last line waits for its line ending: it is read once its newline arrives, never before', async () => {
    const path = join(cwd, 'partial.csv');
    const rows = body.trimEnd().split('\n');
    writeFileSync(path, `${header}\n${rows.slice(0, 20).join('\n')}\n`);
    // Read early, the partial row would be a bad row (too few fields) and end the run with an error.
    const [id, ...fields] = rows[20].split(',');
    const cut = `${id},${fields.slice(0, 2).join(',')}`;
    const online = start(['online', '--data', 'partial.csv', '--follow', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '1', '--json', '--out', 'partial'], cwd);
    await until('20 rows learned', () => online.out().includes('"row":20,'));
    writeFileSync(path, cut, { flag: 'a' });
    // Several polls of the file (every 100 ms) see the partial line and leave it.
    await new Promise((r) => setTimeout(r, 600));
    expect(online.out()).not.toContain('"row":21,');
    expect(online.child.exitCode).toBeNull();
    writeFileSync(path, `${rows[20].slice(cut.length)}\n`, { flag: 'a' });
    await until('row 21 learned', () => online.out().includes('"row":21,'));
    online.child.kill('SIGINT');
    expect(await online.exited, online.err()).toBe(130);
    const summary = JSON.parse(readFileSync(join(cwd, 'partial', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'stopped', rows: 21, rowsTrained: 21, rowsSkipped: 0, dataRows: 21 });
  }, 30_000);

  it('a rotated file (renamed, a new one created at its path) ends online --follow with a line saying so, after the rows of the old file', async () => {
    const path = join(cwd, 'rotate.csv');
    const rows = body.trimEnd().split('\n');
    writeFileSync(path, `${header}\n${rows.slice(0, 50).join('\n')}\n`);
    const online = start(['online', '--data', 'rotate.csv', '--follow', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '10', '--json', '--out', 'rotate'], cwd);
    await until('50 rows', () => online.out().includes('"row":50,'));
    renameSync(path, join(cwd, 'rotate.csv.1'));
    // Appended to the old file after the rename: still read (the open file is read to its end).
    writeFileSync(join(cwd, 'rotate.csv.1'), `${rows.slice(50, 65).join('\n')}\n`, { flag: 'a' });
    writeFileSync(path, `${header}\n`);
    expect(await online.exited).toBe(1);
    expect(online.err()).toMatch(/^deltaflow: rotate\.csv: cannot read at byte offset \d+: the file was rotated \(the path now names another file, inode \d+ instead of \d+\); every row of the old file was read — read the new file from its start\n$/);
    // Reported every 10 rows: the last report is at row 60, and the summary counts the 65 rows learned.
    expect(online.out()).toContain('"row":60,');
    const summary = JSON.parse(readFileSync(join(cwd, 'rotate', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'failed', rows: 65, rowsTrained: 65, dataRows: 65 });
  }, 30_000);

  it('a truncated file ends online --follow with a line saying so', async () => {
    const path = join(cwd, 'cut.csv');
    writeFileSync(path, `${header}\n${body.split('\n').slice(0, 50).join('\n')}\n`);
    const online = start(['online', '--data', 'cut.csv', '--follow', '--id', 'id', '--classes', '2', '--model', 'mlp', '--window', '50', '--json', '--out', 'cut'], cwd);
    await until('50 rows', () => online.out().includes('"row":50,'));
    truncateSync(path, header.length + 1);
    expect(await online.exited).toBe(1);
    expect(online.err()).toMatch(/^deltaflow: cut\.csv: cannot read at byte offset \d+: the file was truncated \(its size is now \d+ bytes\); rows written since may be lost, so reading stops\n$/);
  }, 30_000);
});
