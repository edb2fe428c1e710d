/**
 * `deltaflow generate`: the CSV it writes parses back to the library's rows exactly, --out writes the
 * same bytes atomically, train and online read the file, a closed stdout ends it quietly, and bad
 * options are one line naming the option.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateRows } from '../../src/streams/sources/generators/generateRows.js';
import { CLI, runCli, tempDir } from './cliHelpers.js';

let dir = '';

beforeAll(() => {
  dir = tempDir();
});

describe('deltaflow generate', () => {
  const cases: [string, string[], Parameters<typeof generateRows>[1]][] = [
    ['sea', ['--drift-at', '300,600', '--width', '100', '--noise', '0.1', '--seed', '4'], { driftAt: [300, 600], width: 100, noise: 0.1, seed: 4 }],
    ['agrawal', ['--drift-at', '500', '--concepts', '7,10', '--perturb', '0'], { driftAt: [500], concepts: [7, 10], perturb: 0 }],
    ['rbf', ['--classes', '4', '--centroids', '9', '--speed', '0.001', '--features', '3'], { classes: 4, centroids: 9, speed: 0.001, features: 3 }],
    ['hyperplane', ['--features', '4', '--mag-change', '0.001', '--sigma', '0.2'], { features: 4, magChange: 0.001, sigma: 0.2 }],
    ['stagger', ['--drift-at', '200,400'], { driftAt: [200, 400] }],
  ];
  for (const [name, args, options] of cases) {
    it(`${name} ${args.join(' ')}: stdout parses back to the library's rows, every value exactly`, async () => {
      const r = await runCli(['generate', name, '--rows', '1000', ...args]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [header, ...lines] = r.stdout.trimEnd().split('\n');
      const rows = [...generateRows(name, { rows: 1000, ...options })];
      expect(header.split(',').at(-1)).toBe('label');
      expect(lines).toHaveLength(1000);
      const mismatches = lines.filter((line, t) => {
        const values = line.split(',').map(Number);
        return values.length !== rows[t].x.length + 1 || values.some((v, i) => v !== (i < rows[t].x.length ? rows[t].x[i] : rows[t].label));
      });
      expect(mismatches).toEqual([]);
    });
  }

  it('--out writes the same bytes atomically (no temporary file left) and says what it wrote', async () => {
    const args = ['generate', 'sea', '--rows', '3000', '--drift-at', '1000,2000', '--seed', '9'];
    const toStdout = await runCli(args);
    const toFile = await runCli([...args, '--out', 'sea.csv'], { cwd: dir });
    expect(toFile.code).toBe(0);
    expect(toFile.stdout).toBe('wrote sea.csv: 3000 rows of sea (concepts 1 → 2 at 1000 → 3 at 2000, noise 0, seed 9)\n');
    expect(readFileSync(join(dir, 'sea.csv'), 'utf8')).toBe(toStdout.stdout);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });

  it('the same seed gives the same file; another seed another', async () => {
    const a = await runCli(['generate', 'hyperplane', '--rows', '200', '--seed', '5']);
    const b = await runCli(['generate', 'hyperplane', '--rows', '200', '--seed', '5']);
    const c = await runCli(['generate', 'hyperplane', '--rows', '200', '--seed', '6']);
    expect(b.stdout).toBe(a.stdout);
    expect(c.stdout).not.toBe(a.stdout);
  });

  it('deltaflow online and train read the file it writes', async () => {
    const gen = await runCli(['generate', 'sea', '--rows', '2000', '--drift-at', '1000', '--out', 'stream.csv'], { cwd: dir });
    expect(gen.code).toBe(0);
    const online = await runCli(['online', '--model', 'mlp', '--data', 'stream.csv', '--classes', '2', '--window', '500'], { cwd: dir });
    expect(online.stderr).toBe('');
    expect(online.code).toBe(0);
    expect(online.stdout).toMatch(/^done: rows 2000 {2}accuracy \d+\.\d\d%/m);
    const train = await runCli(['train', '--data', 'stream.csv', '--classes', '2', '--epochs', '1', '--out', 'run', '--quiet'], { cwd: dir });
    expect(train.stderr).toBe('');
    expect(train.code).toBe(0);
    expect(existsSync(join(dir, 'run', 'model.json'))).toBe(true);
  });

  it('a closed stdout ends it quietly, with exit code 0, long before the rows are all written', async () => {
    const result = await new Promise<{ code: number | null; stderr: string; bytes: number }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'generate', 'rbf', '--rows', '50000000'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let bytes = 0;
      child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
      child.stdout.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > 100_000) child.stdout.destroy();
      });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr, bytes }));
    });
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.bytes).toBeLessThan(10_000_000);
  });

  const errors: [string[], string][] = [
    [['generate', 'sea'], "deltaflow: required option '--rows <n>' not specified"],
    [['generate', 'wave', '--rows', '5'], "deltaflow: command-argument value 'wave' is invalid for argument 'generator'. expected one of: sea, hyperplane, rbf, agrawal, stagger."],
    [['generate', 'sea', '--rows', '0'], "deltaflow: option '--rows <n>' argument '0' is invalid. expected a positive integer."],
    [['generate', 'sea', '--rows', '10', '--drift-at', '5,3'], "deltaflow: option '--drift-at <rows>' argument '5,3' is invalid. expected increasing row indices (integers ≥ 0), like 1000,5000."],
    [['generate', 'sea', '--rows', '10', '--drift-at', '10'], 'deltaflow: --drift-at: must be increasing row indices in [0, 10), got [10]'],
    [['generate', 'sea', '--rows', '10', '--width', '5'], 'deltaflow: --width needs --drift-at (the drift points it widens)'],
    [['generate', 'sea', '--rows', '10', '--drift-at', '5', '--width', '-1'], "deltaflow: option '--width <w>' argument '-1' is invalid. expected a number of rows ≥ 0 (0: abrupt)."],
    [['generate', 'sea', '--rows', '10', '--noise', '1.5'], "deltaflow: option '--noise <p>' argument '1.5' is invalid. expected a number in [0, 1]."],
    [['generate', 'sea', '--rows', '10', '--drift-at', '5', '--concepts', '1,5'], 'deltaflow: --concepts: must be integers in [1, 4], got [1, 5]'],
    [['generate', 'stagger', '--rows', '10', '--concepts', '1,2'], 'deltaflow: --concepts: must be 1 concept id (one before the first drift point and one after each), got [1, 2]'],
    [['generate', 'sea', '--rows', '10', '--centroids', '4'], 'deltaflow: --centroids applies to rbf, not to sea'],
    [['generate', 'agrawal', '--rows', '10', '--features', '4'], 'deltaflow: --features applies to hyperplane and rbf, not to agrawal'],
    [['generate', 'rbf', '--rows', '10', '--classes', '1'], 'deltaflow: --classes: must be an integer ≥ 2, got 1'],
    [['generate', 'hyperplane', '--rows', '10', '--features', '2', '--drift-features', '3'], 'deltaflow: --drift-features: must be an integer in [0, 2], got 3'],
    [['generate', 'sea', '--rows', '10', '--out', 'no/such/folder/x.csv'], 'deltaflow: --out no/such/folder/x.csv: cannot write the file (its folder does not exist)'],
  ];
  for (const [args, line] of errors) {
    it(`${args.slice(1).join(' ')}: one line, exit 1`, async () => {
      const r = await runCli(args, { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`${line}\n`);
      expect(r.stdout).toBe('');
    });
  }
});
