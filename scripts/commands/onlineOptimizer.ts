/**
 * The update rule of the commands that learn one row at a time (`online`, `serve --learn`) from
 * `--optimizer sgd|momentum|adam`, `--lr` and `--momentum`, with their shared defaults — one place, so
 * a server learns exactly as `deltaflow online` does on the same rows.
 *
 *   sgd lr 0.01 · momentum lr 0.005, μ 0.9 · adam lr 0.001
 *
 * A model that continues from a file was trained to a minimum: a new model's rate, applied to it one
 * row at a time, can undo it (an iris model went from loss 0.04 to 21 at sgd 0.01). Its default rate
 * is CONTINUE_LR_FACTOR of a new model's; the commands say so.
 */
import { adam, momentum, sgd, type OptimizerConfig } from '../../src/ops/optimizers.js';
import { CliError } from './args.js';

export type OnlineOptimizerName = 'sgd' | 'momentum' | 'adam';

export const ONLINE_DEFAULT_LR: Readonly<Record<OnlineOptimizerName, number>> = { sgd: 0.01, momentum: 0.005, adam: 1e-3 };
export const CONTINUE_LR_FACTOR = 0.01;

/** The optimizer the options ask for; `--momentum` with another rule is an error. */
export function onlineOptimizer(options: { readonly optimizer: OnlineOptimizerName; readonly lr?: number; readonly momentum?: number }, context: { readonly isContinuing: boolean }): OptimizerConfig {
  if (options.momentum !== undefined && options.optimizer !== 'momentum') throw new CliError(`--momentum applies to --optimizer momentum, not ${options.optimizer}`);
  const lr = options.lr ?? ONLINE_DEFAULT_LR[options.optimizer] * (context.isContinuing ? CONTINUE_LR_FACTOR : 1);
  const make: Record<OnlineOptimizerName, () => OptimizerConfig> = {
    sgd: () => sgd({ lr }),
    momentum: () => momentum({ lr, momentum: options.momentum ?? 0.9 }),
    adam: () => adam({ lr }),
  };
  return make[options.optimizer]();
}
