/**
 * The workers section of the bench: 1 against 2 workers, in memory, over a grid of models and batch
 * sizes, beside what `deltaflow train`'s default (scripts/commands/workersDefault.ts) chooses for
 * each — the measurements its two thresholds come from, and the check that they still hold.
 *
 *   models   W1 (MLP 784-128-64-10), W2 (LeNet-5), a small MLP 784-32-10 and a wide one 784-512-512-10
 *   batches  per model, around where a second thread starts to pay off
 *   passes   `passes` rounds; in each a pass of 1 worker and one of 2 (order alternating), each pass
 *            about `passSeconds` long; the ratio is the median of same-round ratios
 *
 * Each row gives a slice's training FLOPs and FLOPs per parameter for a split in 2 (the rule's two
 * measures), the two rates, their ratio and the default's choice, so a row where 2 workers win but
 * the rule says 1 (or the reverse) shows at once.
 */
import { Subject } from 'rxjs';
import { loadavg } from 'node:os';
import { createGradientPool, dense, relu, sequential, sgd, softmaxCrossEntropy, train, type Batch, type Model, type RowOrigin, type StepMetrics } from '../../src/index.js';
import { defaultWorkers, trainingFlopsPerRow } from '../commands/workersDefault.js';
import { machineBusySeconds } from './cpuLoad.js';
import { PIXELS, type Digits } from './data.js';
import { benchModel } from './deltaflowRunner.js';
import { table } from './report.js';
import { fmt, spread, type Spread } from './stats.js';

export interface GridCase {
  readonly model: string;
  readonly batch: number;
  readonly sliceMflop: number;
  readonly sliceFlopsPerParam: number;
  readonly oneWorker: Spread;
  readonly twoWorkers: Spread;
  /** Same-round 2-worker ÷ 1-worker rates. */
  readonly ratio: Spread;
  /** What train's default chooses on 2 cores. */
  readonly chosen: number;
  readonly loadAverage: number;
  /** Cores other processes kept busy during the passes (/proc/stat), median; null where unknown. */
  readonly otherCores: number | null;
}

const MODELS: Readonly<Record<string, { readonly build: () => Model; readonly input: readonly number[]; readonly batches: readonly number[]; readonly smoke: readonly number[] }>> = {
  'W1 mlp 784-128-64-10': { build: () => benchModel('W1'), input: [784], batches: [32, 64, 128, 256, 512], smoke: [64] },
  'W2 lenet': { build: () => benchModel('W2'), input: [1, 28, 28], batches: [8, 16, 32, 64], smoke: [32] },
  'mlp 784-32-10': { build: () => sequential({ input: [784], seed: 1 }, dense({ units: 32 }), relu(), dense({ units: 10 })), input: [784], batches: [64, 512], smoke: [] },
  'mlp 784-512-512-10': { build: () => sequential({ input: [784], seed: 1 }, dense({ units: 512 }), relu(), dense({ units: 512 }), relu(), dense({ units: 10 })), input: [784], batches: [32, 64, 256], smoke: [] },
};

function batchesOf(digits: Digits, m: number, input: readonly number[]): Batch[] {
  const out: Batch[] = [];
  for (let b = 0; b + m <= digits.n; b += m) {
    const x = digits.images.slice(b * PIXELS, (b + m) * PIXELS);
    const target = new Float32Array(m * 10);
    const labels = new Int32Array(m);
    const origins: RowOrigin[] = [];
    for (let i = 0; i < m; i++) {
      labels[i] = digits.labels[b + i];
      target[i * 10 + labels[i]] = 1;
      origins.push({ source: 'mnist-digits', line: b + i + 2, record: b + i, endOffset: 0 });
    }
    out.push({ x: { data: x, shape: [m, ...input] }, target: { data: target, shape: [m, 10] }, labels, m, origins });
  }
  return out;
}

/** A kept-alive training subscription on 1 or 2 threads, stepped synchronously. */
function stepper(model: Model, workers: number): { step: (b: Batch) => void; close: () => void } {
  const loss = softmaxCrossEntropy();
  const pool = workers > 1 ? createGradientPool(model, { loss, workers }) : undefined;
  const input = new Subject<Batch>();
  let failure: unknown = null;
  const sub = input.pipe(train(model, { loss, optimizer: sgd({ lr: 0.01 }), ...(pool === undefined ? {} : { pool }) })).subscribe({
    next: (_m: StepMetrics) => undefined,
    error: (e: unknown) => (failure = e),
  });
  return {
    step: (b) => {
      input.next(b);
      if (failure !== null) throw failure;
    },
    close: () => {
      sub.unsubscribe();
      pool?.close();
    },
  };
}

export async function benchWorkersGrid(digits: Digits, o: { readonly passes: number; readonly passSeconds: number; readonly isSmoke: boolean; readonly log: (line: string) => void }): Promise<GridCase[]> {
  const out: GridCase[] = [];
  for (const [name, spec] of Object.entries(MODELS)) {
    for (const m of o.isSmoke ? spec.smoke : spec.batches) {
      const probe = spec.build();
      const perRow = trainingFlopsPerRow(probe);
      const params = probe.params.reduce((n, p) => n + p.value.length, 0);
      const slice = Math.ceil(m / 2) * perRow;
      const batches = batchesOf(digits, m, spec.input);
      const one = stepper(spec.build(), 1);
      const two = stepper(spec.build(), 2);
      const others: number[] = [];
      const pass = (s: { step: (b: Batch) => void }, n: number): number => {
        const busy0 = machineBusySeconds();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < n; i++) s.step(batches[i % batches.length]);
        const wall = (performance.now() - t0) / 1000;
        const cpu = process.cpuUsage(cpu0);
        const busy1 = machineBusySeconds();
        if (busy0 !== null && busy1 !== null) others.push(Math.max(0, (busy1 - busy0 - (cpu.user + cpu.system) / 1e6) / wall));
        return (n * m) / wall;
      };
      pass(one, 10);
      pass(two, 10);
      // Size a pass from the 1-worker rate.
      let n = 4;
      for (let t = 0; t < 12; t++) {
        const t0 = performance.now();
        pass(one, n);
        const seconds = (performance.now() - t0) / 1000;
        if (seconds >= o.passSeconds / 4) {
          n = Math.max(1, Math.round((n * o.passSeconds) / seconds));
          break;
        }
        n *= 2;
      }
      others.length = 0;
      const rates1: number[] = [];
      const rates2: number[] = [];
      for (let round = 0; round < o.passes; round++) {
        if (round % 2 === 0) {
          rates1.push(pass(one, n));
          rates2.push(pass(two, n));
        } else {
          rates2.push(pass(two, n));
          rates1.push(pass(one, n));
        }
      }
      one.close();
      two.close();
      const ratio = spread(rates2.map((r, i) => r / rates1[i]));
      const row: GridCase = {
        model: name,
        batch: m,
        sliceMflop: slice / 1e6,
        sliceFlopsPerParam: slice / params,
        oneWorker: spread(rates1),
        twoWorkers: spread(rates2),
        ratio,
        chosen: defaultWorkers(probe, m, 2).workers,
        loadAverage: loadavg()[0],
        otherCores: others.length === 0 ? null : spread(others).median,
      };
      out.push(row);
      o.log(`workers ${name} batch ${m}: 1w ${row.oneWorker.median.toFixed(0)}, 2w ${row.twoWorkers.median.toFixed(0)} samples/s, 2w/1w ${ratio.median.toFixed(3)}; default ${row.chosen}`);
    }
  }
  return out;
}

export function workersGridReport(rows: readonly GridCase[]): string {
  return [
    '### Workers: 1 against 2 in memory, and the default `deltaflow train` chooses (2 cores)',
    '',
    table(
      ['model', 'batch', 'slice of a 2-split: MFLOP', 'FLOP per parameter', '1 worker samples/s', '2 workers samples/s', '2 ÷ 1, same round (min – max)', 'default', 'other procs, cores', 'load average'],
      rows.map((r) => [
        r.model, String(r.batch), fmt(r.sliceMflop), fmt(r.sliceFlopsPerParam), fmt(r.oneWorker.median), fmt(r.twoWorkers.median),
        `${fmt(r.ratio.median)} (${fmt(r.ratio.min)} – ${fmt(r.ratio.max)})`, String(r.chosen), r.otherCores === null ? '' : fmt(r.otherCores), fmt(r.loadAverage),
      ]),
    ),
  ].join('\n');
}
