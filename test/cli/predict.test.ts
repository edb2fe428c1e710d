/**
 * `deltaflow predict` carries ids through (`--keep`), gives a bad row its own output line with an
 * error code (`--on-bad-row skip`) instead of failing the run, and every command leaves `--exclude`
 * columns out of the features.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, runCli, tempDir, writeBlobs } from './cliHelpers.js';

describe('deltaflow predict --keep, --on-bad-row skip; --exclude everywhere', () => {
  let cwd = '';
  beforeAll(async () => {
    cwd = tempDir();
    writeBlobs(join(cwd, 'blobs.csv'), 150, 31);
    // The same rows with an id and a timestamp column around them.
    const lines = readFileSync(join(cwd, 'blobs.csv'), 'utf8').trimEnd().split('\n');
    writeFileSync(join(cwd, 'with-ids.csv'), `${['id,x,y,species,ts', ...lines.slice(1).map((l, i) => `r${i},${l},2026-12-0${1 + (i % 9)}`)].join('\n')}\n`);
    const r = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--epochs', '10', '--out', 'run', '--quiet', '--workers', '1'], { cwd });
    expect(r.code, r.stderr).toBe(0);
  });

  it('--keep copies columns in front of the predictions, which equal those without it', async () => {
    const plain = await runCli(['predict', '--model', 'run/model.json', '--data', 'blobs.csv'], { cwd });
    const kept = await runCli(['predict', '--model', 'run/model.json', '--data', 'with-ids.csv', '--keep', 'id,ts'], { cwd });
    expect(kept.code, kept.stderr).toBe(0);
    const a = parseCsv(plain.stdout);
    const b = parseCsv(kept.stdout);
    expect(b.header).toEqual(['id', 'ts', ...a.header]);
    expect(b.rows.map((r) => r.slice(2))).toEqual(a.rows);
    expect(b.rows.slice(0, 2).map((r) => r.slice(0, 2))).toEqual([['r0', '2026-12-01'], ['r1', '2026-12-02']]);
    const absent = await runCli(['predict', '--model', 'run/model.json', '--data', 'blobs.csv', '--keep', 'id'], { cwd });
    expect(absent.stderr).toBe('deltaflow: --keep id: blobs.csv has no such column (columns: x, y, species)\n');
  });

  it('--on-bad-row skip: a bad row gets a line with its error code, in input order; the others are predicted', async () => {
    writeFileSync(join(cwd, 'bad.csv'), 'id,x,y\nq1,1.0,2.0\nq2,abc,1.0\nq3,-2,0.5\nq4,1\nq5,0,3\n');
    const r = await runCli(['predict', '--model', 'run/model.json', '--data', 'bad.csv', '--keep', 'id', '--on-bad-row', 'skip'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const out = parseCsv(r.stdout);
    expect(out.header).toEqual(['id', 'class', 'p_setosa', 'p_versicolor', 'p_virginica', 'error']);
    expect(out.rows.map((row) => [row[0], row.at(-1)])).toEqual([['q1', ''], ['q2', 'CSV_NOT_A_NUMBER'], ['q3', ''], ['', 'CSV_RECORD_INCONSISTENT_COLUMNS'], ['q5', '']]);
    expect(out.rows[1].slice(1, 5)).toEqual(['', '', '', '']);
    expect(out.rows[0][1]).not.toBe('');
    expect(r.stderr).toBe('deltaflow: rows: 3 rows predicted + 2 skipped = 5 data rows (CSV_NOT_A_NUMBER 1, CSV_RECORD_INCONSISTENT_COLUMNS 1)\n');
    // Without skip, the rows before the bad one are written, then one error line.
    const strict = await runCli(['predict', '--model', 'run/model.json', '--data', 'bad.csv', '--keep', 'id'], { cwd });
    expect(strict.code).toBe(1);
    expect(parseCsv(strict.stdout).rows.map((row) => row[0])).toEqual(['q1']);
    expect(strict.stderr).toBe('deltaflow: bad.csv:3:2 (column "x"): "abc" is not a number\n');
  });

  it('--exclude leaves id and timestamp columns out of the features: train, evaluate and online read the file as is', async () => {
    const r = await runCli(['train', '--data', 'with-ids.csv', '--label', 'species', '--exclude', 'id,ts', '--epochs', '10', '--out', 'run-ids', '--quiet', '--workers', '1'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const meta = (JSON.parse(readFileSync(join(cwd, 'run-ids', 'model.json'), 'utf8')) as { meta: { features: string[] } }).meta;
    expect(meta.features).toEqual(['x', 'y']);
    // The same weights as training on the file without those columns.
    const weights = (dir: string): unknown => (JSON.parse(readFileSync(join(cwd, dir, 'model.json'), 'utf8')) as { layers: unknown }).layers;
    expect(JSON.stringify(weights('run-ids')) === JSON.stringify(weights('run'))).toBe(true);
    const evaluated = await runCli(['evaluate', '--model', 'run-ids/model.json', '--data', 'with-ids.csv', '--json'], { cwd });
    expect(evaluated.code, evaluated.stderr).toBe(0);
    const online = await runCli(['online', '--model', 'mlp', '--data', 'with-ids.csv', '--label', 'species', '--exclude', 'id,ts', '--json'], { cwd });
    expect(online.code, online.stderr).toBe(0);
    const unknown = await runCli(['train', '--data', 'with-ids.csv', '--label', 'species', '--exclude', 'idx', '--out', 'x'], { cwd });
    expect(unknown.stderr).toBe('deltaflow: --exclude idx: with-ids.csv has no such column (columns: id, x, y, species, ts)\n');
    const model = await runCli(['evaluate', '--model', 'run-ids/model.json', '--data', 'with-ids.csv', '--exclude', 'x'], { cwd });
    expect(model.stderr).toBe('deltaflow: --exclude x: the model reads it as a feature\n');
    const label = await runCli(['train', '--data', 'with-ids.csv', '--label', 'species', '--exclude', 'species', '--out', 'y'], { cwd });
    expect(label.stderr).toBe('deltaflow: --exclude species: that is the label column; choose another --label, or do not exclude it\n');
  });
});
