/**
 * Forward operators: each layer becomes an operator, and a model's forward pass is those operators
 * composed with `pipe`, in layer order (DESIGN.md, "The flow of one training step").
 *
 * What flows: a `Forward` — the batch in flight, the current activation `a` (`[m, ...shape]`), and the
 * tape: one entry per layer already run, holding its output and the cache its delta step needs.
 *
 * Buffers: each operator subscription owns one Workspace for its layer, so after the first batch of
 * a given size nothing is allocated; an emitted activation (and the tape's caches) stay valid until
 * that operator's next batch. Everything runs synchronously inside `next`.
 */
import { defer, map, type Observable, type OperatorFunction } from 'rxjs';
import type { Layer, LayerKind } from '../../layers/layer.js';
import { layerName } from '../../layers/shapes.js';
import type { Model } from '../../layers/sequential.js';
import { ShapeError, Workspace, sizeOf, type Tensor } from '../../ops/tensor.js';
import type { Internals } from './internals.js';
import type { Batch } from '../types.js';

/** Layer i's contribution to the tape: its output and the cache its delta step consumes. */
export interface TapeEntry {
  readonly layer: number;
  readonly kind: LayerKind;
  readonly y: Tensor;
  readonly cache: unknown;
}

/** A mini-batch in flight through the forward operators. */
export interface Forward {
  readonly batch: Batch;
  /** The current activation: the batch input before layer 0, then each layer's output. */
  readonly a: Tensor;
  /** `tape[i]` is layer i's entry; its length is the number of layers already run. */
  readonly tape: readonly TapeEntry[];
}

export interface ForwardOptions {
  /** A probe to report each layer's output to (see internals.ts). */
  readonly internals?: Internals;
}

function isForward(v: Batch | Forward): v is Forward {
  return 'tape' in v;
}

/** A batch entering layer 0: its x viewed as `[m, ...inShape]` (a flat `[m, n]` batch fits any shape of n elements). */
function enter(batch: Batch, inShape: readonly number[], where: string): Forward {
  const n = sizeOf(inShape);
  if (batch.x.data.length !== batch.m * n || batch.x.shape[0] !== batch.m) {
    throw new ShapeError(where, [batch.m, ...inShape], batch.x.shape, `batch of ${batch.m} samples`);
  }
  return { batch, a: { data: batch.x.data, shape: [batch.m, ...inShape] }, tape: [] };
}

/**
 * Layer `index`'s forward step as an operator: runs `layer.forward` on the activation and appends
 * `{ y, cache }` to the tape. Layer 0's operator also accepts a Batch directly.
 *
 * @example batches.pipe(forwardLayer(model.layers[0], 0), forwardLayer(model.layers[1], 1))
 */
export function forwardLayer(layer: Layer, index: number, options: ForwardOptions = {}): OperatorFunction<Batch | Forward, Forward> {
  const where = `forwardLayer(${layerName(index, layer.kind)})`;
  const sink = options.internals?.sink;
  return (source) =>
    defer(() => {
      // Per subscription: this layer's workspace and batch count.
      const ws = new Workspace();
      let seq = 0;
      return source.pipe(
        map((value) => {
          const f = isForward(value) ? value : index === 0 ? enter(value, layer.inShape, where) : null;
          if (f === null) throw new Error(`${where}: received a Batch; only layer 0 takes batches — run layers 0..${index - 1} first`);
          if (f.tape.length !== index) {
            throw new Error(`${where}: expected the tape of layers 0..${index - 1}, got ${f.tape.length} entries (compose the forward operators in model order)`);
          }
          const { y, cache } = layer.forward(f.a, ws);
          seq++;
          sink?.activation({ layer: index, kind: layer.kind, seq, y });
          return { batch: f.batch, a: y, tape: [...f.tape, { layer: index, kind: layer.kind, y, cache }] };
        }),
      );
    });
}

/**
 * The whole model's forward pass: `forwardLayer` of every layer, composed in order. A batch whose x is
 * flat (`[m, n]`) is viewed as `[m, ...model.input]`.
 *
 * @example batches.pipe(forwardModel(model), lossHead(softmaxCrossEntropy()))
 */
export function forwardModel(model: Model, options: ForwardOptions = {}): OperatorFunction<Batch, Forward> {
  return (source) =>
    model.layers.reduce<Observable<Forward>>(
      (s, layer, i) => s.pipe(forwardLayer(layer, i, options)),
      source.pipe(map((batch) => enter(batch, model.input, 'forwardModel'))),
    );
}
