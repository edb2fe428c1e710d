/**
 * Command-line values: the parsers commander calls for each option, and the error a command throws
 * when the user asked for something that cannot be done.
 *
 * A parser turns one option's text into a value or throws commander's InvalidArgumentError, which
 * commander prints as ONE line naming the option and the value (`error: option '--lr <x>' argument
 * 'abc' is invalid. expected a positive number`) before exiting with code 1.
 */
import { InvalidArgumentError } from 'commander';

/**
 * A request the command cannot carry out (bad combination of options, missing column, stdin where a
 * file is needed). The CLI prints its message as one line, without a stack.
 */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A finite decimal number, or null. `Number('')` is 0 and `Number('0x10')` is 16, so the grammar is checked first. */
function decimal(text: string): number | null {
  const s = text.trim();
  if (!DECIMAL.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/** `--lr 0.001`: a number > 0. */
export function positiveNumber(text: string): number {
  const v = decimal(text);
  if (v === null || v <= 0) throw new InvalidArgumentError('expected a positive number.');
  return v;
}

/** `--width 0` or `--width 500`: a number ≥ 0. */
export function nonNegativeNumber(text: string): number {
  const v = decimal(text);
  if (v === null || v < 0) throw new InvalidArgumentError('expected a number ≥ 0.');
  return v;
}

/** `--momentum 0.9`: a number in [0, 1). */
export function unitInterval(text: string): number {
  const v = decimal(text);
  if (v === null || v < 0 || v >= 1) throw new InvalidArgumentError('expected a number in [0, 1).');
  return v;
}

/** `--epochs 10`: an integer ≥ 1. */
export function positiveInt(text: string): number {
  const v = decimal(text);
  if (v === null || !Number.isSafeInteger(v) || v < 1) throw new InvalidArgumentError('expected a positive integer.');
  return v;
}

/** `--shuffle 0`: an integer ≥ 0. */
export function nonNegativeInt(text: string): number {
  const v = decimal(text);
  if (v === null || !Number.isSafeInteger(v) || v < 0) throw new InvalidArgumentError('expected a non-negative integer.');
  return v;
}

/** `--seed -3`: any safe integer. */
export function integer(text: string): number {
  const v = decimal(text);
  if (v === null || !Number.isSafeInteger(v)) throw new InvalidArgumentError('expected an integer.');
  return v;
}

/** `--scale 0.00392` or `--scale 1/255`: a positive number, a fraction allowed. */
export function scale(text: string): number {
  const parts = text.split('/');
  const values = parts.map(decimal);
  const isOk = parts.length <= 2 && values.every((v) => v !== null && v > 0);
  if (!isOk) throw new InvalidArgumentError('expected a positive number or a fraction like 1/255.');
  const [num, den] = values;
  return (num ?? 1) / (den ?? 1);
}

/** `--shape 1,28,28` (C,H,W) or `--shape 784`: one or three positive integers. */
export function shape(text: string): number[] {
  const dims = text.split(',').map(decimal);
  const isOk = (dims.length === 1 || dims.length === 3) && dims.every((d) => d !== null && Number.isSafeInteger(d) && d >= 1);
  if (!isOk) throw new InvalidArgumentError('expected C,H,W (three positive integers, like 1,28,28) or one positive integer.');
  return dims.map((d) => d ?? 0);
}

/** `--hidden 128,64`: a list of positive integers (layer widths); `--hidden 0` or `''` means no hidden layer. */
export function widths(text: string): number[] {
  if (text.trim() === '' || text.trim() === '0') return [];
  const dims = text.split(',').map(decimal);
  if (!dims.every((d) => d !== null && Number.isSafeInteger(d) && d >= 1)) {
    throw new InvalidArgumentError('expected a comma-separated list of positive integers, like 128,64.');
  }
  return dims.map((d) => d ?? 0);
}

/** A comma-separated list of non-empty names, e.g. `--label y1,y2` or `--classes cat,dog`. */
export function names(text: string): string[] {
  const list = text.split(',').map((s) => s.trim());
  if (list.some((s) => s === '')) throw new InvalidArgumentError('expected a comma-separated list of non-empty names.');
  if (new Set(list).size !== list.length) throw new InvalidArgumentError('names must be distinct.');
  return list;
}

/** `--classes 10` (classes 0..9, named by their index) or `--classes cat,dog,bird` (the label values, in this order). */
export type ClassesOption = { readonly count: number } | { readonly names: readonly string[] };

export function classes(text: string): ClassesOption {
  const n = decimal(text);
  if (n !== null) {
    if (!Number.isSafeInteger(n) || n < 2) throw new InvalidArgumentError('expected a number of classes ≥ 2, or a comma-separated list of class names.');
    return { count: n };
  }
  const list = names(text);
  if (list.length < 2) throw new InvalidArgumentError('expected at least 2 class names.');
  return { names: list };
}

/** A parser accepting only the listed words, e.g. `choice(['sgd', 'momentum', 'adam'])`. */
export function choice<T extends string>(allowed: readonly T[]): (text: string) => T {
  return (text: string): T => {
    const found = allowed.find((a) => a === text);
    if (found === undefined) throw new InvalidArgumentError(`expected one of: ${allowed.join(', ')}.`);
    return found;
  };
}
