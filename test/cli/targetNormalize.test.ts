/**
 * Regression targets on a large scale (house prices): `--normalize zscore|minmax` transforms the
 * targets as well as the features, stores the targets' statistics in the model meta, and every value
 * that reaches the user (predict, evaluate) is in target units again. `--normalize none` trains raw
 * targets and only hints at the option.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { rng, runCli, tempDir } from './cliHelpers.js';

const NOISE = 5000;
const truePrice = (area: number, rooms: number, age: number): number => 3000 * area + 10000 * rooms - 500 * age;

/** `area,rooms,age,price`, price ≈ 3000·area + 10000·rooms − 500·age + N(0, 5000²) (prices ~100k–600k). */
function writeHouses(path: string, n: number, seed: number): void {
  const u = rng(seed);
  const lines = ['area,rooms,age,price'];
  for (let i = 0; i < n; i++) {
    const area = Math.round(40 + 140 * u());
    const rooms = 1 + Math.floor(6 * u());
    const age = Math.floor(60 * u());
    const noise = NOISE * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
    lines.push(`${area},${rooms},${age},${Math.round(truePrice(area, rooms, age) + noise)}`);
  }
  writeFileSync(path, `${lines.join('\n')}\n`);
}

interface TargetMeta {
  kind: string;
  a: number[];
  b: number[];
}

const metaOf = (modelPath: string): Record<string, unknown> => (JSON.parse(readFileSync(modelPath, 'utf8')) as { meta: Record<string, unknown> }).meta;

describe('deltaflow train --task regress --normalize (targets on a large scale)', () => {
  const dir = tempDir();
  const houses = join(dir, 'houses.csv');
  const prices: number[] = [];
  const train = (out: string, normalize: string, more: string[] = []): ReturnType<typeof runCli> =>
    runCli(['train', '--data', houses, '--task', 'regress', '--label', 'price', '--normalize', normalize, '--epochs', '30', '--out', join(dir, out), '--quiet', ...more]);

  beforeAll(async () => {
    writeHouses(houses, 2000, 7);
    for (const line of readFileSync(houses, 'utf8').trim().split('\n').slice(1)) prices.push(Number(line.split(',')[3]));
    const runs = await Promise.all([train('z', 'zscore'), train('m', 'minmax')]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
  }, 60_000);

  it('zscore: the targets\' mean and std are stored in the meta beside the features\' statistics', () => {
    const meta = metaOf(join(dir, 'z', 'model.json'));
    const mean = prices.reduce((s, p) => s + p, 0) / prices.length;
    const std = Math.sqrt(prices.reduce((s, p) => s + (p - mean) ** 2, 0) / prices.length);
    const t = meta.targetNormalize as TargetMeta;
    expect(t.kind).toBe('zscore');
    expect(t.a).toHaveLength(1);
    expect(t.a[0]).toBeCloseTo(mean, 0);
    expect(t.b[0] / std).toBeCloseTo(1, 6);
    expect((meta.normalize as TargetMeta).kind).toBe('zscore');
    expect((meta.normalize as TargetMeta).a).toHaveLength(3);
  });

  it('zscore: evaluate reports the RMSE in target units, within 2× the noise std', async () => {
    const r = await runCli(['evaluate', '--model', join(dir, 'z', 'model.json'), '--data', houses]);
    expect(r.code, r.stderr).toBe(0);
    const rmse = Number(/rmse ([\d.]+) \(over price, in target units\)/.exec(r.stdout)?.[1]);
    expect(rmse).toBeGreaterThan(NOISE * 0.8);
    expect(rmse).toBeLessThan(2 * NOISE);
    expect(r.stdout).toMatch(/loss [\d.]+ \(mean of ½‖output − target‖², in target units/);
    const json = await runCli(['evaluate', '--model', join(dir, 'z', 'model.json'), '--data', houses, '--json']);
    const doc = JSON.parse(json.stdout) as { rmse: number; loss: number; units: string };
    expect(doc.units).toBe('target');
    expect(doc.rmse).toBeCloseTo(rmse, 3);
    expect(Math.sqrt(2 * doc.loss)).toBeCloseTo(doc.rmse, 6);
  });

  it('zscore: predict writes prices in target units, close to the true prices', async () => {
    const rows: [number, number, number][] = [[50, 1, 10], [100, 3, 20], [170, 6, 50]];
    const stdin = `area,rooms,age\n${rows.map((r) => r.join(',')).join('\n')}\n`;
    const r = await runCli(['predict', '--model', join(dir, 'z', 'model.json'), '--data', '-'], { stdin });
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('value');
    lines.slice(1).forEach((v, i) => expect(Math.abs(Number(v) - truePrice(...rows[i]))).toBeLessThan(3 * NOISE));
  });

  it('minmax: targets scaled by min and range, RMSE in target units within 2× the noise std', async () => {
    const meta = metaOf(join(dir, 'm', 'model.json'));
    const t = meta.targetNormalize as TargetMeta;
    expect(t.kind).toBe('minmax');
    expect(t.a[0]).toBe(Math.min(...prices));
    expect(t.b[0]).toBe(Math.max(...prices) - Math.min(...prices));
    const r = await runCli(['evaluate', '--model', join(dir, 'm', 'model.json'), '--data', houses, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { rmse: number }).rmse).toBeLessThan(2 * NOISE);
  });

  it('the meta round-trips: inspect shows it, and a model continued from the file keeps it (same outputs in target units)', async () => {
    const model = join(dir, 'z', 'model.json');
    const inspect = await runCli(['inspect', '--model', model]);
    expect(inspect.stdout).toMatch(/targetNormalize: "zscore" \(price: mean \d+(\.\d+)?, std \d+(\.\d+)?\)/);
    const json = JSON.parse((await runCli(['inspect', '--model', model, '--json'])).stdout) as { meta: { targetNormalize: TargetMeta } };
    expect(json.meta.targetNormalize).toEqual(metaOf(model).targetNormalize);
    // Continue one epoch without --normalize: the file's statistics are used and written again unchanged.
    const r = await runCli(['train', '--data', houses, '--model', model, '--epochs', '1', '--lr', '1e-9', '--out', join(dir, 'cont'), '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    expect(metaOf(join(dir, 'cont', 'model.json')).targetNormalize).toEqual(metaOf(model).targetNormalize);
    const e = await runCli(['evaluate', '--model', join(dir, 'cont', 'model.json'), '--data', houses, '--json']);
    expect((JSON.parse(e.stdout) as { rmse: number }).rmse).toBeLessThan(2 * NOISE);
  }, 30_000);

  it('a malformed targetNormalize in a model file is an error naming the field', async () => {
    const doc = JSON.parse(readFileSync(join(dir, 'z', 'model.json'), 'utf8')) as { meta: { targetNormalize: TargetMeta } };
    doc.meta.targetNormalize.b = [0];
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify(doc));
    const r = await runCli(['evaluate', '--model', bad, '--data', houses]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/meta\.targetNormalize must be/);
  });

  it('refuses a constant target column with one clear line', async () => {
    const path = join(dir, 'const.csv');
    writeFileSync(path, 'a,b,y\n1,2,7\n2,3,7\n3,5,7\n');
    for (const kind of ['zscore', 'minmax']) {
      const r = await runCli(['train', '--data', path, '--task', 'regress', '--label', 'y', '--normalize', kind, '--out', join(dir, `c-${kind}`)]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/the target column "y" is constant \(every row 7\), so --normalize \w+ cannot scale it/);
    }
  });

  it('--normalize none (default) trains raw targets, no targetNormalize in the meta, and hints once at --normalize zscore', async () => {
    const out = join(dir, 'none');
    const r = await runCli(['train', '--data', houses, '--task', 'regress', '--label', 'price', '--epochs', '1', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const hints = r.stderr.split('\n').filter((l) => l.includes('hint:'));
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatch(/target "price" is on a large scale .*--normalize zscore/);
    expect(r.stdout).not.toMatch(/normalized targets/);
    expect(metaOf(join(out, 'model.json'))).not.toHaveProperty('targetNormalize');
    // A target on a small scale gets no hint; --quiet prints none.
    const small = join(dir, 'small.csv');
    writeFileSync(small, `x,y\n${Array.from({ length: 50 }, (_, i) => `${i},${(2 * i) % 7}`).join('\n')}\n`);
    const s = await runCli(['train', '--data', small, '--task', 'regress', '--label', 'y', '--epochs', '1', '--out', join(dir, 'small')]);
    expect(s.stderr).not.toMatch(/target "y"/);
    const q = await runCli(['train', '--data', houses, '--task', 'regress', '--label', 'price', '--epochs', '1', '--out', join(dir, 'q'), '--quiet']);
    expect(q.stderr).toBe('');
  });

  it('labels the training losses as normalized when the targets are', async () => {
    const r = await runCli(['train', '--data', houses, '--task', 'regress', '--label', 'price', '--normalize', 'zscore', '--epochs', '1', '--out', join(dir, 'lbl')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/epoch 1\/1 {2}train loss \(normalized targets\) [\d.]+/);
  });
});
