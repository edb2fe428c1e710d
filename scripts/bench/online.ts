/**
 * The `online` section of `npm run bench`: batch-1 online learning, where every row costs a whole
 * training step and the per-row overhead decides the speed. An MLP 8-32-2 learns a drifting
 * 8-feature hyperplane stream (MOA's rotating hyperplane, 5 % label noise) prequentially — predict,
 * score, learn, one row at a time — with the metrics of a run (accuracy, κ, κ-temporal, each
 * cumulative, windowed and faded) and an ADWIN detector, in this process (`evaluateOnline`); and the
 * same stream end to end through the CLI (`deltaflow online`, reading the CSV, start-up included).
 *
 * Side by side in the same run, alternating pass by pass: scikit-learn's `partial_fit` one row at a
 * time (SGDClassifier with log loss, and MLPClassifier with 32 hidden units), when /usr/bin/python3 has
 * sklearn (Debian's python3-sklearn) — a measuring stick only, never a dependency.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { from, lastValueFrom } from 'rxjs';
import { dense } from '../../src/layers/dense.js';
import { relu } from '../../src/layers/activation.js';
import { sequential } from '../../src/layers/sequential.js';
import { sgd } from '../../src/ops/optimizers.js';
import { parseDetector } from '../../src/streams/online/detectors/registry.js';
import { evaluateOnline, type DoneEvent } from '../../src/streams/online/evaluateOnline.js';
import { generateRows } from '../../src/streams/sources/generators/generateRows.js';
import { softmaxCrossEntropy } from '../../src/streams/training/lossHead.js';
import type { Sample } from '../../src/streams/types.js';
import { table } from './report.js';
import { benchScript } from './systems.js';
import { fmt, fmtSpread, spread, type Spread } from './stats.js';

const CLI = fileURLToPath(new URL('../cli.js', import.meta.url));


export interface OnlineBenchResult {
  readonly rows: number;
  /** rows/s of each system over the passes, and its prequential accuracy (the last pass). */
  readonly systems: readonly { readonly name: string; readonly rowsPerSecond: Spread; readonly accuracy: number }[];
  readonly loadAverage: readonly [number, number];
}

const hasSklearn = (): boolean => spawnSync('/usr/bin/python3', ['-c', 'import sklearn'], { stdio: 'ignore' }).status === 0;

/** The hyperplane stream as Samples and as a CSV file (features, then label). */
function stream(rows: number, dir: string): { samples: Sample[]; file: string } {
  const generated = [...generateRows('hyperplane', { rows, features: 8, driftAt: [Math.floor(rows / 2)], noise: 0.05, seed: 1 })];
  const samples = generated.map((r, t): Sample => {
    const target = new Float32Array(2);
    target[r.label] = 1;
    return { x: Float32Array.from(r.x), target, label: r.label, origin: { source: 'hyperplane', line: t + 2, record: t, endOffset: t + 1 } };
  });
  const file = join(dir, 'hyperplane.csv');
  writeFileSync(file, `${[...Array.from({ length: 8 }, (_, i) => `x${i}`), 'label'].join(',')}\n${generated.map((r) => [...r.x, r.label].join(',')).join('\n')}\n`);
  return { samples, file };
}

async function inProcess(samples: readonly Sample[]): Promise<{ rowsPerSecond: number; accuracy: number }> {
  const model = sequential({ input: [8], seed: 1 }, dense({ units: 32 }), relu(), dense({ units: 2 }));
  const start = performance.now();
  const events = from(samples).pipe(
    evaluateOnline([{ name: 'mlp', model, loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), task: 'classify', detector: parseDetector('adwin') }], { reportEvery: 1000, window: 1000, fading: 0.999 }),
  );
  let done: DoneEvent | null = null;
  await lastValueFrom(events).then((e) => (done = e.type === 'done' ? e : null));
  const seconds = (performance.now() - start) / 1000;
  const final = done as DoneEvent | null;
  return { rowsPerSecond: samples.length / seconds, accuracy: final?.learners[0].values.accuracy ?? NaN };
}

function viaCli(file: string, rows: number, dir: string): { rowsPerSecond: number; accuracy: number } {
  const start = performance.now();
  const out = execFileSync(process.execPath, [CLI, 'online', '--data', file, '--classes', '2', '--window', '1000', '--learner', 'model=mlp,hidden=32,lr=0.1,detector=adwin', '--json', '--out', join(dir, `run-${Math.random().toString(36).slice(2)}`)], { encoding: 'utf8' });
  const seconds = (performance.now() - start) / 1000;
  const done = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string; cumulativeAccuracy?: number }).find((l) => l.type === 'done');
  return { rowsPerSecond: rows / seconds, accuracy: done?.cumulativeAccuracy ?? NaN };
}

function sklearn(file: string, learner: string): { rowsPerSecond: number; accuracy: number } {
  const out = execFileSync('/usr/bin/python3', [benchScript('sklearn_online.py'), file, learner], { encoding: 'utf8' });
  const r = JSON.parse(out.trim()) as { rowsPerSecond: number; accuracy: number };
  return r;
}

/** Run the section: `passes` alternating rounds of every system. */
export async function benchOnline(options: { readonly passes: number; readonly isSmoke: boolean; readonly log: (line: string) => void }): Promise<OnlineBenchResult> {
  const rows = options.isSmoke ? 2000 : 50_000;
  const dir = mkdtempSync(join(tmpdir(), 'deltaflow-bench-online-'));
  const before = loadavg()[0];
  try {
    const { samples, file } = stream(rows, dir);
    const systems: { name: string; run: () => Promise<{ rowsPerSecond: number; accuracy: number }> }[] = [
      { name: 'deltaflow evaluateOnline (in process)', run: () => inProcess(samples) },
      { name: 'deltaflow online (CLI, CSV, start-up included)', run: async () => viaCli(file, rows, dir) },
    ];
    if (!options.isSmoke && hasSklearn()) {
      // MLPClassifier.partial_fit is slow per row: a tenth of the stream keeps its passes short.
      const short = join(dir, 'hyperplane-short.csv');
      writeFileSync(short, `${[...Array.from({ length: 8 }, (_, i) => `x${i}`), 'label'].join(',')}\n${samples.slice(0, rows / 10).map((s) => [...s.x, s.label].join(',')).join('\n')}\n`);
      systems.push({ name: 'scikit-learn SGDClassifier(log_loss).partial_fit', run: async () => sklearn(file, 'sgd') });
      systems.push({ name: 'scikit-learn MLPClassifier((32,)).partial_fit', run: async () => sklearn(short, 'mlp') });
    }
    const rates = systems.map(() => [] as number[]);
    const accuracy = systems.map(() => NaN);
    await systems[0].run(); // warm-up: kernels compiled, JIT warm
    for (let pass = 0; pass < options.passes; pass++) {
      for (const [i, s] of systems.entries()) {
        const r = await s.run();
        rates[i].push(r.rowsPerSecond);
        accuracy[i] = r.accuracy;
        options.log(`online pass ${pass + 1}: ${s.name}: ${fmt(r.rowsPerSecond)} rows/s`);
      }
    }
    return { rows, systems: systems.map((s, i) => ({ name: s.name, rowsPerSecond: spread(rates[i]), accuracy: accuracy[i] })), loadAverage: [before, loadavg()[0]] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function onlineReport(r: OnlineBenchResult): string {
  return [
    `Online learning, batch 1: MLP 8-32-2 on ${r.rows.toLocaleString('en-US')} hyperplane rows (metrics: accuracy, κ, κ-temporal × cumulative/window/faded; ADWIN); load ${r.loadAverage.map((l) => l.toFixed(1)).join(' → ')}`,
    table(['system', 'rows/s (min – max)', 'prequential accuracy'], r.systems.map((s) => [s.name, fmtSpread(s.rowsPerSecond), `${(100 * s.accuracy).toFixed(1)} %`])),
  ].join('\n');
}
