/**
 * `deltaflow online` as an online-learning experiment: drift detection and reactions, several
 * learners on one stream, simulated and real late labels, online normalization, and its run folder
 * (metrics.csv, events.csv, the models, plot.svg, summary.json); every bad option is one line.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from './cliHelpers.js';

const csvRows = (path: string): string[][] => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => l.split(','));

describe('deltaflow online', () => {
  let cwd = '';
  beforeAll(async () => {
    cwd = tempDir();
    const g = await runCli(['generate', 'sea', '--rows', '6000', '--drift-at', '3000', '--concepts', '4,3', '--noise', '0.05', '--seed', '3', '--out', 'sea.csv'], { cwd });
    expect(g.code, g.stderr).toBe(0);
    const st = await runCli(['generate', 'stagger', '--rows', '6000', '--drift-at', '3000', '--seed', '3', '--out', 'stagger.csv'], { cwd });
    expect(st.code, st.stderr).toBe(0);
    // The same rows with an id, and their labels as a separate id,label file (a few changed on purpose).
    const lines = readFileSync(join(cwd, 'sea.csv'), 'utf8').trimEnd().split('\n');
    const rows = ['id,attrib1,attrib2,attrib3'];
    const labels: string[] = [];
    lines.slice(1, 1001).forEach((l, i) => {
      const f = l.split(',');
      rows.push([`r${i}`, ...f.slice(0, 3)].join(','));
      labels.push(`r${i},${f[3]}`);
    });
    // Labels come late and in blocks of 5 reversed; one duplicate, one unknown id, the last 4 never come.
    const late: string[] = [];
    for (let i = 0; i < 995; i += 5) late.push(...labels.slice(i, i + 5).reverse());
    late.splice(50, 0, labels[40], 'x9,1');
    writeFileSync(join(cwd, 'rows.csv'), `${rows.join('\n')}\n`);
    writeFileSync(join(cwd, 'labels.csv'), `id,label\n${late.slice(0, late.length - 1).join('\n')}\n`);
  });

  it('a detector and a reaction: detections and reactions are lines of output, of metrics.csv and of events.csv', async () => {
    // STAGGER's concept 1 → 2 at row 3000 changes most labels: the error jumps and ADWIN sees it.
    const r = await runCli(['online', '--model', 'mlp', '--data', 'stagger.csv', '--classes', '2', '--window', '1000',
      '--detector', 'adwin', '--reaction', 'boost-lr:factor=10:rows=1000', '--drift-at', '3000', '--out', 'drift'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout.split('\n');
    expect(out[0]).toBe('online mlp (sgd lr 0.01, with a drift detector) on stagger.csv; run folder drift');
    expect(out.filter((l) => /^rows \d+ {2}accuracy /.test(l))).toHaveLength(6);
    expect(out.some((l) => /^row \d+ {2}mlp: adwin drift \(error up\)$/.test(l))).toBe(true);
    expect(out.some((l) => /^row \d+ {2}mlp: boost-lr: learning rate ×10 for 1000 rows$/.test(l))).toBe(true);
    const metrics = csvRows(join(cwd, 'drift', 'metrics.csv'));
    expect(metrics[0]).toEqual(['kind', 'row', 'learner', 'accuracy', 'accuracy_window', 'accuracy_fading', 'kappa', 'kappa_window', 'kappa_fading', 'kappa_t', 'kappa_t_window', 'kappa_t_fading', 'loss', 'loss_window', 'event', 'detail']);
    expect(metrics.filter((m) => m[0] === 'report').map((m) => m[1])).toEqual(['1000', '2000', '3000', '4000', '5000', '6000']);
    const events = csvRows(join(cwd, 'drift', 'events.csv'));
    expect(events[0]).toEqual(['row', 'learner', 'event', 'detector', 'direction', 'reacted', 'reaction', 'detail']);
    const reacted = events.filter((e) => e[2] === 'drift' && e[5] === 'true');
    expect(reacted.length).toBeGreaterThanOrEqual(1);
    expect(events.some((e) => e[2] === 'reaction' && e[1] === 'mlp' && e[6] === 'boost-lr' && e[0] === reacted[0][0])).toBe(true);
    expect(metrics.filter((m) => m[0] === 'event').length).toBe(events.length - 1);
    const summary = JSON.parse(readFileSync(join(cwd, 'drift', 'summary.json'), 'utf8')) as { status: string; rows: number; learners: { scored: number }[] };
    expect(summary).toMatchObject({ status: 'done', rows: 6000, learners: [{ scored: 6000 }] });
    expect(readFileSync(join(cwd, 'drift', 'plot.svg'), 'utf8')).toContain('known drift');
    const evaluated = await runCli(['evaluate', '--model', 'drift/model.json', '--data', 'stagger.csv', '--json'], { cwd });
    expect(evaluated.code, evaluated.stderr).toBe(0);
  });

  it('several learners on one stream: a side-by-side table; identical learners get identical figures; a model file each', async () => {
    const r = await runCli(['online', '--data', 'sea.csv', '--classes', '2', '--scale', '0.1', '--window', '2000', '--out', 'many',
      '--learner', 'model=mlp,hidden=16,lr=0.05,name=a', '--learner', 'model=mlp,hidden=16,lr=0.05,name=b', '--learner', 'model=mlp,hidden=8/8,optimizer=adam,lr=0.01,detector=ddm,reaction=reset-optimizer,name=c'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const table = r.stdout.split('\n');
    const header = table.findIndex((l) => l.startsWith('learner '));
    expect(table[header - 1]).toBe('rows 2000');
    const [a, b] = [table[header + 1], table[header + 2]];
    expect(a.replace(/^a /, 'x ')).toBe(b.replace(/^b /, 'x '));
    const reports = csvRows(join(cwd, 'many', 'metrics.csv')).filter((m) => m[0] === 'report');
    expect(reports.map((m) => m[2])).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a', 'b', 'c']);
    for (const name of ['a', 'b', 'c']) expect(existsSync(join(cwd, 'many', `model-${name}.json`))).toBe(true);
    expect(readFileSync(join(cwd, 'many', 'model-a.json'), 'utf8').replace(/"rows": ?\d+/, '')).toBe(readFileSync(join(cwd, 'many', 'model-b.json'), 'utf8').replace(/"rows": ?\d+/, ''));
  });

  it('--delay 0 is labels with the row, bit for bit; --delay N scores the same rows later', async () => {
    const run = async (extra: string[]) => {
      const r = await runCli(['online', '--model', 'mlp', '--data', 'sea.csv', '--classes', '2', '--scale', '0.1', '--window', '3000', '--json', '--out', `d${extra.join('')}`, ...extra], { cwd });
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; learners: unknown[] }).filter((l) => l.type === 'done')[0];
    };
    const plain = await run([]);
    expect(await run(['--delay', '0'])).toEqual(plain);
    const late = (await run(['--delay', '50'])) as { learners: { scored: number }[] };
    expect(late.learners[0].scored).toBe(6000);
    expect(late).not.toEqual(plain);
  });

  it('--labels FILE --id COLUMN: labels joined by id; every label without a row, duplicate and missing one counted', async () => {
    const r = await runCli(['online', '--model', 'mlp', '--data', 'rows.csv', '--labels', 'labels.csv', '--id', 'id', '--classes', '2', '--scale', '0.1', '--window', '500', '--max-label-wait', '50', '--out', 'byid'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('labels: 994 joined; 0 rows waited too long, 6 never labelled, 1 labels for no row, 1 duplicate labels, 0 duplicate row ids\n');
    const summary = JSON.parse(readFileSync(join(cwd, 'byid', 'summary.json'), 'utf8')) as { labels: Record<string, number>; learners: { scored: number }[]; rowsTrained: number; rowsPending: number; dataRows: number };
    expect(summary.labels).toMatchObject({ predicted: 1000, labelled: 994, neverLabelled: 6, duplicateLabels: 1 });
    expect(summary.learners[0].scored).toBe(994);
    // Only labelled rows were learned from; the 6 never labelled were read and predicted, not learned.
    expect(summary).toMatchObject({ rowsTrained: 994, rowsPending: 6, dataRows: 1000 });
    const wait = await runCli(['online', '--model', 'mlp', '--data', 'rows.csv', '--labels', 'labels.csv', '--id', 'id', '--classes', '2', '--max-label-wait', '2', '--out', 'byid-short'], { cwd });
    expect(wait.stdout).toMatch(/labels: \d+ joined; [1-9]\d* rows waited too long/);
  });

  it('--normalize online: the running statistics are stored in the saved model, and evaluate applies them', async () => {
    const r = await runCli(['online', '--model', 'mlp', '--data', 'sea.csv', '--classes', '2', '--normalize', 'online', '--window', '3000', '--out', 'norm'], { cwd });
    expect(r.code, r.stderr).toBe(0);
    const meta = (JSON.parse(readFileSync(join(cwd, 'norm', 'model.json'), 'utf8')) as { meta: { normalize: { kind: string; a: number[]; b: number[] } } }).meta;
    expect(meta.normalize.kind).toBe('zscore');
    expect(meta.normalize.a.every((m) => m > 4 && m < 6)).toBe(true);
    expect(meta.normalize.b.every((s) => s > 2.5 && s < 3.2)).toBe(true);
    const e = await runCli(['evaluate', '--model', 'norm/model.json', '--data', 'sea.csv', '--json'], { cwd });
    expect((JSON.parse(e.stdout) as { accuracy: number }).accuracy).toBeGreaterThan(0.85);
  });

  const errors: [string, string[], string][] = [
    ['a detector parameter out of range', ['--detector', 'adwin:delta=2'], 'deltaflow: online: detector adwin:delta=2: detector adwin: delta must be in (0, 1), got 2\n'],
    ['an unknown learner key', ['--learner', 'model=mlp,speed=3'], 'deltaflow: --learner 1 (model=mlp,speed=3): unknown key "speed" (keys: model, hidden, optimizer, lr, momentum, seed, detector, reaction, name)\n'],
    ['a reaction without a detector', ['--model', 'mlp', '--reaction', 'reinit'], 'deltaflow: online: a reaction needs a detector (detector=adwin, say) to react to\n'],
    ['a reaction parameter out of range', ['--model', 'mlp', '--detector', 'ddm', '--reaction', 'boost-lr:factor=0.5'], 'deltaflow: online: reaction boost-lr:factor=0.5: reaction boost-lr: factor must be in (1, 1000], got "0.5"\n'],
    ['--labels without --id', ['--model', 'mlp', '--labels', 'labels.csv'], 'deltaflow: --labels needs --id COLUMN: the column that joins a label to its row\n'],
    ['a regression metric on classes', ['--model', 'mlp', '--metrics', 'rmse'], 'deltaflow: --metrics rmse: not a classification metric (accuracy, kappa, kappa_t, f1, logloss)\n'],
  ];
  for (const [what, args, message] of errors) {
    it(`${what}: one line`, async () => {
      const withModel = args.includes('--model') || args.includes('--learner') ? args : ['--model', 'mlp', ...args];
      const r = await runCli(['online', '--data', 'sea.csv', '--classes', '2', '--out', `bad-${Math.random().toString(36).slice(2)}`, ...withModel], { cwd });
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(message);
    });
  }
});
