/** The command-line parsers of the online metrics: --metrics, --fading, a window size, and the wrong-task error. */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { fadingFactor, metricList, metricTaskError, windowSize } from '../../scripts/commands/metricOptions.js';
import { CliError } from '../../scripts/commands/args.js';
import { classificationMetrics, regressionMetrics } from '../../src/streams/online/metrics/metricNames.js';

describe('metric options', () => {
  it('--metrics reads known names, kappa-t as kappa_t', () => {
    expect(metricList('accuracy,kappa,kappa-t,f1,logloss')).toEqual(['accuracy', 'kappa', 'kappa_t', 'f1', 'logloss']);
  });

  it('--metrics refuses an unknown name with the list of known ones', () => {
    expect(() => metricList('accuracy,kapa')).toThrow(new InvalidArgumentError('expected one of: accuracy, kappa, kappa_t, f1, logloss (classification); mae, rmse, r2 (regression).'));
  });

  it('--fading takes a number in (0, 1)', () => {
    expect(fadingFactor('0.999')).toBe(0.999);
    for (const bad of ['1', '0', '-0.5', '1.5', 'abc', '']) expect(() => fadingFactor(bad)).toThrow('expected a number in (0, 1), like 0.999.');
  });

  it('a window size is an integer ≥ 1', () => {
    expect(windowSize('500')).toBe(500);
    for (const bad of ['0', '2.5', 'x']) expect(() => windowSize(bad)).toThrow('expected a window size, an integer ≥ 1.');
  });

  it('a metric of the other task is a one-line CliError naming --metrics', () => {
    const wrongTask = (f: () => unknown): unknown => {
      try {
        f();
      } catch (e) {
        return metricTaskError(e);
      }
      return null;
    };
    expect(wrongTask(() => classificationMetrics(['rmse']))).toEqual(new CliError('--metrics rmse: not a classification metric (accuracy, kappa, kappa_t, f1, logloss)'));
    expect(wrongTask(() => regressionMetrics(['f1']))).toEqual(new CliError('--metrics f1: not a regression metric (mae, rmse, r2)'));
  });
});
