/**
 * `deltaflow train` as a user runs it: generated data sets (string classes, regression, tiny images),
 * JSON output, the run folder, stdin, and the exact mini-batch SGD pass against an independent
 * float64 implementation written here.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir, writeBars, writeBlobs, writeLinear, writeSpiral } from './cliHelpers.js';

let dir = '';

beforeAll(() => {
  dir = tempDir();
  writeBlobs(join(dir, 'blobs.csv'), 600, 1);
  writeBlobs(join(dir, 'blobs-test.csv'), 300, 2);
  writeSpiral(join(dir, 'spiral.csv'), 1000, 3);
  writeSpiral(join(dir, 'spiral-test.csv'), 400, 4);
  writeLinear(join(dir, 'lin.csv'), 1000, 5);
  writeLinear(join(dir, 'lin-test.csv'), 300, 6);
  writeBars(join(dir, 'bars.csv'), 400, 7);
  writeBars(join(dir, 'bars-test.csv'), 160, 8);
});

function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('deltaflow train', () => {
  it('learns blobs with string class names (--label species), reports the classes it found, and writes the run folder', async () => {
    const out = join(dir, 'run-blobs');
    const r = await runCli(['train', '--data', 'blobs.csv', '--test', 'blobs-test.csv', '--label', 'species', '--epochs', '3', '--out', out, '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('found 3 classes in column "species": setosa, versicolor, virginica');
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.type)).toEqual(['epoch', 'epoch', 'epoch', 'done']);
    const done = lines[3];
    expect(done.testAccuracy).toBeGreaterThan(0.95);
    expect(done.testCount).toBe(300);
    expect(done.model).toBe(join(out, 'model.json'));
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { meta: Record<string, unknown> };
    expect(model.meta.classes).toEqual(['setosa', 'versicolor', 'virginica']);
    expect(model.meta.label).toEqual(['species']);
    expect(model.meta.features).toEqual(['x', 'y']);
    const metrics = readFileSync(join(out, 'metrics.csv'), 'utf8').trim().split('\n');
    expect(metrics[0]).toBe('kind,epoch,step,samples,loss,accuracy,test_loss,test_accuracy,lr,seconds,grad_norm');
    // 600 rows in batches of 32: 19 steps per epoch, plus one epoch row each.
    expect(metrics.filter((l) => l.startsWith('step,')).length).toBe(57);
    expect(metrics.filter((l) => l.startsWith('epoch,')).length).toBe(3);
    const svg = readFileSync(join(out, 'plot.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('Accuracy');
  });

  it('learns the two-spiral problem with the default mlp', async () => {
    const r = await runCli(['train', '--data', 'spiral.csv', '--test', 'spiral-test.csv', '--label', 'arm', '--classes', 'left,right', '--epochs', '20', '--out', join(dir, 'run-spiral'), '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const done = jsonLines(r.stdout).at(-1);
    expect(done?.testAccuracy).toBeGreaterThan(0.9);
  });

  it('fits a noisy linear regression (--task regress --label y) to a small test loss', async () => {
    const r = await runCli(['train', '--data', 'lin.csv', '--test', 'lin-test.csv', '--task', 'regress', '--label', 'y', '--epochs', '10', '--out', join(dir, 'run-lin'), '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const done = jsonLines(r.stdout).at(-1);
    expect(done?.testAccuracy).toBeNull();
    // ½·mean squared error; the noise alone gives 0.00125, predicting the mean about 2.4.
    expect(done?.testLoss).toBeLessThan(0.05);
  });

  it('trains images with --shape and --scale 1/255 and stores both in the model meta', async () => {
    const out = join(dir, 'run-bars');
    const r = await runCli(['train', '--data', 'bars.csv', '--test', 'bars-test.csv', '--classes', '8', '--shape', '1,8,8', '--scale', '1/255', '--epochs', '3', '--out', out, '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(jsonLines(r.stdout).at(-1)?.testAccuracy).toBeGreaterThan(0.9);
    const meta = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { meta: Record<string, unknown> }).meta;
    expect(meta.shape).toEqual([1, 8, 8]);
    expect(meta.scale).toBeCloseTo(1 / 255, 12);
    expect(meta.classesAreIndices).toBe(true);
  });

  it('stores --normalize zscore statistics from a first pass in the meta (mean and std per feature)', async () => {
    const out = join(dir, 'run-z');
    const r = await runCli(['train', '--data', 'lin.csv', '--task', 'regress', '--label', 'y', '--normalize', 'zscore', '--epochs', '1', '--out', out, '--quiet'], { cwd: dir });
    expect(r.code).toBe(0);
    const meta = (JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { meta: { normalize: { kind: string; a: number[]; b: number[] } } }).meta;
    expect(meta.normalize.kind).toBe('zscore');
    expect(meta.normalize.a).toHaveLength(3);
    // Uniform on [-1, 1]: mean ≈ 0, std ≈ 1/√3.
    for (const a of meta.normalize.a) expect(Math.abs(a)).toBeLessThan(0.1);
    for (const b of meta.normalize.b) expect(b).toBeCloseTo(1 / Math.sqrt(3), 1);
  });

  it('reads stdin with --data - (one epoch by default) when --classes is given', async () => {
    const r = await runCli(['train', '--data', '-', '--label', 'species', '--classes', 'setosa,versicolor,virginica', '--out', join(dir, 'run-stdin'), '--json'], {
      cwd: dir,
      stdin: readFileSync(join(dir, 'blobs.csv'), 'utf8'),
    });
    expect(r.code).toBe(0);
    const lines = jsonLines(r.stdout);
    expect(lines.map((l) => l.type)).toEqual(['epoch', 'done']);
    expect(lines[1].samples).toBe(600);
  });

  it('prints one line per epoch and a summary without --json, nothing with --quiet', async () => {
    const r = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--classes', 'setosa,versicolor,virginica', '--epochs', '2', '--out', join(dir, 'run-text')], { cwd: dir });
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^training mlp \(preset\) \(8,835 parameters\) on blobs\.csv \(600 rows\); 1 worker \(auto: (1 core|split in 2, a slice of 16 rows would be 0\.\d MFLOP and \d+ FLOP per parameter; a worker pays off from \d+ MFLOP and \d+)\)(, CSV parsing on its own thread)?; run folder /,
    );
    expect(lines[1]).toMatch(/^epoch 1\/2 {2}train loss \d+\.\d{4} acc \d+\.\d{2}%/);
    expect(lines[3]).toMatch(/^done: /);
    expect(lines).toHaveLength(4);
    const quiet = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--classes', 'setosa,versicolor,virginica', '--epochs', '1', '--out', join(dir, 'run-quiet'), '--quiet'], { cwd: dir });
    expect(quiet.code).toBe(0);
    expect(quiet.stdout).toBe('');
    expect(quiet.stderr).toBe('');
    expect(existsSync(join(dir, 'run-quiet', 'model.json'))).toBe(true);
  });

  it('trains the lenet preset on a few real MNIST digits (prepare-data, then a 300-row slice)', async () => {
    const data = join(dir, 'mnist');
    const prep = await runCli(['prepare-data', '--dir', data]);
    expect(prep.code).toBe(0);
    const train = readFileSync(join(data, 'mnist-train.csv'), 'utf8').split('\n');
    expect(train).toHaveLength(8002);
    writeFileSync(join(dir, 'digits.csv'), `${train.slice(0, 301).join('\n')}\n`);
    const test = readFileSync(join(data, 'mnist-test.csv'), 'utf8').split('\n');
    writeFileSync(join(dir, 'digits-test.csv'), `${test.slice(0, 201).join('\n')}\n`);
    const r = await runCli(['train', '--data', 'digits.csv', '--test', 'digits-test.csv', '--model', 'lenet', '--classes', '10', '--shape', '1,28,28', '--scale', '1/255', '--epochs', '2', '--out', join(dir, 'run-lenet'), '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    const done = jsonLines(r.stdout).at(-1);
    expect(done?.samples).toBe(600);
    expect(done?.testAccuracy).toBeGreaterThan(0.3);
  });
});

// ───────────────────────────── exact SGD ─────────────────────────────

/** A 2 → 5 → 3 mlp (dense, relu, dense) as a model file with weights. W is [out, in], row-major. */
function initialWeights(): { W1: number[]; b1: number[]; W2: number[]; b2: number[] } {
  const u = rng(42);
  const f = (n: number, s: number): number[] => Array.from({ length: n }, () => Math.fround((2 * u() - 1) * s));
  return { W1: f(10, 0.8), b1: f(5, 0.1), W2: f(15, 0.6), b2: f(3, 0.1) };
}

function modelFile(w: ReturnType<typeof initialWeights>): string {
  const p = (shape: number[], data: number[]): string => `{"shape": ${JSON.stringify(shape)}, "data": ${JSON.stringify(data)}}`;
  return `{"format": "deltaflow-model", "version": 1, "input": [2], "layers": [
    {"kind": "dense", "units": 5, "params": {"W": ${p([5, 2], w.W1)}, "b": ${p([5], w.b1)}}},
    {"kind": "relu"},
    {"kind": "dense", "units": 3, "params": {"W": ${p([3, 5], w.W2)}, "b": ${p([3], w.b2)}}}]}\n`;
}

/** The article's mini-batch SGD in float64, written independently: softmax cross-entropy, gradients averaged over each batch in file order. */
function referenceSgd(w: ReturnType<typeof initialWeights>, rows: { x: number[]; k: number }[], lr: number, m: number): ReturnType<typeof initialWeights> {
  const W1 = [...w.W1];
  const b1 = [...w.b1];
  const W2 = [...w.W2];
  const b2 = [...w.b2];
  for (let start = 0; start < rows.length; start += m) {
    const batch = rows.slice(start, start + m);
    const gW1 = new Array<number>(10).fill(0);
    const gb1 = new Array<number>(5).fill(0);
    const gW2 = new Array<number>(15).fill(0);
    const gb2 = new Array<number>(3).fill(0);
    for (const { x, k } of batch) {
      const z1 = [0, 1, 2, 3, 4].map((j) => b1[j] + W1[2 * j] * x[0] + W1[2 * j + 1] * x[1]);
      const a1 = z1.map((z) => Math.max(0, z));
      const z2 = [0, 1, 2].map((o) => b2[o] + a1.reduce((s, a, j) => s + W2[5 * o + j] * a, 0));
      const max = Math.max(...z2);
      const e = z2.map((z) => Math.exp(z - max));
      const sum = e.reduce((s, v) => s + v, 0);
      const d2 = e.map((v, o) => v / sum - (o === k ? 1 : 0));
      d2.forEach((d, o) => {
        gb2[o] += d;
        a1.forEach((a, j) => (gW2[5 * o + j] += d * a));
      });
      const d1 = a1.map((_, j) => (z1[j] > 0 ? d2.reduce((s, d, o) => s + d * W2[5 * o + j], 0) : 0));
      d1.forEach((d, j) => {
        gb1[j] += d;
        gW1[2 * j] += d * x[0];
        gW1[2 * j + 1] += d * x[1];
      });
    }
    const step = (p: number[], g: number[]): void => p.forEach((_, i) => (p[i] -= (lr * g[i]) / batch.length));
    step(W1, gW1);
    step(b1, gb1);
    step(W2, gW2);
    step(b2, gb2);
  }
  return { W1, b1, W2, b2 };
}

describe('deltaflow train --model FILE --epochs 1 --shuffle 0 --optimizer sgd', () => {
  it('is exactly one pass of mini-batch SGD in file order (matches an independent float64 implementation to 1e-5)', async () => {
    const w = initialWeights();
    writeFileSync(join(dir, 'init.json'), modelFile(w));
    const classes = ['setosa', 'versicolor', 'virginica'];
    const out = join(dir, 'run-sgd');
    // 600 rows, batch 16: 37 full batches and a last one of 8.
    const r = await runCli(
      ['train', '--model', 'init.json', '--data', 'blobs.csv', '--label', 'species', '--classes', classes.join(','), '--epochs', '1', '--shuffle', '0', '--optimizer', 'sgd', '--lr', '0.1', '--batch', '16', '--out', out, '--quiet'],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = readFileSync(join(dir, 'blobs.csv'), 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => {
        const [x, y, name] = l.split(',');
        return { x: [Math.fround(Number(x)), Math.fround(Number(y))], k: classes.indexOf(name) };
      });
    const want = referenceSgd(w, rows, 0.1, 16);
    const trained = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')) as { layers: { params?: { W: { data: number[] }; b: { data: number[] } } }[] };
    const got = { W1: trained.layers[0].params?.W.data, b1: trained.layers[0].params?.b.data, W2: trained.layers[2].params?.W.data, b2: trained.layers[2].params?.b.data };
    for (const key of ['W1', 'b1', 'W2', 'b2'] as const) {
      const g = got[key] ?? [];
      const ref = want[key];
      const scale = Math.max(...ref.map(Math.abs));
      const maxDiff = Math.max(...ref.map((v, i) => Math.abs(v - (g[i] ?? NaN))));
      expect(g).toHaveLength(ref.length);
      expect(maxDiff / scale, `${key}: max |Δ| ${maxDiff} over max |w| ${scale}`).toBeLessThan(1e-5);
    }
    // The weights moved: the pass did train.
    expect(Math.max(...want.W2.map((v, i) => Math.abs(v - w.W2[i])))).toBeGreaterThan(1e-2);
  });
});
