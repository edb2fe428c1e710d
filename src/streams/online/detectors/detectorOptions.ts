/**
 * Reading a drift detector's parameters, the one place they are range-checked.
 *
 * Each detector's constructor asks for its fields in order (`real`, `int`, `bool`), each with its
 * default and its allowed range, then calls `done()`, which rejects every field it did not ask for.
 * The CLI's spec parser (registry.ts) only turns `key=value` text into numbers and booleans and hands
 * them to the same constructor, so code and command line get the same checks and the same one-line
 * messages:
 *
 *   detector adwin: delta must be in (0, 1), got 2
 *   detector kswin: windowSize must be an integer in [60, 1000000], got 50
 *   detector ddm: unknown option "level" (known: minInstances, driftLevel, warningLevel)
 */
import type { JsonObject } from '../../../layers/modelFile.js';
import { OptionError, showValue } from '../../../layers/options.js';

/** An interval of allowed values; a bound may carry a label naming where it comes from (`driftLevel = 3`). */
export interface Interval {
  readonly min: number;
  readonly max: number;
  readonly minOpen?: boolean;
  readonly maxOpen?: boolean;
  readonly minLabel?: string;
  readonly maxLabel?: string;
}

/** Asks a detector's options for its parameters one by one. */
export interface DetectorOptionReader {
  /** A finite number in `range`; `fallback` when absent. */
  real(key: string, fallback: number, range: Interval): number;
  /** A safe integer in `range` (closed bounds); `fallback` when absent. */
  int(key: string, fallback: number, range: Interval): number;
  /** A boolean; `fallback` when absent. */
  bool(key: string, fallback: boolean): boolean;
  /** Rejects every option that was not asked for; returns the parameters read, in order. */
  done(): JsonObject;
}

function bound(value: number, label: string | undefined): string {
  if (label !== undefined) return label;
  return value === Infinity ? '∞' : value === -Infinity ? '-∞' : String(value);
}

/** `in (0, 1)`, `in [0, 1)`, `> 0`, `≥ 30`: an interval as messages print it. */
export function formatInterval(range: Interval): string {
  const lo = bound(range.min, range.minLabel);
  const hi = bound(range.max, range.maxLabel);
  if (range.max === Infinity && range.maxLabel === undefined) return `${range.minOpen === true ? '>' : '≥'} ${lo}`;
  return `in ${range.minOpen === true ? '(' : '['}${lo}, ${hi}${range.maxOpen === true ? ')' : ']'}`;
}

function contains(range: Interval, v: number): boolean {
  const aboveMin = range.minOpen === true ? v > range.min : v >= range.min;
  const belowMax = range.maxOpen === true ? v < range.max : v <= range.max;
  return aboveMin && belowMax;
}

/**
 * An option reader for detector `name` over `options` (an object, or undefined for all defaults).
 *
 * @example const o = detectorOptions('adwin', { delta: 0.01 }); const delta = o.real('delta', 0.002, { min: 0, max: 1, minOpen: true, maxOpen: true });
 */
export function detectorOptions(name: string, options: unknown): DetectorOptionReader {
  const where = `detector ${name}`;
  /** `detail` reads after the option's name (`must be in (0, 1), got 2`), or alone when `isNamed` is false. */
  const fail = (option: string, rule: string, value: unknown, detail: string, isNamed = true): never => {
    throw new OptionError(where, option, rule, value, detail, `${where}: ${isNamed ? `${option} ` : ''}${detail}`);
  };
  const isObject = options !== null && typeof options === 'object' && !Array.isArray(options);
  if (options !== undefined && !isObject) {
    return fail('', 'an object of options', options, `options must be an object, got ${showValue(options)}`, false);
  }
  const given = new Map<string, unknown>(isObject ? Object.entries(options) : []);
  const asked: string[] = [];
  const params: Record<string, number | boolean> = {};

  const take = (key: string): unknown => {
    asked.push(key);
    return given.get(key);
  };

  return {
    real(key, fallback, range) {
      const v = take(key);
      const rule = formatInterval(range);
      const value = v === undefined ? fallback : v;
      if (typeof value !== 'number' || !Number.isFinite(value)) fail(key, rule, value, `must be a number ${rule}, got ${showValue(value)}`);
      const x = Number(value);
      if (!contains(range, x)) fail(key, rule, x, `must be ${rule}, got ${x}`);
      params[key] = x;
      return x;
    },

    int(key, fallback, range) {
      const v = take(key);
      const rule = `an integer ${formatInterval(range)}`;
      const value = v === undefined ? fallback : v;
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || !contains(range, value)) {
        fail(key, rule, value, `must be ${rule}, got ${showValue(value)}`);
      }
      const n = Number(value);
      params[key] = n;
      return n;
    },

    bool(key, fallback) {
      const v = take(key);
      const value = v === undefined ? fallback : v;
      if (typeof value !== 'boolean') fail(key, 'true or false', value, `must be true or false, got ${showValue(value)}`);
      const b = value === true;
      params[key] = b;
      return b;
    },

    done() {
      for (const [key, value] of given) {
        if (!asked.includes(key)) fail(key, 'a known option', value, `unknown option "${key}" (known: ${asked.join(', ')})`, false);
      }
      return { ...params };
    },
  };
}
