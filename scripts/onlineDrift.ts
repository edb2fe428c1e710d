/**
 * Online learning under concept drift, prequentially evaluated (test-then-train).
 *
 * A generated stream of 2-D points in [−1, 1]²: class 1 when x > y for the first `changeAt` samples,
 * then the rule flips to x < y. Every point is predicted, scored, then learned from; the windowed
 * accuracy is printed every `every` samples — high before the change, a sharp drop right after it,
 * and recovery as the model relearns.
 *
 *   node dist/scripts/onlineDrift.js [samples=6000] [changeAt=3000] [seed=1]
 */
import { from, type Observable } from 'rxjs';
import { pathToFileURL } from 'node:url';
import { relu } from '../src/layers/activation.js';
import { dense } from '../src/layers/dense.js';
import { sequential, type Model } from '../src/layers/sequential.js';
import { sgd } from '../src/ops/optimizers.js';
import { createRng } from '../src/ops/random.js';
import { softmaxCrossEntropy } from '../src/streams/training/lossHead.js';
import { prequential, type PrequentialMetrics } from '../src/streams/online/prequential.js';
import type { Sample } from '../src/streams/types.js';

export interface DriftOptions {
  readonly samples: number;
  /** Index of the first sample labelled by the new rule. */
  readonly changeAt: number;
  readonly seed: number;
}

/** The drifting stream: class = [x > y] before `changeAt`, [x < y] from then on. */
export function driftStream(options: DriftOptions): Observable<Sample> {
  const rng = createRng(options.seed);
  const samples = Array.from({ length: options.samples }, (_, i): Sample => {
    const x = 2 * rng.next() - 1;
    const y = 2 * rng.next() - 1;
    const label = (i < options.changeAt ? x > y : x < y) ? 1 : 0;
    const target = new Float32Array(2);
    target[label] = 1;
    return { x: Float32Array.of(x, y), target, label, origin: { source: 'drift', line: i + 1, record: i, endOffset: 0 } };
  });
  return from(samples);
}

/** The model and the prequential pipeline the script and its test share. */
export function driftLearner(seed: number): { model: Model; run: (source: Observable<Sample>) => Observable<PrequentialMetrics> } {
  const model = sequential({ input: [2], seed }, dense({ units: 16 }), relu(), dense({ units: 2 }));
  const run = (source: Observable<Sample>) =>
    source.pipe(prequential(model, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.02 }), window: 100 }));
  return { model, run };
}

function main(argv: readonly string[]): void {
  const [samples = 6000, changeAt = 3000, seed = 1] = argv.map(Number);
  const every = 250;
  const { run } = driftLearner(seed);
  console.log(`rule x > y until sample ${changeAt}, then x < y; windowed accuracy over the last 100 samples:`);
  run(driftStream({ samples, changeAt, seed })).subscribe({
    next(m) {
      if (m.seen % every === 0) {
        const bar = '#'.repeat(Math.round((m.windowAccuracy ?? 0) * 40));
        const mark = m.seen > changeAt && m.seen <= changeAt + every ? '  ← rule changed' : '';
        console.log(`${String(m.seen).padStart(6)}  ${(m.windowAccuracy ?? 0).toFixed(3)}  ${bar}${mark}`);
      }
    },
    error(err: unknown) {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    },
  });
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
