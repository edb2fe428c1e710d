/**
 * deltaflow in a web page: the library's browser entry, built into the ESM bundle
 * `dist/browser/deltaflow.js` (scripts/build/bundle.ts; docs/browser.md). Run it in a Web Worker so
 * the page stays responsive; `initKernels()` turns on the same WebAssembly SIMD kernels as in Node
 * (wabt is bundled and assembles them in the worker; the page must be cross-origin isolated, since
 * the kernels' memory is shared).
 *
 * Everything of `src/portable.ts` (what both entries share) is here, and fromCsv / featureStats that read
 * browser inputs. What needs Node is not:
 * - files: `saveModel` / `loadModel` (use `modelToJson` / `modelFromJson` on text), checkpoints;
 * - worker threads: `createGradientPool`, and `workers` > 1 in `train` / `fit` (one thread per Web Worker);
 * - Redis Streams (`fromRedisStream`, `toRedisStream`, `publishCsv`), growing files (`follow`);
 * - `fromCsv` and `featureStats` read a `File` or `Blob`, or a `ReadableStream<Uint8Array>`
 *   (`file.stream()`, `(await fetch(url)).body`); a path is refused with an error saying so.
 */
import type { Observable } from 'rxjs';
import {
  featureStats as featureStatsOfInput,
  fromCsv as fromCsvOfInput,
  type CsvSourceOptions,
  type FeatureStats,
} from './streams/sources/fromCsv.js';
import { isWebStream, type WebByteStream } from './streams/sources/webStream.js';
import type { Sample } from './streams/types.js';

export * from './portable.js';

/** What the browser's fromCsv reads: a File or Blob, or a web ReadableStream<Uint8Array>. */
export type BrowserCsvInput = Blob | WebByteStream;

/** A Blob's (File's) byte stream and default name; a path or anything else is refused. */
function openInput(input: unknown, options: CsvSourceOptions, where: string): { stream: WebByteStream; options: CsvSourceOptions } {
  if (typeof input === 'string') {
    throw new TypeError(`${where}: "${input}" is a file path, which cannot be read in the browser; pass a File or Blob, or a ReadableStream<Uint8Array> (file.stream(), (await fetch(url)).body)`);
  }
  if (typeof Blob !== 'undefined' && input instanceof Blob) {
    const name = 'name' in input && typeof input.name === 'string' && input.name !== '' ? input.name : undefined;
    return { stream: input.stream(), options: { ...options, name: options.name ?? name } };
  }
  if (isWebStream(input)) return { stream: input, options };
  throw new TypeError(`${where}: input must be a File, a Blob or a ReadableStream<Uint8Array>, got ${input === null ? 'null' : typeof input}`);
}

/**
 * The CSV source in the browser: the same validation, samples and errors as in Node, read from a
 * File (its name names the rows in errors), a Blob or a web byte stream.
 *
 * @example
 * const response = await fetch('mnist-train.csv');
 * fromCsv(response.body, { name: 'mnist-train.csv', classes: 10, scale: 1 / 255, shape: [1, 28, 28] })
 *   .pipe(batch(32), train(model, { loss: softmaxCrossEntropy(), optimizer: adam({ lr: 2e-3 }) }))
 *   .subscribe((m) => postMessage(m));
 */
export function fromCsv(input: BrowserCsvInput | null, options: CsvSourceOptions): Observable<Sample> {
  const opened = openInput(input, options, 'fromCsv');
  return fromCsvOfInput(opened.stream, opened.options);
}

/**
 * Per-feature statistics of a CSV (one pass; see the Node `featureStats`), from a File, Blob or stream.
 *
 * @example const stats = await featureStats(file, { classes: 3 });
 */
export function featureStats(input: BrowserCsvInput | null, options: CsvSourceOptions): Promise<FeatureStats> {
  const opened = openInput(input, options, 'featureStats');
  return featureStatsOfInput(opened.stream, opened.options);
}
