/**
 * Command-line values of the online metrics: `--metrics accuracy,kappa,kappa-t,f1,logloss`,
 * `--fading 0.999` and a window size. Each parser throws commander's InvalidArgumentError, which the
 * CLI prints as one line naming the option, the value and what is allowed:
 *
 *   deltaflow: option '--fading <alpha>' argument '1.5' is invalid. expected a number in (0, 1), like 0.999.
 *
 * `--metrics` accepts every known name here; which task the names suit is checked once the task is
 * known (`classificationMetrics` / `regressionMetrics`, whose errors `metricTaskError` words for the CLI).
 */
import { InvalidArgumentError } from 'commander';
import { OptionError } from '../../src/layers/options.js';
import { metricNames } from '../../src/streams/online/metrics/metricNames.js';
import { CliError, positiveInt, positiveNumber } from './args.js';

/** `--metrics accuracy,kappa-t`: known metric names, each once (canonical: `kappa-t` → `kappa_t`). */
export function metricList(text: string): string[] {
  try {
    return metricNames(text);
  } catch (e) {
    if (e instanceof OptionError) throw new InvalidArgumentError(`${e.detail.replace(/^must be/, 'expected').replace(/, got .*$/, '')}.`);
    throw e;
  }
}

/** `--fading 0.999`: a fading factor α in (0, 1). */
export function fadingFactor(text: string): number {
  const fail = (): never => {
    throw new InvalidArgumentError('expected a number in (0, 1), like 0.999.');
  };
  let v = 0;
  try {
    v = positiveNumber(text);
  } catch {
    fail();
  }
  if (v >= 1) fail();
  return v;
}

/** `--metrics-window 500`: a window size, an integer ≥ 1. */
export function windowSize(text: string): number {
  try {
    return positiveInt(text);
  } catch {
    throw new InvalidArgumentError('expected a window size, an integer ≥ 1.');
  }
}

/**
 * The one-line CLI error for a metric of the wrong task, from classificationMetrics / regressionMetrics.
 *
 * @example try { classificationMetrics(names) } catch (e) { throw metricTaskError(e) }
 */
export function metricTaskError(e: unknown): unknown {
  if (e instanceof OptionError && e.where === 'metrics') return new CliError(`--metrics ${String(e.value)}: ${e.detail.replace(/, got .*$/, '').replace(/^must be /, 'not ')}`);
  return e;
}
