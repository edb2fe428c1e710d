/**
 * `deltaflow serve` against the rest of the command line, on real servers: its predictions are
 * `deltaflow predict`'s, what it learns through /learn is what `deltaflow online` learns from the
 * same rows in the same order (the model files equal byte for byte but for the data's name), late
 * labels learn in the order they come, and under concurrent predict and learn every answer is
 * reproduced exactly from the snapshot of the version it names (no torn reads).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCsv, rng, runCli, tempDir, writeBlobs, writeLinear } from './cliHelpers.js';
import { call, postJson, recompute, ServerPool, type Served } from './serveHelpers.js';
import { snapshotName } from '../../scripts/serve/snapshots.js';

const num = (v: number): string => String(Number(v.toPrecision(7)));
const withoutDataName = (text: string): string => text.replace(/"data": "[^"]*"/, '"data": "…"');

let dir: string;
let blobsModel: string;
let regModel: string;
const pool = new ServerPool(() => dir);
const serve = (args: string[]): Promise<Served> => pool.start(args);

/** The rows of a CSV file as objects keyed by header name (numbers where the text is one). */
function rowsOf(file: string): Record<string, string | number>[] {
  const { header, rows } = parseCsv(readFileSync(join(dir, file), 'utf8'));
  return rows.map((r) => Object.fromEntries(r.map((v, i) => [header[i], Number.isFinite(Number(v)) ? Number(v) : v])));
}

beforeAll(async () => {
  dir = tempDir();
  writeBlobs(join(dir, 'blobs.csv'), 300, 1);
  writeBlobs(join(dir, 'stream.csv'), 200, 2);
  writeLinear(join(dir, 'linear.csv'), 300, 3);
  writeLinear(join(dir, 'linear-stream.csv'), 120, 4);
  const a = await runCli(['train', '--data', 'blobs.csv', '--label', 'species', '--epochs', '1', '--hidden', '8', '--out', 'blobs', '--quiet'], { cwd: dir });
  expect(a.code, a.stderr).toBe(0);
  const b = await runCli(['train', '--data', 'linear.csv', '--task', 'regress', '--label', 'y', '--normalize', 'zscore', '--epochs', '2', '--hidden', '8', '--out', 'reg', '--quiet'], { cwd: dir });
  expect(b.code, b.stderr).toBe(0);
  blobsModel = join(dir, 'blobs', 'model.json');
  regModel = join(dir, 'reg', 'model.json');
});

afterAll(() => pool.stopAll());

describe('deltaflow serve: the same answers as predict', () => {
  it('classification: JSON rows and a CSV body give predict’s classes and probabilities (7 significant digits, byte for byte)', async () => {
    const s = await serve(['--model', blobsModel]);
    const cli = await runCli(['predict', '--model', blobsModel, '--data', 'stream.csv'], { cwd: dir });
    expect(cli.code, cli.stderr).toBe(0);
    const expected = parseCsv(cli.stdout);
    expect(expected.header).toEqual(['class', 'p_setosa', 'p_versicolor', 'p_virginica']);
    const rows = rowsOf('stream.csv').map(({ x, y }) => ({ x, y }));
    const asJson = await postJson(s.url, '/predict', rows);
    const asCsv = await call(s.url, '/predict', { body: readFileSync(join(dir, 'stream.csv'), 'utf8'), type: 'text/csv' });
    for (const answer of [asJson, asCsv]) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json.version).toBe(1);
      const lines = answer.json.predictions.map((p: { class: string; probabilities: Record<string, number> }) => [p.class, ...['setosa', 'versicolor', 'virginica'].map((c) => num(p.probabilities[c]))]);
      expect(lines).toEqual(expected.rows);
    }
  });

  it('regression with normalized targets: values in target units, as predict prints them', async () => {
    const s = await serve(['--model', regModel]);
    const cli = await runCli(['predict', '--model', regModel, '--data', 'linear-stream.csv'], { cwd: dir });
    expect(cli.code, cli.stderr).toBe(0);
    const expected = parseCsv(cli.stdout);
    expect(expected.header).toEqual(['value']);
    const answer = await postJson(s.url, '/predict', rowsOf('linear-stream.csv').map(({ a, b, c }) => ({ a, b, c })));
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.predictions.map((p: { value: number }) => [num(p.value)])).toEqual(expected.rows);
  });
});

/** Posts the rows of `file` to /learn in order, in requests of `chunk` rows, alternating JSON and CSV bodies. */
async function learnFile(s: Served, file: string, chunk: number): Promise<void> {
  const text = readFileSync(join(dir, file), 'utf8').trimEnd().split('\n');
  const rows = rowsOf(file);
  for (let at = 0, i = 0; at < rows.length; at += chunk, i++) {
    const answer =
      i % 2 === 0
        ? await postJson(s.url, '/learn', rows.slice(at, at + chunk))
        : await call(s.url, '/learn', { body: `${[text[0], ...text.slice(1 + at, 1 + at + chunk)].join('\n')}\n`, type: 'text/csv' });
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json.learned).toBe(Math.min(chunk, rows.length - at));
  }
}

async function onlineRun(model: string, data: string, extra: string[]): Promise<{ file: string; done: Record<string, number | null> }> {
  const file = join(dir, `online-${Math.random().toString(36).slice(2)}.json`);
  const r = await runCli(['online', '--model', model, '--data', data, '--save', file, '--json', ...extra], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const done = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).find((l) => l.type === 'done');
  return { file, done };
}

describe('deltaflow serve --learn: the same learning as online', () => {
  const cases: { name: string; model: () => string; data: string; options: string[] }[] = [
    { name: 'classification, online’s defaults (sgd, lr 0.01, window 500)', model: () => blobsModel, data: 'stream.csv', options: [] },
    { name: 'classification, adam lr 0.005, window 50', model: () => blobsModel, data: 'stream.csv', options: ['--optimizer', 'adam', '--lr', '0.005', '--window', '50'] },
    { name: 'regression on normalized targets, momentum', model: () => regModel, data: 'linear-stream.csv', options: ['--optimizer', 'momentum', '--window', '30'] },
  ];
  for (const c of cases) {
    it(`${c.name}: GET /model.json equals online --save byte for byte, and the prequential scores are equal`, async () => {
      const s = await serve(['--model', c.model(), '--learn', '--publish-every', '1', ...c.options]);
      await learnFile(s, c.data, 37);
      const served = await call(s.url, '/model.json');
      const online = await onlineRun(c.model(), c.data, c.options);
      expect(withoutDataName(served.text)).toBe(withoutDataName(readFileSync(online.file, 'utf8')));
      const info = await call(s.url, '/model');
      const { seen, cumulativeAccuracy, windowAccuracy, cumulativeLoss, windowLoss } = online.done;
      expect(info.json.metrics).toEqual({ seen, cumulativeAccuracy, windowAccuracy, cumulativeLoss, windowLoss });
      expect(served.headers.get('etag')).toBe(`"${info.json.hash}"`);
    });
  }
});

describe('deltaflow serve --learn: late labels', () => {
  it('rows predicted with ids then labelled in another order learn as online does on the rows in label order; each is scored by its arrival prediction', async () => {
    const s = await serve(['--model', blobsModel, '--learn', '--publish-every', '1']);
    const rows = rowsOf('stream.csv').slice(0, 60);
    const answers = [];
    for (let at = 0; at < 60; at += 20) {
      const a = await postJson(s.url, '/predict', rows.slice(at, at + 20).map((r, i) => ({ id: `r${at + i}`, x: r.x, y: r.y })));
      expect(a.status, a.text).toBe(200);
      answers.push(...a.json.predictions);
    }
    const u = rng(5);
    const order = rows.map((_, i) => i).sort(() => u() - 0.5);
    const labels = order.map((i) => ({ id: `r${i}`, species: rows[i].species }));
    const first = await postJson(s.url, '/learn', [...labels.slice(0, 30), { id: 'nobody', species: 'setosa' }]);
    const second = await postJson(s.url, '/learn', [...labels.slice(30), { id: labels[0].id, label: 'setosa' }]);
    expect(first.json.results.at(-1)).toEqual({ index: 30, status: 'unknown-id', id: 'nobody' });
    expect(second.json.results.at(-1)).toEqual({ index: 30, status: 'duplicate-label', id: labels[0].id });
    expect(first.json.learned + second.json.learned).toBe(60);
    // Scored with the prediction made at arrival: −ln p(label) of the answer it got then.
    for (const r of [...first.json.results, ...second.json.results].filter((x) => x.status === 'learned')) {
      const i = Number(r.id.slice(1));
      expect(r.predictedBy).toBe(1);
      expect(r.loss).toBeCloseTo(-Math.log(answers[i].probabilities[rows[i].species]), 5);
    }
    const reordered = ['x,y,species', ...order.map((i) => `${rows[i].x},${rows[i].y},${rows[i].species}`)].join('\n');
    writeFileSync(join(dir, 'label-order.csv'), `${reordered}\n`);
    const online = await onlineRun(blobsModel, 'label-order.csv', []);
    const served = await call(s.url, '/model.json');
    expect(withoutDataName(served.text)).toBe(withoutDataName(readFileSync(online.file, 'utf8')));
    const info = await call(s.url, '/model');
    expect(info.json.labels).toEqual({ predicted: 60, labelled: 60, duplicateIds: 0, unknownIds: 1, duplicateLabels: 1, expired: 0, neverLabelled: 0, pending: 0 });
  });

  it('--max-label-wait 2: a label 3 rows late finds its prediction expired; a waiting id predicted again is a 409', async () => {
    const s = await serve(['--model', blobsModel, '--learn', '--max-label-wait', '2']);
    expect((await postJson(s.url, '/predict', [{ id: 'a', x: 0, y: 0 }])).status).toBe(200);
    const dup = await postJson(s.url, '/predict', [{ x: 1, y: 1 }, { id: 'a', x: 0, y: 0 }]);
    expect(dup.status).toBe(409);
    expect(dup.json.error).toBe('row 1: the id "a" is already waiting for its label (or repeats in this request); nothing was predicted');
    expect((await postJson(s.url, '/predict', [{ x: 1, y: 1 }, { x: 2, y: 2 }, { x: 3, y: 3 }])).status).toBe(200);
    const late = await postJson(s.url, '/learn', [{ id: 'a', species: 'setosa' }]);
    expect(late.json.results).toEqual([{ index: 0, status: 'unknown-id', id: 'a' }]);
    expect((await postJson(s.url, '/predict', [{ id: 'b', x: 0, y: 0 }])).status).toBe(200);
    const info = await call(s.url, '/model');
    expect(info.json.labels).toMatchObject({ predicted: 2, expired: 1, duplicateIds: 1, unknownIds: 1, pending: 1 });
    expect(info.json.counters.rowsPredicted).toBe(5);
    const { code, stdout } = await s.stop('SIGTERM');
    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe(
      'deltaflow serve: stopped at version 1; 5 rows predicted, 0 learned; late labels: 0 learned, 1 unknown ids, 0 duplicate labels, 1 expired, 1 never labelled',
    );
  });
});

describe('deltaflow serve --learn: consistent versions under concurrent predict and learn', () => {
  it('320 predictions fired with 40 learning requests: every answer equals its version’s snapshot recomputed, and many versions answered', async () => {
    const snaps = join(dir, 'snaps');
    const s = await serve(['--model', blobsModel, '--learn', '--publish-every', '3', '--snapshot-every', '1', '--snapshots', 'snaps', '--lr', '0.05', '--max-connections', '2000']);
    const rows = rowsOf('stream.csv');
    const u = rng(11);
    const pick = (n: number) => Array.from({ length: n }, () => rows[Math.floor(u() * rows.length)]);
    const predictsSent: { rows: Record<string, string | number>[]; answer: Promise<Awaited<ReturnType<typeof postJson>>> }[] = [];
    // 40 rounds: a learning request and 8 predictions fired together; the next round starts once
    // the learning request is answered, while earlier predictions may still be in flight.
    for (let round = 0; round < 40; round++) {
      const learning = postJson(s.url, '/learn', pick(10));
      for (let i = 0; i < 8; i++) {
        const batch = pick(1 + Math.floor(u() * 5)).map(({ x, y }) => ({ x, y }));
        predictsSent.push({ rows: batch, answer: postJson(s.url, '/predict', batch) });
      }
      const learned = await learning;
      expect(learned.status, learned.text).toBe(200);
    }
    const versions = new Set<number>();
    let distinguished = 0;
    for (const p of predictsSent) {
      const a = await p.answer;
      expect(a.status, a.text).toBe(200);
      const v: number = a.json.version;
      versions.add(v);
      const xs = p.rows.map((r) => Float32Array.from([Number(r.x), Number(r.y)]));
      const again = await recompute(join(snaps, snapshotName(v)), xs, p.rows.map(() => null));
      expect(a.json.predictions, `version ${v}`).toEqual(again);
      // The check has teeth: the next version's weights answer differently.
      if (existsSync(join(snaps, snapshotName(v + 1)))) {
        const next = await recompute(join(snaps, snapshotName(v + 1)), xs, p.rows.map(() => null));
        if (JSON.stringify(next) !== JSON.stringify(again)) distinguished++;
      }
    }
    expect(versions.size).toBeGreaterThan(5);
    expect(distinguished).toBeGreaterThan(100);
  });
});

describe('deltaflow serve: events and metrics', () => {
  it('GET /events streams the first version, then a version and the scores after a /learn; GET /metrics is Prometheus text', async () => {
    const s = await serve(['--model', blobsModel, '--learn', '--publish-every', '2']);
    const res = await fetch(`${s.url}/events`);
    expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const reader = res.body?.getReader();
    if (reader === undefined) throw new Error('no body');
    let text = '';
    const readUntil = async (needle: RegExp): Promise<void> => {
      while (!needle.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended before ${needle}: ${text}`);
        text += Buffer.from(value).toString('utf8');
      }
    };
    await readUntil(/event: metrics\n/);
    expect(text).toContain('event: version\ndata: {"version":1,"updates":0,"generation":1}\n\n');
    await postJson(s.url, '/learn', rowsOf('stream.csv').slice(0, 4));
    await readUntil(/"version":3,"updates":4/);
    await readUntil(/event: metrics\ndata: \{"version":3,"seen":4,/);
    await reader.cancel();
    const metrics = await call(s.url, '/metrics');
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const lines = metrics.text.trimEnd().split('\n');
    for (const line of lines) expect(line, line).toMatch(/^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? (-?[0-9.e+-]+|NaN|\+Inf))$/);
    const value = (series: string): number => Number(lines.find((l) => l.startsWith(`${series} `))?.split(' ')[1]);
    expect(value('deltaflow_rows_learned_total')).toBe(4);
    expect(value('deltaflow_model_version')).toBe(3);
    expect(value('deltaflow_http_requests_total{route="/learn",code="200"}')).toBe(1);
    expect(value('deltaflow_prequential_rows_total')).toBe(4);
    expect(value('deltaflow_http_request_duration_seconds_count{route="/learn"}')).toBe(1);
    expect(lines).toContain('# TYPE deltaflow_http_request_duration_seconds histogram');
  });
});
