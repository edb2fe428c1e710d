/**
 * A Sample whose arrays own their memory. Sources may hand out Samples whose `x` and `target` are
 * views of a larger buffer — fromCsv on a parser thread gives the rows of a ring slot as views of one
 * copy of that slot (sampleRing.ts) — which is free to pass on, but a holder that keeps a few rows of
 * many such buffers for long (a shuffle window) would keep every one of those buffers alive. Such a
 * holder keeps `ownedSample(s)` instead: `s` itself when its arrays are whole buffers, else a copy.
 */
import type { Sample } from '../types.js';

function isWhole(a: Float32Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength;
}

/**
 * `sample`, or a copy of it whose `x` and `target` are arrays of their own.
 *
 * @example resident.push(ownedSample(sample)) // a window holds its rows, not the buffers they came in
 */
export function ownedSample(sample: Sample): Sample {
  if (isWhole(sample.x) && isWhole(sample.target)) return sample;
  return { ...sample, x: sample.x.slice(), target: sample.target.slice() };
}
