/**
 * `deltaflow online --source redis://…` and `train --source redis://…` against a real redis-server.
 *
 * THE kill test on a Redis source: a learner (a drift detector and a reaction, labels 5 rows late)
 * consuming a stream that `deltaflow publish` wrote is SIGKILLed by PID again and again — after a
 * seeded random number of report lines, and every 4th time while a checkpoint is being written — and
 * each time restarted with the same command. The final committed state must show every entry learned
 * exactly once (the summary's count and FNV-1a hash of the covered entry ids equal the stream's, every
 * learner scored N rows), nothing pending in the group (XPENDING), and model.json, metrics.csv and
 * events.csv byte-identical to an uninterrupted run over the same stream. The negative control
 * acknowledges each checkpoint's entries before it is durable (DELTAFLOW_CKPT_FAULT=ack-early): the
 * same kind of kills then lose entries, and the same checks see it.
 *
 * Also: the same rows from the file give the same weights; a killed consumer's pending entries are
 * claimed by a consumer of another name; --predictions writes every row's prediction with its entry
 * id; train --source trains one pass (to the end marker, or --max-rows) and acknowledges what it
 * learned; a bad entry stops online and train with one line naming the stream, the entry id and the
 * column, and --on-bad-row skip counts it.
 *
 * Runs the built CLI (dist/): build first (`npm test` does).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foldIdsHash, initialPosition } from '../../src/streams/sources/redis/streamPosition.js';
import { connectTestClient, freshKey, sharedRedisUrl, type TestClient } from '../streams/sources/redisTestKit.js';
import { rng, runCli, tempDir } from './cliHelpers.js';
import { hasCheckpoint, runKillable, tempFiles, type KillPlan } from './resumeHelpers.js';

const N = 2000;
const url = sharedRedisUrl();
const PROGRESS = '{"type":"progress"';

let redis: TestClient;
let cwd = '';
/** The stream every kill test reads, its data entry ids in order, and the same rows as a file. */
let key = '';
let ids: string[] = [];

const learnArgs = (group: string, consumer: string, out: string): string[] => [
  'online', '--source', `${url}/${key}`, '--group', group, '--consumer', consumer, '--classes', '2', '--model', 'mlp', '--hidden', '16', '--lr', '0.05',
  '--detector', 'adwin', '--reaction', 'boost-lr:factor=4:rows=200', '--delay', '5', '--window', '50', '--checkpoint-every', '30', '--json', '--out', out,
];

interface Final {
  readonly model: Buffer;
  readonly metrics: string;
  readonly events: string;
  readonly summary: { status: string; rows: number; learners: { scored: number }[]; source: { position: { count: number; idsHash: string; lastId: string } } };
}

function readFinal(dir: string): Final {
  const at = (f: string): string => join(cwd, dir, f);
  return { model: readFileSync(at('model.json')), metrics: readFileSync(at('metrics.csv'), 'utf8'), events: readFileSync(at('events.csv'), 'utf8'), summary: JSON.parse(readFileSync(at('summary.json'), 'utf8')) as Final['summary'] };
}

/** Run the same command until it exits 0, SIGKILLing it by PID as `schedule` says for the first `maxKills` runs. */
async function killLoop(argv: string[], out: string, schedule: (cycle: number) => KillPlan, maxKills: number, env: Record<string, string> = {}): Promise<{ kills: number; duringWrite: number }> {
  let kills = 0;
  let duringWrite = 0;
  const checkpoints = join(cwd, out, 'checkpoints');
  for (let cycle = 0; ; cycle++) {
    const kill = kills < maxKills ? schedule(cycle) : undefined;
    const pause: Record<string, string> = kill?.onTempIn !== undefined ? { DELTAFLOW_CKPT_PAUSE_MS: '250' } : {};
    const r = await runKillable(argv, { cwd, kill, linePrefix: PROGRESS, env: { ...env, ...pause } });
    if (r.code === 0) return { kills, duringWrite };
    if (r.signal !== 'SIGKILL') throw new Error(`cycle ${cycle} ended with code ${r.code}: ${r.stderr}`);
    kills++;
    if (tempFiles(checkpoints).length > 0) duringWrite++;
    if (!hasCheckpoint(checkpoints) && cycle > 20) throw new Error('no checkpoint after 20 runs');
  }
}

beforeAll(async () => {
  redis = await connectTestClient();
  cwd = tempDir();
  const g = await runCli(['generate', 'stagger', '--rows', String(N), '--drift-at', '1000', '--seed', '5', '--out', 'rows.csv'], { cwd });
  expect(g.code, g.stderr).toBe(0);
  key = freshKey('online-kill');
  const p = await runCli(['publish', '--redis', url, '--stream', key, '--data', 'rows.csv'], { cwd });
  expect(p.code, p.stderr).toBe(0);
  const entries = await redis.entries(key);
  ids = entries.filter((e) => e.fields[0] === 'row').map((e) => e.id);
  expect(ids).toHaveLength(N);
}, 60_000);

afterAll(async () => {
  await redis.close();
});

describe('deltaflow online --source redis://…', () => {
  let calm: Final;

  beforeAll(async () => {
    const r = await runCli([...learnArgs('calm', 'c', 'calm'), '--predictions', `${url}/${key}:predictions`], { cwd });
    expect(r.code, r.stderr).toBe(0);
    calm = readFinal('calm');
  }, 60_000);

  it('an uninterrupted run learns every entry once, acknowledges them all, and equals the same rows read from the file', async () => {
    expect(calm.summary).toMatchObject({ status: 'done', rows: N, learners: [{ scored: N }] });
    expect(calm.summary.source.position.count).toBe(N);
    expect(calm.summary.source.position.idsHash).toBe(ids.reduce(foldIdsHash, initialPosition(key, 'calm').idsHash));
    expect(await redis.pending(key, 'calm')).toBe(0);
    expect(calm.events).toMatch(/,reaction,,,,boost-lr,learning rate ×4/);
    const file = await runCli(['online', '--data', 'rows.csv', ...learnArgs('x', 'x', 'from-file').slice(7).filter((a) => a !== '--checkpoint-every' && a !== '30')], { cwd });
    expect(file.code, file.stderr).toBe(0);
    const layers = (b: Buffer): unknown => (JSON.parse(b.toString('utf8')) as { layers: unknown }).layers;
    expect(layers(readFileSync(join(cwd, 'from-file', 'model.json')))).toEqual(layers(calm.model));
    expect(readFileSync(join(cwd, 'from-file', 'metrics.csv'), 'utf8')).toBe(calm.metrics);
  });

  it('--predictions: one entry per row, in row order, with its entry id, class and probabilities', async () => {
    const predictions = await redis.entries(`${key}:predictions`);
    expect(predictions).toHaveLength(N);
    expect(predictions.map((p) => p.fields[1])).toEqual(ids);
    const first = predictions[0].fields;
    expect(first.slice(0, 6)).toEqual(['id', ids[0], 'row', '1', 'class', expect.stringMatching(/^[01]$/)]);
    expect(first[6]).toBe('probabilities');
    const p = JSON.parse(first[7]) as number[];
    expect(p).toHaveLength(2);
    expect(p[0] + p[1]).toBeCloseTo(1, 5);
  });

  it('THE kill test: ≥ 10 SIGKILLs by PID (≥ 2 during a checkpoint write), restarted with the same command: every entry learned once, nothing pending, byte-identical files', async () => {
    const u = rng(99);
    const argv = [...learnArgs('killed', 'k', 'killed'), '--resume-or-start'];
    const loop = await killLoop(argv, 'killed', (cycle) => (cycle % 4 === 3 ? { onTempIn: join('killed', 'checkpoints') } : { afterSteps: 1 + Math.floor(u() * 6) }), 12);
    process.stdout.write(`redis kill test: ${loop.kills} SIGKILLs (${loop.duringWrite} during a checkpoint write)\n`);
    expect(loop.kills).toBeGreaterThanOrEqual(10);
    expect(loop.duringWrite).toBeGreaterThanOrEqual(2);
    const killed = readFinal('killed');
    expect(killed.summary).toMatchObject({ status: 'done', rows: N, learners: [{ scored: N }] });
    expect(killed.summary.source.position.count).toBe(N);
    expect(killed.summary.source.position.idsHash).toBe(calm.summary.source.position.idsHash);
    expect(await redis.pending(key, 'killed')).toBe(0);
    expect(killed.model.equals(calm.model)).toBe(true);
    expect(killed.metrics).toBe(calm.metrics);
    expect(killed.events).toBe(calm.events);
  }, 120_000);

  it('negative control: acknowledging before the checkpoint is durable (ack-early), the same kills lose entries and the checks see it', async () => {
    // --columns: the rows stay readable when the header entry is among the entries lost.
    const argv = [...learnArgs('early', 'e', 'early'), '--columns', 'size,color,shape,label', '--resume-or-start'];
    // Every kill lands while a checkpoint is being written: its entries are acknowledged, the checkpoint never lands.
    const loop = await killLoop(argv, 'early', () => ({ onTempIn: join('early', 'checkpoints') }), 4, { DELTAFLOW_CKPT_FAULT: 'ack-early' });
    expect(loop.kills).toBe(4);
    const early = readFinal('early');
    process.stdout.write(`redis kill test, ack-early control: ${loop.kills} SIGKILLs during checkpoint writes lost ${N - early.summary.source.position.count} of ${N} entries\n`);
    expect(early.summary.source.position.count).toBeLessThan(N);
    expect(early.summary.learners[0].scored).toBeLessThan(N);
    expect(early.summary.source.position.idsHash).not.toBe(calm.summary.source.position.idsHash);
    expect(early.model.equals(calm.model)).toBe(false);
    // Nothing is pending either: XPENDING alone cannot see a loss, the count and the ids hash do.
    expect(await redis.pending(key, 'early')).toBe(0);
  }, 60_000);

  it("a killed consumer's pending entries are claimed by a consumer of another name, and the run ends as the uninterrupted one", async () => {
    const first = await runKillable(learnArgs('handover', 'first', 'handover'), { cwd, kill: { afterSteps: 8 }, linePrefix: PROGRESS });
    expect(first.signal).toBe('SIGKILL');
    expect(await redis.pending(key, 'handover')).toBeGreaterThan(0);
    const second = await runCli([...learnArgs('handover', 'second', 'handover'), '--resume-or-start', '--claim-idle', '200'], { cwd });
    expect(second.code, second.stderr).toBe(0);
    const final = readFinal('handover');
    expect(final.summary.source.position.count).toBe(N);
    expect(await redis.pending(key, 'handover')).toBe(0);
    expect(final.model.equals(calm.model)).toBe(true);
  }, 60_000);

  it('bad options are one line: no group, no columns to read, no --classes, --labels with a stream', async () => {
    const noGroup = await runCli(['online', '--source', `${url}/${key}`, '--model', 'mlp', '--classes', '2'], { cwd });
    expect(noGroup.stderr).toBe("deltaflow: --source redis://…: give the consumer group and this consumer's name (--group G --consumer C)\n");
    const bare = freshKey('no-header');
    await redis.add(bare, [['row', '1,2,0']]);
    const noColumns = await runCli(['online', '--source', `${url}/${bare}`, '--group', 'g', '--consumer', 'c', '--model', 'mlp', '--classes', '2', '--out', 'bare'], { cwd });
    expect(noColumns.stderr).toMatch(/^deltaflow: --source redis:\/\/127\.0\.0\.1:\d+\/no-header\S*: the stream's first entry names no columns \(no header entry\): give them with --columns a,b,c\n$/);
    const noClasses = await runCli(['online', '--source', `${url}/${key}`, '--group', 'g', '--consumer', 'c', '--model', 'mlp', '--out', 'noclasses'], { cwd });
    expect(noClasses.stderr).toMatch(/--classes is required with --source redis:\/\/\S+ \(a stream cannot be read twice to find the label values\)/);
    const withLabels = await runCli(['online', '--source', `${url}/${key}`, '--group', 'g', '--consumer', 'c', '--classes', '2', '--model', 'mlp', '--labels', 'rows.csv', '--out', 'labels'], { cwd });
    expect(withLabels.stderr).toBe('deltaflow: --labels with --source: late labels are read from files; publish rows with their labels to the stream\n');
  });

  it('a bad entry is one line naming the stream, the entry id and the column (online and train); --on-bad-row skip counts it and reads on', async () => {
    const bad = freshKey('bad-entry');
    const [, , notNumber] = await redis.add(bad, [['header', 'size,color,shape,label'], ['row', '1,2,1,0'], ['row', '1,abc,1,0'], ['row', '1,2,1'], ['row', '2,1,0,1'], ['end', '1']]);
    const at = `${url}/${bad}`;
    const line = `deltaflow: ${at} entry ${notNumber} (column "color"): "abc" is not a number\n`;
    const online = await runCli(['online', '--source', at, '--group', 'g', '--consumer', 'c', '--classes', '2', '--model', 'mlp', '--out', 'bad-online'], { cwd });
    expect(online.code).toBe(1);
    expect(online.stderr).toBe(line);
    const train = await runCli(['train', '--source', at, '--group', 'g-train', '--consumer', 'c', '--classes', '2', '--workers', '1', '--out', 'bad-train'], { cwd });
    expect(train.code).toBe(1);
    expect(train.stderr).toBe(line);
    const skip = await runCli(['online', '--source', at, '--group', 'g-skip', '--consumer', 'c', '--classes', '2', '--model', 'mlp', '--on-bad-row', 'skip', '--json', '--out', 'bad-skip'], { cwd });
    expect(skip.code, skip.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(cwd, 'bad-skip', 'summary.json'), 'utf8')) as Record<string, unknown>;
    expect(summary).toMatchObject({ status: 'done', rows: 2, rowsSkipped: 2, dataRows: 4, skippedByCode: { CSV_NOT_A_NUMBER: 1, CSV_RECORD_INCONSISTENT_COLUMNS: 1 } });
    expect(await redis.pending(bad, 'g-skip')).toBe(0);
  });
});

describe('deltaflow train --source redis://…', () => {
  it('one pass over the bounded stream: the weights of the same rows from the file, and every entry acknowledged', async () => {
    const common = ['--classes', '2', '--model', 'mlp', '--hidden', '8', '--batch', '16', '--shuffle', '0', '--optimizer', 'sgd', '--lr', '0.1', '--workers', '1', '--json'];
    const fromStream = await runCli(['train', '--source', `${url}/${key}`, '--group', 'train', '--consumer', 't', ...common, '--out', 'train-stream'], { cwd });
    expect(fromStream.code, fromStream.stderr).toBe(0);
    const fromFile = await runCli(['train', '--data', 'rows.csv', '--epochs', '1', ...common, '--out', 'train-file'], { cwd });
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const layers = (dir: string): unknown => (JSON.parse(readFileSync(join(cwd, dir, 'model.json'), 'utf8')) as { layers: unknown }).layers;
    expect(layers('train-stream')).toEqual(layers('train-file'));
    expect(await redis.pending(key, 'train')).toBe(0);
    const summary = JSON.parse(readFileSync(join(cwd, 'train-stream', 'summary.json'), 'utf8')) as { rowsTrained: number };
    expect(summary.rowsTrained).toBe(N);
  }, 60_000);

  it('--max-rows 500: trains on the first 500 entries and stops', async () => {
    const r = await runCli(['train', '--source', `${url}/${key}`, '--group', 'train500', '--consumer', 't', '--max-rows', '500', '--classes', '2', '--model', 'mlp', '--workers', '1', '--json', '--out', 'train-500'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(cwd, 'train-500', 'summary.json'), 'utf8')) as { rowsTrained: number };
    expect(summary.rowsTrained).toBe(500);
    expect(await redis.pending(key, 'train500')).toBe(0);
  }, 60_000);

  it('checkpoints and several epochs are refused with a stream, in one line', async () => {
    const r = await runCli(['train', '--source', `${url}/${key}`, '--group', 'g', '--consumer', 'c', '--classes', '2', '--epochs', '3'], { cwd });
    expect(r.stderr).toBe('deltaflow: --epochs 3 with --source: the rows are read once; use --epochs 1\n');
    const c = await runCli(['train', '--source', `${url}/${key}`, '--group', 'g', '--consumer', 'c', '--classes', '2', '--checkpoint-every', '10'], { cwd });
    expect(c.stderr).toMatch(/^deltaflow: --source with checkpoints: a stream trains in one pass/);
  });
});
