/**
 * Test fixtures shared by the stream tests: generated samples with origins, and a tiny fake layer.
 */
import { createRng } from '../../src/ops/random.js';
import type { Layer, LayerKind } from '../../src/layers/layer.js';
import type { Tensor } from '../../src/ops/tensor.js';
import type { Sample } from '../../src/streams/types.js';

/** A sample with features `x`, one-hot target of `nOut` classes for `label` (or raw target when label −1). */
export function sample(x: number[], label: number, line: number, nOut = 2, source = 'data.csv'): Sample {
  const target = new Float32Array(nOut);
  if (label >= 0) target[label] = 1;
  return {
    x: Float32Array.from(x),
    target,
    label,
    origin: { source, line, record: line - 2, endOffset: line * 10 },
  };
}

/** n seeded 2-D points in [−1, 1]², class 1 when `rule(x, y)` else 0. Lines start at 2 (a header is line 1). */
export function points(n: number, seed: number, rule: (x: number, y: number) => boolean = (x, y) => x > y, firstLine = 2): Sample[] {
  const rng = createRng(seed);
  return Array.from({ length: n }, (_, i) => {
    const x = 2 * rng.next() - 1;
    const y = 2 * rng.next() - 1;
    return sample([x, y], rule(x, y) ? 1 : 0, firstLine + i);
  });
}

/** Bit patterns of every parameter, for bitwise comparisons. */
export function bits(values: readonly Float32Array[]): number[][] {
  return values.map((v) => Array.from(new Uint32Array(v.buffer, v.byteOffset, v.length)));
}

/**
 * A fake layer with one parameter `w` (a single number): y = w·x elementwise; δx = w·δy; Σ-gradient Σ x·δy.
 * Records the calls it gets, so operator tests can check order and needDeltaX.
 */
export function scaleLayer(w: number, n: number, calls: string[] = [], kind: LayerKind = 'dense'): Layer<{ x: Tensor }> {
  const value = Float32Array.of(w);
  return {
    spec: { kind: 'dense', units: n },
    kind,
    inShape: [n],
    outShape: [n],
    params: [{ name: 'w', shape: [1], value }],
    forward(x) {
      calls.push(`forward w=${value[0]}`);
      return { y: { data: x.data.map((v) => v * value[0]), shape: x.shape }, cache: { x } };
    },
    delta(deltaY, cache, _ws, needDeltaX = true) {
      calls.push(`delta w=${value[0]} needDeltaX=${needDeltaX}`);
      let g = 0;
      for (let i = 0; i < deltaY.data.length; i++) g += deltaY.data[i] * cache.x.data[i];
      return {
        deltaX: needDeltaX ? { data: deltaY.data.map((d) => d * value[0]), shape: deltaY.shape } : null,
        grads: [Float32Array.of(g)],
      };
    },
  };
}
