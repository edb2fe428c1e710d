/**
 * What the CLI tells a new user about data it would otherwise learn badly, in one line each:
 * a continuous label is not silently made into hundreds of classes; features on a large scale get a
 * `--normalize zscore` hint; `online` continuing a trained model starts with a safe learning rate and
 * warns when learning is destroying the model.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir, writeBlobs } from './cliHelpers.js';

describe('one-line hints for data a model would learn badly', () => {
  let cwd = '';
  beforeAll(() => {
    cwd = tempDir();
    const u = rng(21);
    // A regression target of integers 25..346, as in the diabetes data: 150+ distinct values in 300 rows.
    const reg = ['age,bmi,bp,progression'];
    for (let i = 0; i < 300; i++) {
      const [a, b, c] = [u(), u(), u()];
      reg.push(`${a.toFixed(3)},${b.toFixed(3)},${c.toFixed(3)},${Math.round(25 + 200 * a + 100 * b + 20 * c)}`);
    }
    writeFileSync(join(cwd, 'diabetes.csv'), `${reg.join('\n')}\n`);
    writeFileSync(join(cwd, 'halves.csv'), 'a,b,y\n1,2,0.5\n2,3,1.5\n3,4,0.5\n4,5,1.5\n');
    // Wine-like: three classes, features from ~0.5 to ~1,000.
    const wine = ['alcohol,magnesium,proline,hue,class'];
    for (let i = 0; i < 180; i++) {
      const k = i % 3;
      wine.push([(12 + k + u()).toFixed(2), (90 + 10 * k + 20 * u()).toFixed(0), (500 + 300 * k + 200 * u()).toFixed(0), (0.6 + 0.3 * u()).toFixed(2), k].join(','));
    }
    writeFileSync(join(cwd, 'wine.csv'), `${wine.join('\n')}\n`);
    writeBlobs(join(cwd, 'blobs.csv'), 300, 22);
    // Two features below 10 whose spreads differ 1,000-fold, as a dose in grams beside one in kilograms.
    const doses = ['grams,kilograms,label'];
    for (let i = 0; i < 200; i++) {
      const k = i % 2;
      doses.push(`${(5 * u() + 2 * k).toFixed(3)},${(0.005 * u() + 0.002 * k).toFixed(6)},${k}`);
    }
    writeFileSync(join(cwd, 'doses.csv'), `${doses.join('\n')}\n`);
    // Image-like rows already on the unit scale: lit pixels in the middle, a border pixel lit once.
    const pixels = ['border,p1,p2,p3,label'];
    for (let i = 0; i < 200; i++) {
      const k = i % 2;
      pixels.push([i === 7 ? 2 : 0, Math.round(255 * u()), Math.round(128 * k + 127 * u()), Math.round(255 * u()), k].join(','));
    }
    writeFileSync(join(cwd, 'pixels.csv'), `${pixels.join('\n')}\n`);
  });

  const train = (args: string[]) => runCli(['train', ...args, '--epochs', '1', '--workers', '1', '--out', `run-${Math.random().toString(36).slice(2)}`], { cwd });

  it('a label with many distinct integers stops with a hint naming --task regress', async () => {
    const r = await train(['--data', 'diabetes.csv', '--label', 'progression']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^deltaflow: diabetes\.csv: the label column "progression" looks like a continuous target \(\d+ distinct numbers in 300 rows\), not classes: pass --task regress to predict its value, or --classes to train these values as classes\n$/);
  });

  it('a label with non-integer values stops too; --classes or --task regress are taken as given', async () => {
    const r = await train(['--data', 'halves.csv', '--label', 'y']);
    expect(r.stderr).toBe('deltaflow: halves.csv: the label column "y" looks like a continuous target (non-integer values such as 0.5), not classes: pass --task regress to predict its value, or --classes to train these values as classes\n');
    expect((await train(['--data', 'halves.csv', '--label', 'y', '--classes', '0.5,1.5', '--quiet'])).code).toBe(0);
    expect((await train(['--data', 'diabetes.csv', '--label', 'progression', '--task', 'regress', '--quiet'])).code).toBe(0);
  });

  it('features on a large scale get a --normalize zscore hint; with --normalize chosen, or small features, none', async () => {
    const raw = await train(['--data', 'wine.csv', '--label', 'class']);
    expect(raw.code, raw.stderr).toBe(0);
    expect(raw.stderr).toMatch(/deltaflow: hint: the features are on a large scale \("proline": mean [\d,.]+, std [\d,.]+ in the first rows\); a network learns them poorly raw — pass --normalize zscore/);
    const normalized = await train(['--data', 'wine.csv', '--label', 'class', '--normalize', 'zscore']);
    expect(normalized.stderr).not.toContain('hint');
    const none = await train(['--data', 'wine.csv', '--label', 'class', '--normalize', 'none']);
    expect(none.stderr).not.toContain('hint');
    const small = await train(['--data', 'blobs.csv', '--label', 'species']);
    expect(small.stderr).not.toContain('hint');
  });

  it('features on unequal scales get the hint too; pixels on the unit scale, one of them rarely lit, do not', async () => {
    const unequal = await train(['--data', 'doses.csv']);
    expect(unequal.code, unequal.stderr).toBe(0);
    expect(unequal.stderr).toMatch(/deltaflow: hint: the features are on unequal scales \("grams": mean [\d.]+, std [\d.]+; "kilograms": mean [\d.]+, std [\d.]+ in the first rows\); a network learns them poorly raw/);
    const scaled = await train(['--data', 'pixels.csv', '--scale', '1/255']);
    expect(scaled.code, scaled.stderr).toBe(0);
    expect(scaled.stderr).not.toContain('hint');
    // Raw, the same pixels are on a large scale.
    expect((await train(['--data', 'pixels.csv'])).stderr).toMatch(/hint: the features are on a large scale/);
  });

  describe('online, continuing a trained model', () => {
    beforeAll(async () => {
      const r = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--epochs', '30', '--out', 'blobs-run', '--quiet', '--workers', '1'], { cwd });
      expect(r.code, r.stderr).toBe(0);
    });

    it('starts at a hundredth of the default rate, says so, and keeps the model as good as it was', async () => {
      const evaluated = JSON.parse((await runCli(['evaluate', '--model', 'blobs-run/model.json', '--data', 'blobs.csv', '--json'], { cwd })).stdout) as { accuracy: number };
      const r = await runCli(['online', '--model', 'blobs-run/model.json', '--data', 'blobs.csv', '--window', '100', '--json'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('deltaflow: continuing blobs-run/model.json with sgd lr 0.0001 (a hundredth of a new model\'s default, so learning refines the trained weights instead of undoing them; pass --lr to choose)\n');
      const done = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { cumulativeAccuracy: number };
      expect(done.cumulativeAccuracy).toBeGreaterThanOrEqual(evaluated.accuracy - 0.02);
    });

    it('a learning rate that destroys the model gets one warning line naming --lr', async () => {
      const r = await runCli(['online', '--model', 'blobs-run/model.json', '--data', 'blobs.csv', '--window', '50', '--lr', '0.1', '--json'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      const warnings = r.stderr.split('\n').filter((l) => l.includes('may be too high'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/^deltaflow: the loss of the 50 rows up to row \d+ is [\d.e+]+, (above the 1\.10 of guessing every class equally likely|\d+× the best window so far \([\d.e+-]+\)): the learning rate \(0.1\) may be too high for this model; try a smaller --lr$/);
    });

    it('a stream shorter than the window gets no warning: a part-filled window is too few rows to judge', async () => {
      const r = await runCli(['online', '--model', 'blobs-run/model.json', '--data', 'blobs.csv', '--window', '100000', '--lr', '0.1', '--json'], { cwd });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toContain('may be too high');
      // The same run with a window the stream fills does warn (the check above is not vacuous).
      const filled = await runCli(['online', '--model', 'blobs-run/model.json', '--data', 'blobs.csv', '--window', '50', '--lr', '0.1', '--json'], { cwd });
      expect(filled.stderr).toContain('may be too high');
    });
  });

  it('the --on-bad-row help of evaluate and online says where skips are reported (no "counted and counted")', async () => {
    for (const command of ['evaluate', 'online', 'train']) {
      const help = (await runCli([command, '--help'])).stdout.replace(/\s+/g, ' ');
      expect(help).not.toContain('counted and counted');
      expect(help).toMatch(/skip: bad rows are skipped, counted and (written to rejected\.csv in the run folder|reported in the rows line of the report|reported in the rows line at the end)/);
    }
  });
});
