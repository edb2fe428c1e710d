/**
 * The default of `deltaflow train --workers`: how many threads compute each batch's gradients when
 * the option is not given.
 *
 * Splitting a batch of m rows over n threads gives each a slice of ⌈m/n⌉ rows. A slice's compute
 * shrinks with its rows; what a slice costs besides does not: waking a worker and waiting for it,
 * copying the parameters to it, packing each dense layer's weights for its GEMMs, writing and adding
 * its full-size gradients (all ∝ the parameter count P). So another thread pays off only while every
 * slice still holds enough work, measured two ways:
 *
 *   slice FLOPs        = ⌈m/n⌉ · F          ≥ MIN_SLICE_FLOPS            (the fixed wake-up cost)
 *   FLOPs per parameter = ⌈m/n⌉ · F / P      ≥ MIN_SLICE_FLOPS_PER_PARAM  (the costs ∝ P)
 *
 * with F the training FLOPs of one row (2 per multiply-add of the dense and convolution layers:
 * forward, weight gradients, and input gradients of every layer but the first — the bench's rule,
 * scripts/bench/workloads.ts). The default is the largest n ≤ the cores for which both hold, else 1.
 * The thresholds come from the bench's workers section (`node dist/scripts/bench.js --only workers`:
 * 1 against 2 workers in memory over models and batch sizes, passes alternating, on a 2-vCPU
 * machine), which prints the rule's choice beside each measurement. Measured quiet on 2026-12-03, once
 * the pool's hand-over polled and its slices were added in SIMD: 2 workers gave 1.17–1.61× wherever a
 * slice held ≥ 3 MFLOP and ≥ 129 FLOP per parameter (LeNet-5 from batch 8, the MLP 784-128-64-10
 * from 64, 784-32-10 at 64, 784-512-512-10 from 64), and 1.00× for 784-512-512-10 at batch 32 (51
 * MFLOP but 77 per parameter); the MLP at batch 32 (66 per parameter) gave 1.17 and is left on the
 * careful side. Dense nets use each weight about 6 times a row (F/P ≈ 6), so they need batches of
 * tens of rows a slice; convolutions reuse theirs hundreds of times.
 *
 * A CSV parser thread that parses while the steps run (rows streaming through a shuffle window
 * smaller than the file, or file order) keeps a core busy beside them, so the rule counts one core
 * fewer then: on 2 cores LeNet-5 from a file in file order trained at 21,200 samples/s with one worker
 * and 16,800 with two, the three threads taking turns at every step's barrier (`--only e2e`). A window
 * that holds the whole file reads it before the first step, and leaves every core to the steps.
 *
 * The other way to read a file beside the steps is on the training thread, between them, with every
 * core computing (`parsingFor`). With k workers a row then costs about t/k + p on the training
 * thread (t: its training on one thread, p: its parsing), against t/(k − 1) with the parser thread, so
 * parsing there pays while p < t / (k(k − 1)). Both grow with what a row holds — p with its fields, t
 * with its FLOPs — so the rule compares training FLOPs per CSV field with MIN_FLOPS_PER_FIELD_INLINE ·
 * k(k − 1)/2. Measured on 2 cores (`--only e2e`, 2026-12-05, one epoch of 40,000 MNIST rows, medians of
 * 3): LeNet-5 (1,932 FLOPs per field) gave 24,261 samples/s with 2 workers parsing on the training
 * thread against 21,292 with 1 worker and the parser thread, and 27,600–32,900 against 22,400–23,400
 * in the 2nd and 3rd epochs; the MLP 784-128-64-10 (579 per field) 39,709 against 57,712 — it stays
 * with the parser thread.
 */
import type { Layer } from '../../src/layers/layer.js';
import type { Model } from '../../src/layers/sequential.js';

/** A slice below this many FLOPs does not pay for a thread. */
export const MIN_SLICE_FLOPS = 2e6;
/** A slice below this many FLOPs per parameter does not pay for a thread. */
export const MIN_SLICE_FLOPS_PER_PARAM = 100;
/** Training FLOPs per CSV field from which 2 workers parsing on the training thread beat 1 beside a parser thread. */
export const MIN_FLOPS_PER_FIELD_INLINE = 1000;

const product = (xs: readonly number[]): number => xs.reduce((a, b) => a * b, 1);

/** Multiply-adds of one row through a layer's forward pass (0 for layers without weights). */
function multiplyAdds(layer: Layer): number {
  const { spec } = layer;
  if (spec.kind === 'dense') return product(layer.inShape) * spec.units;
  if (spec.kind === 'conv2d') return product(layer.outShape) * layer.inShape[0] * spec.kernel[0] * spec.kernel[1];
  return 0;
}

/** Training FLOPs of one row: 2 per multiply-add, × 2 for the first weighted layer (forward, ∂W), × 3 for the others (and δx). */
export function trainingFlopsPerRow(model: Model): number {
  let flops = 0;
  let isFirst = true;
  for (const layer of model.layers) {
    const macs = multiplyAdds(layer);
    if (macs === 0) continue;
    flops += 2 * macs * (isFirst ? 2 : 3);
    isFirst = false;
  }
  return flops;
}

/** The default worker count and why, in words for train's start line. */
export interface WorkersChoice {
  readonly workers: number;
  readonly why: string;
}

/**
 * The default of --workers for `model` trained in batches of `batch` on `cores` cores (see the file
 * comment); `isParsingBeside`: a parser thread parses while the steps run, and takes one of them.
 */
export function defaultWorkers(model: Model, batch: number, machineCores: number, isParsingBeside = false): WorkersChoice {
  const cores = isParsingBeside ? machineCores - 1 : machineCores;
  if (isParsingBeside && cores < 2 && machineCores >= 2) {
    return { workers: 1, why: `auto: the CSV parser thread parses beside the steps on one of the ${machineCores} cores` };
  }
  const perRow = trainingFlopsPerRow(model);
  const params = Math.max(1, model.params.reduce((n, p) => n + p.value.length, 0));
  const pays = (n: number): boolean => {
    const rows = Math.ceil(batch / n);
    return rows * perRow >= MIN_SLICE_FLOPS && (rows * perRow) / params >= MIN_SLICE_FLOPS_PER_PARAM;
  };
  let workers = 1;
  for (let n = 2; n <= Math.min(cores, batch); n++) if (pays(n)) workers = n;
  if (cores < 2) return { workers: 1, why: 'auto: 1 core' };
  const rows = Math.ceil(batch / Math.max(2, workers));
  const mflop = (rows * perRow) / 1e6;
  const work = `${mflop < 10 ? mflop.toFixed(1) : mflop.toFixed(0)} MFLOP and ${((rows * perRow) / params).toFixed(0)} FLOP per parameter`;
  const bar = `a worker pays off from ${MIN_SLICE_FLOPS / 1e6} MFLOP and ${MIN_SLICE_FLOPS_PER_PARAM}`;
  const slice = workers === 1 ? `split in 2, a slice of ${rows} rows would be ${work}` : `a slice of ${rows} rows is ${work}`;
  const beside = isParsingBeside ? `; ${cores} of the ${machineCores} cores, the CSV parser thread parsing beside the steps` : '';
  return { workers, why: `auto: ${slice}; ${bar}${beside}` };
}

/** How a file read beside the steps is parsed: on the parser thread, or on the training thread with every core computing. */
export interface ParsingChoice extends WorkersChoice {
  readonly isOnTrainingThread: boolean;
}

/**
 * For `--csv-thread auto` with rows parsed while the steps run: the worker count (given, or the
 * default) and where the rows are parsed (see the file comment). `fields`: the CSV fields of a row.
 * A given count that fills the cores parses on the training thread: a parser thread could only take
 * turns with the steps.
 */
export function parsingFor(model: Model, batch: number, machineCores: number, fields: number, given?: WorkersChoice): ParsingChoice {
  if (given !== undefined) return { ...given, isOnTrainingThread: machineCores >= 2 && given.workers >= machineCores };
  const beside = defaultWorkers(model, batch, machineCores, true);
  const all = defaultWorkers(model, batch, machineCores, false);
  const k = all.workers;
  const perField = trainingFlopsPerRow(model) / Math.max(1, fields);
  if (k < 2 || k <= beside.workers || perField < (MIN_FLOPS_PER_FIELD_INLINE * k * (k - 1)) / 2) return { ...beside, isOnTrainingThread: false };
  return { ...all, why: `${all.why}; rows parsed between the steps, which beats a parser thread from ${(MIN_FLOPS_PER_FIELD_INLINE * k * (k - 1)) / 2} training FLOPs per CSV field (here ${perField.toFixed(0)})`, isOnTrainingThread: true };
}
