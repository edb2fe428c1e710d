/**
 * The dashboard's probe (scripts/dashboard/layerStats.ts): every K steps, for each layer with
 * parameters, the distributions of its weights after the update, of its batch-averaged gradients
 * and of the δ arriving at it — the same numbers `distribution` gives on copies of those buffers.
 */
import { from } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { dense } from '../../src/layers/dense.js';
import { relu } from '../../src/layers/activation.js';
import { sequential } from '../../src/layers/sequential.js';
import { distribution } from '../../src/ops/distribution.js';
import { sgd } from '../../src/ops/optimizers.js';
import { batch } from '../../src/streams/training/batch.js';
import { softmaxCrossEntropy } from '../../src/streams/training/lossHead.js';
import { train } from '../../src/streams/training/train.js';
import { layerStatsProbe } from '../../scripts/dashboard/layerStats.js';
import type { LayersMessage } from '../../scripts/dashboard/protocol.js';
import { points } from '../streams/samples.js';

const model = (): ReturnType<typeof sequential> => sequential({ input: [2], seed: 3 }, dense({ units: 5 }), relu(), dense({ units: 2 }));

describe('layerStatsProbe', () => {
  it('samples steps 3 and 6 of 7 (every 3), for layers 0 and 2, matching distribution() of copies', async () => {
    const m = model();
    const stats = layerStatsProbe(m, 3);
    expect(stats.layers).toEqual([
      { index: 0, kind: 'dense', label: 'dense 5', params: ['W', 'b'] },
      { index: 2, kind: 'dense', label: 'dense 2', params: ['W', 'b'] },
    ]);
    // The truth: copies of the same buffers, from a second subscriber of the same probe.
    const grads = new Map<number, Float32Array[]>();
    const deltas = new Map<number, Float32Array>();
    for (const layer of [0, 2]) {
      stats.internals.gradients(layer).subscribe((e) => grads.set(layer, e.grads.map((g) => Float32Array.from(g, (v) => v / e.m))));
      stats.internals.delta(layer).subscribe((e) => deltas.set(layer, Float32Array.from(e.deltaY.data)));
    }
    const dist = (x: Float32Array): { p: number[]; mean: number } => {
      const r = distribution(x);
      return { p: r.percentiles, mean: r.mean };
    };
    const messages: LayersMessage[] = [];
    const expected: { layer: number; weights: Record<string, { p: number[]; mean: number }>; grads: Record<string, { p: number[]; mean: number }>; delta: { p: number[] } }[][] = [];
    await new Promise<void>((resolve, reject) => {
      from(points(28, 1)).pipe(batch(4), train(m, { loss: softmaxCrossEntropy(), optimizer: sgd({ lr: 0.1 }), internals: stats.internals })).subscribe({
        next: (s) => {
          const message = stats.takeStep(s.step);
          if (message === null) return;
          messages.push(message);
          expected.push([0, 2].map((layer) => {
            const params = m.layers[layer].params;
            const gs = grads.get(layer) ?? [];
            return {
              layer,
              weights: Object.fromEntries(params.map((p) => [p.name, dist(p.value)])),
              grads: Object.fromEntries(params.map((p, j) => [p.name, dist(gs[j])])),
              delta: dist(deltas.get(layer) ?? new Float32Array()),
            };
          }));
        },
        error: reject,
        complete: () => resolve(),
      });
    });
    expect(messages.map((x) => x.step)).toEqual([3, 6]);
    messages.forEach((message, i) => {
      expect(message.layers.map((l) => l.layer)).toEqual([0, 2]);
      message.layers.forEach((l, j) => {
        const e = expected[i][j];
        for (const part of ['weights', 'grads'] as const) {
          for (const name of ['W', 'b']) {
            l[part][name].p.forEach((v, k) => expect(v ?? NaN).toBeCloseTo(e[part][name].p[k], 6));
            expect(l[part][name].mean ?? NaN).toBeCloseTo(e[part][name].mean, 6);
          }
        }
        expect(l.delta?.p).toHaveLength(9);
        l.delta?.p.forEach((v, k) => expect(v ?? NaN).toBeCloseTo(e.delta.p[k], 6));
      });
    });
    stats.close();
  });

  it('a new K takes effect from the next step; a resumed run counts from its start step', () => {
    const stats = layerStatsProbe(model(), 4, 10);
    expect([11, 12].map((s) => stats.takeStep(s)?.step ?? null)).toEqual([null, 12]);
    stats.every = 2;
    expect([13, 14, 15, 16].map((s) => stats.takeStep(s)?.step ?? null)).toEqual([null, 14, null, 16]);
    expect(() => {
      stats.every = 0;
    }).toThrow('layer statistics: every must be an integer ≥ 1, got 0');
    stats.close();
  });
});
