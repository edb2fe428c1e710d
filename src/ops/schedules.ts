/**
 * Learning-rate schedules: functions (step, totalSteps) → factor, multiplied into the optimizer's lr.
 * `step` is the 0-based index of the update about to be applied; `totalSteps` is the planned number of
 * updates (Infinity when unknown — only schedules that need it complain).
 *
 *   constant   1
 *   cosine     f_min + (1 − f_min) · ½ (1 + cos(π · min(step, T) / T))     (SGDR without restarts)
 *   step       γ^⌊step / every⌋
 */

/** A learning-rate schedule: the factor for update `step` (0-based) of `totalSteps`. */
export type LrSchedule = (step: number, totalSteps: number) => number;

/** Always 1. @example train(model, { …, lrSchedule: constantLr() }) */
export function constantLr(): LrSchedule {
  return () => 1;
}

/**
 * Cosine decay from 1 to `minFactor` over `totalSteps` (then flat). Needs a finite totalSteps.
 *
 * @example train(model, { …, lrSchedule: cosineLr(), totalSteps: 1000 })
 */
export function cosineLr(options: { minFactor?: number } = {}): LrSchedule {
  const minFactor = options.minFactor ?? 0;
  if (!(minFactor >= 0 && minFactor <= 1)) throw new RangeError(`cosineLr: minFactor must be in [0, 1], got ${minFactor}`);
  return (step, totalSteps) => {
    if (!(Number.isFinite(totalSteps) && totalSteps > 0)) {
      throw new RangeError(`cosineLr: needs a positive finite totalSteps (pass totalSteps to train), got ${totalSteps}`);
    }
    const progress = Math.min(step, totalSteps) / totalSteps;
    return minFactor + (1 - minFactor) * 0.5 * (1 + Math.cos(Math.PI * progress));
  };
}

/** Multiply by `gamma` every `every` steps. @example stepLr({ every: 100, gamma: 0.5 }) */
export function stepLr(options: { every: number; gamma?: number }): LrSchedule {
  const gamma = options.gamma ?? 0.1;
  if (!(Number.isInteger(options.every) && options.every >= 1)) throw new RangeError(`stepLr: every must be a positive integer, got ${options.every}`);
  if (!(Number.isFinite(gamma) && gamma > 0)) throw new RangeError(`stepLr: gamma must be a positive number, got ${gamma}`);
  return (step) => gamma ** Math.floor(step / options.every);
}

/** The schedules by name, for command lines and config files. @example lrSchedules.step({ every: 10 }) */
export const lrSchedules = { constant: constantLr, cosine: cosineLr, step: stepLr } as const;
