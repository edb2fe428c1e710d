/**
 * The dashboard's probe: per-layer statistics of a training run, taken every K steps from the
 * `internals` probe (src/streams/training/internals.ts) on the training thread's own buffers — no
 * copy: `distribution` (src/ops/distribution.ts) reads each buffer in two passes while the probe's
 * event is being delivered, and keeps nothing of it but a few numbers.
 *
 * For every layer with parameters, at each sampled step s:
 *   weights  each parameter's values after step s's update (read when step s is reported);
 *   grads    step s's gradients, averaged over its batch (the probe gives Σ over m samples: scale 1/m);
 *   delta    δ = ∂C/∂y arriving at the layer's output, over the batch.
 * The delta and gradient events of step s arrive during its backward pass, before its metrics, so
 * the probe is armed when the NEXT step is a sampled one (s ≡ 0 mod K) and ignores every other step:
 * off the sampled steps a layer costs one emptied function call.
 *
 * A tensor of more than MAX_VALUES values is summarized from every s-th of them (`maxValues`), so a
 * sample costs about the same for any layer size.
 *
 * With `workers` > 1 the probe sees the main thread's slice of each batch only (parallelBackprop.ts).
 */
import type { Model } from '../../src/layers/sequential.js';
import { distribution, TENSORBOARD_PERCENTILES, type Distribution } from '../../src/ops/distribution.js';
import { internals, type Internals } from '../../src/streams/training/internals.js';
import { describeSpec } from '../commands/models.js';
import { cpuMs } from './cpuTime.js';
import type { DistributionStat, LayerInfo, LayerStat, LayersMessage } from './protocol.js';

export interface LayerStatsProbe {
  /** Pass to train / fit / prequential as `internals`. */
  readonly internals: Internals;
  readonly layers: readonly LayerInfo[];
  readonly percentiles: readonly number[];
  /** Steps between samples (K ≥ 1). */
  every: number;
  /** Report that step `step` has been applied: its statistics when it was a sampled step, else null. */
  takeStep(step: number): LayersMessage | null;
  /** CPU milliseconds spent computing statistics so far (on the training thread). */
  readonly busyMs: number;
  /** Stop listening to the probe. */
  close(): void;
}

/** Values a distribution looks at, at most: longer tensors are summarized from an even subsample (distribution.ts). */
export const MAX_VALUES = 8192;

const finiteOrNull = (v: number): number | null => (Number.isFinite(v) ? v : null);

function stat(d: Distribution): DistributionStat {
  return { p: d.percentiles.map(finiteOrNull), mean: finiteOrNull(d.mean), std: finiteOrNull(d.std), nonFinite: d.nonFinite };
}

/** The layers of `model` that have parameters, as the dashboard lists them. */
export function layersWithParams(model: Model): LayerInfo[] {
  return model.layers.flatMap((layer, index) =>
    layer.params.length === 0 ? [] : [{ index, kind: layer.kind, label: describeSpec(layer.spec), params: layer.params.map((p) => p.name) }],
  );
}

/**
 * A probe over `model` taking statistics every `every` steps.
 *
 * A state already `startStep` updates in (a resumed run) samples its next step from there.
 *
 * @example const stats = layerStatsProbe(model, 10); fit(model, { …, internals: stats.internals });
 */
export function layerStatsProbe(model: Model, every: number, startStep = 0): LayerStatsProbe {
  const probe = internals(model);
  const layers = layersWithParams(model);
  const scratch = new Int32Array(1024);
  const maxValues = MAX_VALUES;
  const percentiles = TENSORBOARD_PERCENTILES;
  const pending = new Map<number, { delta: DistributionStat | null; grads: Record<string, DistributionStat> }>();
  let lastStep = startStep;
  let isArmed = false;
  let busyMs = 0;
  const state = { every };
  const arm = (): void => {
    isArmed = (lastStep + 1) % state.every === 0;
    if (isArmed) pending.clear();
  };
  arm();

  const subscriptions = layers.flatMap((info) => [
    probe.delta(info.index).subscribe((e) => {
      if (!isArmed) return;
      const t0 = cpuMs();
      const entry = pending.get(info.index) ?? { delta: null, grads: {} };
      entry.delta = stat(distribution(e.deltaY.data, { percentiles, scratch, maxValues }));
      pending.set(info.index, entry);
      busyMs += cpuMs() - t0;
    }),
    probe.gradients(info.index).subscribe((e) => {
      if (!isArmed) return;
      const t0 = cpuMs();
      const entry = pending.get(info.index) ?? { delta: null, grads: {} };
      e.names.forEach((name, j) => {
        entry.grads[name] = stat(distribution(e.grads[j], { percentiles, scratch, maxValues, scale: 1 / Math.max(1, e.m) }));
      });
      pending.set(info.index, entry);
      busyMs += cpuMs() - t0;
    }),
  ]);

  return {
    internals: probe,
    layers,
    percentiles,
    get every() {
      return state.every;
    },
    set every(k: number) {
      if (!(Number.isInteger(k) && k >= 1)) throw new RangeError(`layer statistics: every must be an integer ≥ 1, got ${k}`);
      state.every = k;
      arm();
    },
    get busyMs() {
      return busyMs;
    },
    takeStep(step) {
      const wasArmed = isArmed && step === lastStep + 1;
      lastStep = step;
      let message: LayersMessage | null = null;
      if (wasArmed) {
        const t0 = cpuMs();
        const stats: LayerStat[] = layers.map((info) => {
          const layer = model.layers[info.index];
          const weights: Record<string, DistributionStat> = {};
          for (const p of layer.params) weights[p.name] = stat(distribution(p.value, { percentiles, scratch, maxValues }));
          const seen = pending.get(info.index);
          return { layer: info.index, weights, grads: seen?.grads ?? {}, delta: seen?.delta ?? null };
        });
        message = { type: 'layers', step, layers: stats };
        busyMs += cpuMs() - t0;
      }
      arm();
      return message;
    },
    close() {
      for (const s of subscriptions) s.unsubscribe();
      probe.complete();
    },
  };
}
