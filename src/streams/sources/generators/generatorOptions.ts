/**
 * Checking generator options: each failure is an OptionError naming the generator, the option, its
 * rule and the value, e.g. `generate(rbf): option "centroids" must be an integer ≥ 1, got 0`.
 */
import { OptionError, showValue } from '../../../layers/options.js';

export function generatorOptionError(where: string, option: string, rule: string, value: unknown, detail = `must be ${rule}, got ${showValue(value)}`): OptionError {
  return new OptionError(where, option, rule, value, detail, `${where}: option "${option}" ${detail}`);
}

/** An integer option in [min, max] (max omitted: no upper bound), or `fallback` when absent. */
export function intOption(where: string, name: string, value: number | undefined, min: number, fallback: number, max?: number): number {
  if (value === undefined) return fallback;
  const rule = max === undefined ? `an integer ≥ ${min}` : `an integer in [${min}, ${max}]`;
  if (!(Number.isSafeInteger(value) && value >= min && (max === undefined || value <= max))) throw generatorOptionError(where, name, rule, value);
  return value;
}

/** A finite number option in [min, max] (max omitted: no upper bound), or `fallback` when absent. */
export function numberOption(where: string, name: string, value: number | undefined, min: number, fallback: number, max?: number): number {
  if (value === undefined) return fallback;
  const rule = max === undefined ? `a number ≥ ${min}` : `a number in [${min}, ${max}]`;
  if (!(Number.isFinite(value) && value >= min && (max === undefined || value <= max))) throw generatorOptionError(where, name, rule, value);
  return value;
}
