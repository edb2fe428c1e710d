/**
 * evaluate, predict, online and inspect on small generated data, and the one-line errors of every
 * command (exit code ≠ 0, a single line on stderr, never a stack trace).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, runCli, tempDir, writeBars, writeBlobs, writeLinear } from './cliHelpers.js';

let dir = '';
const CLASSES = 'setosa,versicolor,virginica';

beforeAll(async () => {
  dir = tempDir();
  writeBlobs(join(dir, 'blobs.csv'), 300, 11);
  writeBlobs(join(dir, 'blobs-test.csv'), 150, 12);
  writeLinear(join(dir, 'lin.csv'), 600, 13);
  writeLinear(join(dir, 'lin-test.csv'), 90, 14);
  writeBars(join(dir, 'bars.csv'), 320, 15);
  writeBars(join(dir, 'bars-test.csv'), 80, 16);
  writeBars(join(dir, 'bars-nolabel.csv'), 40, 17, false);
  const runs = [
    ['train', '--data', 'blobs.csv', '--label', 'species', '--classes', CLASSES, '--epochs', '2', '--out', 'm-blobs', '--quiet'],
    ['train', '--data', 'lin.csv', '--task', 'regress', '--label', 'y', '--normalize', 'zscore', '--epochs', '8', '--out', 'm-lin', '--quiet'],
    ['train', '--data', 'bars.csv', '--classes', '8', '--shape', '1,8,8', '--scale', '1/255', '--epochs', '3', '--out', 'm-bars', '--quiet'],
  ];
  for (const args of runs) {
    const r = await runCli(args, { cwd: dir });
    if (r.code !== 0) throw new Error(`setup failed: deltaflow ${args.join(' ')}: ${r.stderr}`);
  }
});

describe('deltaflow evaluate', () => {
  it('reports accuracy, per-class figures and a confusion matrix that adds up to the row count (--json)', async () => {
    const r = await runCli(['evaluate', '--model', 'm-bars/model.json', '--data', 'bars-test.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { count: number; accuracy: number; confusion: number[][]; perClass: { name: string; recall: number | null; support: number }[]; classes: string[] };
    expect(doc.count).toBe(80);
    expect(doc.classes).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(doc.confusion).toHaveLength(8);
    expect(doc.confusion.flat().reduce((a, b) => a + b, 0)).toBe(80);
    expect(doc.perClass.map((c) => c.support)).toEqual(Array(8).fill(10));
    const diagonal = doc.confusion.reduce((s, row, k) => s + row[k], 0);
    expect(doc.accuracy).toBeCloseTo(diagonal / 80, 12);
  });

  it('prints aligned tables with class names as the labels had them', async () => {
    const r = await runCli(['evaluate', '--model', 'm-blobs/model.json', '--data', 'blobs-test.csv'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^blobs-test\.csv: 150 rows\nloss \d+\.\d{4} {2}accuracy \d+\.\d{2}%/);
    expect(r.stdout).toContain('confusion matrix (rows: true class, columns: predicted class)');
    const header = r.stdout.split('\n').find((l) => l.startsWith('class'));
    expect(header).toMatch(/^class +precision +recall +f1 +support$/);
    expect(r.stdout).toMatch(/\nversicolor +\d\.\d{4} +\d\.\d{4} +\d\.\d{4} +50\n/);
  });

  it('applies the stored normalization to regression data and reports the rmse', async () => {
    const r = await runCli(['evaluate', '--model', 'm-lin/model.json', '--data', 'lin-test.csv', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { count: number; accuracy: null; rmse: number };
    expect(doc.count).toBe(90);
    expect(doc.accuracy).toBeNull();
    expect(doc.rmse).toBeLessThan(0.3);
  });

  it('reads the data from stdin with --data -', async () => {
    const r = await runCli(['evaluate', '--model', 'm-blobs/model.json', '--data', '-', '--json'], { cwd: dir, stdin: readFileSync(join(dir, 'blobs-test.csv'), 'utf8') });
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { count: number }).count).toBe(150);
  });
});

describe('deltaflow predict', () => {
  it('writes class and per-class probabilities for rows without a label column', async () => {
    const r = await runCli(['predict', '--model', 'm-bars/model.json', '--data', 'bars-nolabel.csv'], { cwd: dir });
    expect(r.code).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    expect(header).toEqual(['class', 'p_0', 'p_1', 'p_2', 'p_3', 'p_4', 'p_5', 'p_6', 'p_7']);
    expect(rows).toHaveLength(40);
    for (const row of rows) {
      const p = row.slice(1).map(Number);
      expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(row[0]).toBe(String(p.indexOf(Math.max(...p))));
    }
    // The bars are easy: row i is class i mod 8.
    const right = rows.filter((row, i) => row[0] === String(i % 8)).length;
    expect(right).toBeGreaterThanOrEqual(36);
  });

  it('streams stdin by default, ignores a label column, and names classes as the training labels did', async () => {
    const r = await runCli(['predict', '--model', 'm-blobs/model.json'], { cwd: dir, stdin: readFileSync(join(dir, 'blobs-test.csv'), 'utf8') });
    expect(r.code).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    expect(header).toEqual(['class', 'p_setosa', 'p_versicolor', 'p_virginica']);
    expect(rows).toHaveLength(150);
    expect(new Set(rows.map((row) => row[0]))).toEqual(new Set(CLASSES.split(',')));
  });

  it('writes a value column for regression, close to the targets', async () => {
    const r = await runCli(['predict', '--model', 'm-lin/model.json', '--data', 'lin-test.csv'], { cwd: dir });
    expect(r.code).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    expect(header).toEqual(['value']);
    const targets = parseCsv(readFileSync(join(dir, 'lin-test.csv'), 'utf8')).rows.map((row) => Number(row[3]));
    const mse = rows.reduce((s, row, i) => s + (Number(row[0]) - targets[i]) ** 2, 0) / rows.length;
    expect(mse).toBeLessThan(0.1);
  });

  it('reads feature columns by name, in any order', async () => {
    const { rows } = parseCsv(readFileSync(join(dir, 'blobs-test.csv'), 'utf8'));
    writeFileSync(join(dir, 'swapped.csv'), `y,x\n${rows.map((r) => `${r[1]},${r[0]}`).join('\n')}\n`);
    const a = await runCli(['predict', '--model', 'm-blobs/model.json', '--data', 'swapped.csv'], { cwd: dir });
    const b = await runCli(['predict', '--model', 'm-blobs/model.json', '--data', 'blobs-test.csv'], { cwd: dir });
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });
});

describe('deltaflow online', () => {
  it('prints a line every --window rows and a final one (--json)', async () => {
    const r = await runCli(['online', '--model', 'mlp', '--data', 'blobs.csv', '--label', 'species', '--classes', CLASSES, '--window', '100', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; seen: number; cumulativeAccuracy: number; windowAccuracy: number });
    expect(lines.map((l) => [l.type, l.seen])).toEqual([
      ['progress', 100],
      ['progress', 200],
      ['progress', 300],
      ['done', 300],
    ]);
    // Test-then-train on easy blobs: the last window is scored better than chance by far.
    expect(lines[3].windowAccuracy).toBeGreaterThan(0.9);
  });

  it('continues a model file from stdin and saves what it learned', async () => {
    const r = await runCli(['online', '--model', 'm-bars/model.json', '--data', '-', '--window', '40', '--save', 'online.json'], { cwd: dir, stdin: readFileSync(join(dir, 'bars-test.csv'), 'utf8') });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^online m-bars\/model\.json \(sgd lr 0\.0001\) on stdin; run folder runs\//);
    expect(lines[1]).toMatch(/^rows 40 {2}accuracy \d+\.\d{2}% \(last 40: \d+\.\d{2}%\) {2}loss \d+\.\d{4}/);
    expect(lines.at(-1)).toBe('wrote online.json');
    const meta = (JSON.parse(readFileSync(join(dir, 'online.json'), 'utf8')) as { meta: { shape: number[] } }).meta;
    expect(meta.shape).toEqual([1, 8, 8]);
  });
});

describe('deltaflow --version', () => {
  it('prints the package version, then the kernel set', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\nkernels: wasm-simd128 \+ relaxed (FMA|madd \(unfused on this CPU\))\n$/);
  });

  it('a DELTAFLOW_KERNELS it does not know is one line on stderr naming the choices', async () => {
    const r = await runCli(['--version'], { env: { DELTAFLOW_KERNELS: 'avx512' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('deltaflow: DELTAFLOW_KERNELS must be one of auto, typescript, simd128, fma; got "avx512"\n');
  });
});

describe('deltaflow inspect', () => {
  it('summarises the lenet preset: layers, output shapes, 44,426 parameters', async () => {
    const r = await runCli(['inspect', '--model', 'lenet']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ 0 {2}conv2d 6@5×5 +\[6, 24, 24\] +156\n/);
    expect(r.stdout).toMatch(/ 5 {2}maxPool2d 2×2 +\[16, 4, 4\] +0\n/);
    expect(r.stdout).toContain('Total params: 44,426');
    // the kernel set this runtime trains with: Node 20 gets relaxed SIMD once deltaflow sets V8's flag
    expect(r.stdout).toMatch(/\nKernels: wasm-simd128 \+ relaxed (FMA|madd \(unfused on this CPU\))\n$/);
  });

  it('names the kernel set DELTAFLOW_KERNELS chooses, in the summary and in --json', async () => {
    expect((await runCli(['inspect', '--model', 'mlp'], { env: { DELTAFLOW_KERNELS: 'simd128' } })).stdout).toMatch(/\nKernels: wasm-simd128\n$/);
    const doc = JSON.parse((await runCli(['inspect', '--model', 'mlp', '--json'], { env: { DELTAFLOW_KERNELS: 'typescript' } })).stdout) as { kernels: string };
    expect(doc.kernels).toBe('typescript');
  });

  it('summarises a trained model file with what it was trained for (--json)', async () => {
    const r = await runCli(['inspect', '--model', 'm-blobs/model.json', '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { input: number[]; totalParams: number; layers: { layer: string }[]; meta: { classes: string[] } };
    expect(doc.input).toEqual([2]);
    expect(doc.layers.map((l) => l.layer)).toEqual(['dense 128', 'relu', 'dense 64', 'relu', 'dense 3']);
    expect(doc.totalParams).toBe(2 * 128 + 128 + 128 * 64 + 64 + 64 * 3 + 3);
    expect(doc.meta.classes).toEqual(CLASSES.split(','));
  });
});

describe('errors: one line on stderr, exit code 1, no stack', () => {
  const cases: { name: string; args: string[]; stdin?: string; message: RegExp }[] = [
    { name: 'an unknown option', args: ['train', '--bogus'], message: /^deltaflow: unknown option '--bogus'$/ },
    { name: 'a mistyped option, with a suggestion', args: ['train', '--epoch', '2'], message: /^deltaflow: unknown option '--epoch' \(did you mean --epochs\?\)$/ },
    { name: 'an unknown command', args: ['trian'], message: /^deltaflow: unknown command 'trian'/ },
    { name: 'a non-numeric --lr', args: ['train', '--lr', 'abc'], message: /^deltaflow: option '--lr <x>' argument 'abc' is invalid\. expected a positive number\.$/ },
    { name: 'a two-number --shape', args: ['train', '--shape', '1,28'], message: /^deltaflow: option '--shape <C,H,W>' argument '1,28' is invalid\./ },
    { name: 'a missing data file', args: ['train', '--data', 'nope.csv'], message: /^deltaflow: --data nope\.csv: no such file$/ },
    { name: 'a missing model file', args: ['evaluate', '--model', 'nope.json', '--data', 'blobs.csv'], message: /^deltaflow: --model nope\.json: no such file/ },
    { name: 'a shape that does not hold the features', args: ['train', '--data', 'lin.csv', '--task', 'regress', '--label', 'y', '--shape', '1,2,2'], message: /holds 4 values, but lin\.csv has 3 feature columns$/ },
    { name: 'a missing label column', args: ['train', '--data', 'blobs.csv'], message: /^deltaflow: blobs\.csv: no column named "label" \(columns: x, y, species\); pass --label NAME or --label INDEX$/ },
    { name: '--normalize on stdin', args: ['train', '--data', '-', '--task', 'regress', '--label', 'y', '--normalize', 'zscore'], stdin: 'a,b,c,y\n1,2,3,4\n', message: /^deltaflow: --normalize zscore needs a file/ },
    { name: 'several epochs on stdin', args: ['train', '--data', '-', '--task', 'regress', '--label', 'y', '--epochs', '2'], stdin: 'a,b,c,y\n1,2,3,4\n', message: /stdin can be read once/ },
    { name: 'stdin without --classes', args: ['train', '--data', '-', '--label', 'species'], stdin: 'x,y,species\n1,2,a\n', message: /^deltaflow: --classes is required with --data -/ },
    { name: 'data without the model\'s label column', args: ['evaluate', '--model', 'm-bars/model.json', '--data', 'blobs.csv'], message: /^deltaflow: blobs\.csv: no column named "label"/ },
    { name: 'data without the model\'s feature columns', args: ['predict', '--model', 'm-blobs/model.json', '--data', 'lin.csv'], message: /^deltaflow: lin\.csv: the model's feature column\(s\) x are missing from the header$/ },
    { name: 'a bad value in the CSV', args: ['train', '--data', 'bad.csv', '--task', 'regress', '--label', 'y', '--out', 'r-bad'], message: /^deltaflow: bad\.csv:3:2 \(column "b"\): "abc" is not a number$/ },
    { name: 'a diverging learning rate', args: ['train', '--data', 'lin.csv', '--task', 'regress', '--label', 'y', '--optimizer', 'sgd', '--lr', '100000', '--epochs', '1', '--out', 'r-nan'], message: /^deltaflow: step \d+: loss (NaN|Infinity)/ },
    { name: 'a corrupt model file', args: ['inspect', '--model', 'corrupt.json'], message: /^deltaflow: corrupt\.json: model file: not valid JSON/ },
  ];

  it.each(cases)('$name', async ({ args, stdin, message }) => {
    writeFileSync(join(dir, 'bad.csv'), 'a,b,y\n1,2,3\n1,abc,3\n');
    writeFileSync(join(dir, 'corrupt.json'), '{"format": "deltaflow-model", ');
    const r = await runCli(args, { cwd: dir, stdin });
    expect(r.code).toBe(1);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('shows the stack with DELTAFLOW_DEBUG=1', async () => {
    const r = await runCli(['train', '--data', 'bad.csv', '--task', 'regress', '--label', 'y', '--out', 'r-bad2'], { cwd: dir, env: { DELTAFLOW_DEBUG: '1' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  it('has --help for every command', async () => {
    for (const command of ['train', 'evaluate', 'predict', 'online', 'inspect', 'prepare-data']) {
      const r = await runCli([command, '--help']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: deltaflow ${command} [options]`);
    }
  });
});
