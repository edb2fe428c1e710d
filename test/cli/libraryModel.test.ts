/**
 * A model saved by the library (`saveModel(path, model, meta)` with a few meta keys, as the README's
 * library example does) is read by the CLI for what its meta holds — class names, scale, label — and
 * what it does not hold is said in one line instead of being silently assumed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { dense, relu, sequential } from '../../src/index.js';
import { saveModel } from '../../src/layers/modelFile.js';
import { runCli, tempDir, writeBlobs } from './cliHelpers.js';

const NAMES = ['setosa', 'versicolor', 'virginica'];

describe('deltaflow evaluate/predict on a model the library saved', () => {
  let cwd = '';
  beforeAll(async () => {
    cwd = tempDir();
    writeBlobs(join(cwd, 'blobs.csv'), 120, 7);
    // Train with the CLI, then save the same weights as a library user would: meta with classes (and scale) only.
    const r = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--scale', '0.5', '--epochs', '20', '--out', 'run', '--quiet', '--workers', '1'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const trained = JSON.parse(readFileSync(join(cwd, 'run', 'model.json'), 'utf8')) as { meta: Record<string, unknown> };
    expect(trained.meta.classes).toEqual(NAMES);
    const { loadModel } = await import('../../src/layers/modelFile.js');
    const { model } = await loadModel(join(cwd, 'run', 'model.json'));
    await saveModel(join(cwd, 'classes-only.json'), model, { classes: NAMES });
    await saveModel(join(cwd, 'classes-scale.json'), model, { classes: NAMES, scale: 0.5, label: 'species' });
    // An untrained model of the same shape, with no meta at all.
    await saveModel(join(cwd, 'bare.json'), sequential({ input: [2], seed: 1 }, dense({ units: 8 }), relu(), dense({ units: 3 })));
  });

  it('reads the class names and scale the meta holds: the same figures as the CLI-trained model', async () => {
    const cli = await runCli(['evaluate', '--model', 'run/model.json', '--data', 'blobs.csv', '--json'], { cwd });
    const lib = await runCli(['evaluate', '--model', 'classes-scale.json', '--data', 'blobs.csv', '--json'], { cwd });
    expect(lib.code, lib.stderr).toBe(0);
    expect(lib.stderr).toBe('');
    expect(JSON.parse(lib.stdout)).toEqual(JSON.parse(cli.stdout));
  });

  it('says in one line that the meta has no scale, and how to give it; --scale silences it and gives the same figures', async () => {
    const r = await runCli(['evaluate', '--model', 'classes-only.json', '--data', 'blobs.csv', '--label', 'species', '--json'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('deltaflow: classes-only.json has a meta without "scale" or "normalize" (it records classes): features are read unscaled; ' +
      'if the model was trained on scaled features, pass --scale (e.g. --scale 1/255), or save the model with meta.scale\n');
    expect(JSON.parse(r.stdout).classes).toEqual(NAMES);
    const scaled = await runCli(['evaluate', '--model', 'classes-only.json', '--data', 'blobs.csv', '--label', 'species', '--scale', '0.5', '--json'], { cwd });
    expect(scaled.stderr).toBe('');
    const cli = await runCli(['evaluate', '--model', 'run/model.json', '--data', 'blobs.csv', '--json'], { cwd });
    expect(JSON.parse(scaled.stdout)).toEqual(JSON.parse(cli.stdout));
  });

  it('predict names the classes from the meta', async () => {
    const r = await runCli(['predict', '--model', 'classes-scale.json', '--data', 'blobs.csv'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('class,p_setosa,p_versicolor,p_virginica');
  });

  it('a model file with no meta gets the hint too', async () => {
    const r = await runCli(['predict', '--model', 'bare.json', '--data', 'blobs.csv', '--label', 'species', '--classes', 'a,b,c'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('deltaflow: bare.json has no meta describing its data: features are read unscaled');
  });

  it('a malformed meta key is an error naming the file and the field', async () => {
    const { model } = await (await import('../../src/layers/modelFile.js')).loadModel(join(cwd, 'run', 'model.json'));
    await saveModel(join(cwd, 'bad-scale.json'), model, { classes: NAMES, scale: -1 });
    const r = await runCli(['evaluate', '--model', 'bad-scale.json', '--data', 'blobs.csv'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('deltaflow: bad-scale.json: meta.scale must be a positive number\n');
  });
});
