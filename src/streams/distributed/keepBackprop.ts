/**
 * One kept-alive backprop subscription, driven synchronously: `run(batch)` pushes a slice through
 * backprop(model, { loss }) and returns its Backward at once. Its workspaces persist between slices,
 * so a worker (runWorker.ts) and a coordinator computing its own slice (distributedPool.ts) pay for
 * them once — and both run exactly the kernels, in the order, of a gradient thread of parallelBackprop.
 */
import { Subject } from 'rxjs';
import type { Model } from '../../layers/sequential.js';
import { backprop } from '../training/backprop.js';
import type { Backward, Loss } from '../training/lossHead.js';
import type { Batch } from '../types.js';
import { DistributedError } from './distributedError.js';

/**
 * A synchronous backprop of one slice at a time; `where` names the caller in errors.
 *
 * @example const run = keepBackprop(model, softmaxCrossEntropy(), 'worker'); const b = run(slice);
 */
export function keepBackprop(model: Model, loss: Loss, where: string): (batch: Batch) => Backward {
  const input = new Subject<Batch>();
  let last: Backward | null = null;
  let failure: { readonly error: unknown } | null = null;
  input.pipe(backprop(model, { loss })).subscribe({ next: (b) => (last = b), error: (error: unknown) => (failure = { error }) });
  return (batch) => {
    last = null;
    input.next(batch);
    if (failure !== null) throw failure.error;
    if (last === null) throw new DistributedError(`${where}: backprop emitted nothing for a slice`);
    return last;
  };
}
