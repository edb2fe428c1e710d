/**
 * Delta operators: the backward pass as each layer's delta step, composed in REVERSE layer order.
 * Each consumes its own cache from the tape, records its Σ-over-batch parameter gradients, and passes
 * δ down (MATH.md 1.4–1.5, 2.2, 2.4, 3.6–3.7). The first layer is asked for no δ of its input
 * (needDeltaX = false): nothing below it needs one.
 *
 * Buffers: each operator subscription owns one Workspace for its layer; gradients and δ stay valid
 * until that operator's next batch. Everything runs synchronously inside `next`.
 */
import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import type { Layer } from '../../layers/layer.js';
import { layerName } from '../../layers/shapes.js';
import type { Model } from '../../layers/sequential.js';
import { Workspace } from '../../ops/tensor.js';
import type { Internals } from './internals.js';
import type { Backward } from './lossHead.js';

export interface DeltaOptions {
  /** A probe to report each layer's δ and gradients to (see internals.ts). */
  readonly internals?: Internals;
  /** Ask the layer for δ of its input; default: every layer but layer 0. */
  readonly needDeltaX?: boolean;
}

/**
 * Layer `index`'s delta step as an operator.
 *
 * @example backward.pipe(deltaLayer(model.layers[1], 1), deltaLayer(model.layers[0], 0))
 */
export function deltaLayer(layer: Layer, index: number, options: DeltaOptions = {}): OperatorFunction<Backward, Backward> {
  const where = `deltaLayer(${layerName(index, layer.kind)})`;
  const needDeltaX = options.needDeltaX ?? index > 0;
  const sink = options.internals?.sink;
  return (source) =>
    defer(() => {
      const ws = new Workspace();
      let seq = 0;
      return source.pipe(
        map((b): Backward => {
          const entry = b.tape[index];
          if (entry === undefined || entry.layer !== index) throw new Error(`${where}: the tape has no entry for this layer (was it run forward?)`);
          if (b.deltas[index] !== undefined) throw new Error(`${where}: this layer's delta already ran on this batch`);
          if (b.delta === null || (index !== b.tape.length - 1 && b.deltas[index + 1] === undefined)) {
            throw new Error(`${where}: no δ for this layer's output (compose the delta operators in reverse layer order)`);
          }
          const deltaY = b.delta;
          const { deltaX, grads } = layer.delta(deltaY, entry.cache, ws, needDeltaX);
          seq++;
          sink?.delta({ layer: index, kind: layer.kind, seq, deltaY, deltaX });
          sink?.gradients({ layer: index, kind: layer.kind, seq, m: b.batch.m, names: layer.params.map((p) => p.name), grads });
          const deltas = b.deltas.slice();
          deltas[index] = deltaY;
          const allGrads = b.grads.slice();
          allGrads[index] = grads;
          return { ...b, delta: deltaX, deltas, grads: allGrads };
        }),
      );
    });
}

/**
 * The whole model's backward pass: `deltaLayer` of every layer, composed from the last layer down.
 *
 * @example batches.pipe(forwardModel(model), lossHead(loss), deltaModel(model), averageGradients())
 */
export function deltaModel(model: Model, options: Omit<DeltaOptions, 'needDeltaX'> = {}): OperatorFunction<Backward, Backward> {
  return (source) =>
    model.layers.reduceRight<Observable<Backward>>((s, layer, i) => s.pipe(deltaLayer(layer, i, options)), source);
}
