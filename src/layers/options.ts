/**
 * Reading a layer's hyper-parameters, the one place they are checked.
 *
 * Every layer kind has exactly one function `read<Kind>Spec(o: OptionReader): LayerSpec` that asks for
 * its fields in order. The user-facing factory (`conv2d({ filters: 6, kernel: 5 })`) and the model-file
 * loader both run it, so the list of fields, their rules and their defaults are written once:
 *
 * - factory mode: a pair may be given as one number (`kernel: 5` → `[5, 5]`), optional fields take
 *   their defaults, and errors read `conv2d: option "kernel" must be …, got 0`.
 * - file mode (`where` set, e.g. `layers[3]`): a file holds the normalized spec, so every field is
 *   required and pairs must be written as pairs; errors read `layers[3].kernel: must be …, got 0`.
 *
 * Unknown fields are never ignored: `done()` rejects whatever was not asked for.
 */

/** A hyper-parameter that breaks its rule. The facts are fields; the message says them in words. */
export class OptionError extends Error {
  constructor(
    /** `conv2d` (factory) or `layers[3]` (model file). */
    readonly where: string,
    readonly option: string,
    readonly rule: string,
    readonly value: unknown,
    /** The message without its `where` prefix, e.g. `must be a positive integer, got 0`. */
    readonly detail: string,
    message: string,
  ) {
    super(message);
    this.name = 'OptionError';
  }
}

/** `[3, 0]`, `"x"`, `undefined`: values as error messages print them. */
export function showValue(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(showValue).join(', ')}]`;
  if (typeof value === 'string') return JSON.stringify(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value) ?? String(value);
  return String(value);
}

export type Pair = readonly [number, number];

/** Asks a layer's options for its fields one by one; see the file comment for the two modes. */
export interface OptionReader {
  /** An integer ≥ `min` (0 or 1); required. */
  int(name: string, min: 0 | 1): number;
  /** A pair of integers ≥ `min`, named `labels` in messages (e.g. `['kH', 'kW']`); `fallback` when absent (factory mode only). */
  pair(name: string, min: 0 | 1, labels: readonly [string, string], fallback?: Pair): Pair;
  /** Reject every field that was not asked for. */
  done(): void;
}

function intRule(min: 0 | 1): string {
  return min === 1 ? 'a positive integer' : 'a non-negative integer';
}

function isIntAtLeast(v: unknown, min: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
}

/**
 * An OptionReader over `options` for layer `kind`. Pass `where` (a path in a model file, like
 * `layers[3]`) for file mode.
 */
export function optionReader(kind: string, options: unknown, where?: string): OptionReader {
  const isFile = where !== undefined;
  const fail = (option: string, rule: string, value: unknown, what: string): never => {
    const message = isFile ? `${where}.${option}: ${what}` : `${kind}: option "${option}" ${what}`;
    throw new OptionError(where ?? kind, option, rule, value, what, message);
  };
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    const rule = 'an object of options';
    const detail = `expected ${rule}, got ${showValue(options)}`;
    throw new OptionError(where ?? kind, '', rule, options, detail, `${where ?? kind}: ${detail}`);
  }
  const given = new Map<string, unknown>(Object.entries(options));
  const asked: string[] = [];

  const take = (name: string): unknown => {
    asked.push(name);
    return given.get(name);
  };

  return {
    int(name, min) {
      const rule = intRule(min);
      const v = take(name);
      if (v === undefined) return fail(name, rule, v, isFile ? `missing (${rule})` : `is required (${rule})`);
      if (!isIntAtLeast(v, min)) return fail(name, rule, v, `must be ${rule}, got ${showValue(v)}`);
      return v;
    },

    pair(name, min, labels, fallback) {
      const listed = `[${labels[0]}, ${labels[1]}] of ${min === 1 ? 'positive' : 'non-negative'} integers`;
      const rule = isFile ? listed : `${intRule(min)} or ${listed}`;
      const v = take(name);
      if (v === undefined) {
        if (!isFile && fallback !== undefined) return fallback;
        return fail(name, rule, v, isFile ? `missing (${rule})` : `is required (${rule})`);
      }
      if (!isFile && isIntAtLeast(v, min)) return [v, v];
      if (Array.isArray(v) && v.length === 2) {
        const [a, b]: unknown[] = v;
        if (isIntAtLeast(a, min) && isIntAtLeast(b, min)) return [a, b];
      }
      return fail(name, rule, v, `must be ${rule}, got ${showValue(v)}`);
    },

    done() {
      for (const key of given.keys()) {
        if (!asked.includes(key)) {
          const known = asked.length > 0 ? asked.join(', ') : 'none';
          fail(key, 'a known option', given.get(key), isFile ? `unknown field for ${kind} (known: ${known})` : `is unknown (known: ${known})`);
        }
      }
    },
  };
}
