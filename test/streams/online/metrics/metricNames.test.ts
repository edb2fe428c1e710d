import { describe, expect, it } from 'vitest';
import { accuracyMetric } from '../../../../src/streams/online/metrics/accuracyMetric.js';
import { kappaTemporalMetric } from '../../../../src/streams/online/metrics/kappaTemporalMetric.js';
import { classificationMetrics, metricNames, regressionMetrics } from '../../../../src/streams/online/metrics/metricNames.js';
import { r2Metric } from '../../../../src/streams/online/metrics/r2Metric.js';

describe('metricNames', () => {
  it('reads a comma-separated list, kappa-t as kappa_t, spaces trimmed', () => {
    expect(metricNames('accuracy,kappa,kappa-t,f1,logloss')).toEqual(['accuracy', 'kappa', 'kappa_t', 'f1', 'logloss']);
    expect(metricNames(' mae , rmse,r2')).toEqual(['mae', 'rmse', 'r2']);
  });

  it('names an unknown metric and lists the known ones', () => {
    expect(() => metricNames('accuracy,kapa')).toThrow('metrics: option "name" must be one of: accuracy, kappa, kappa_t, f1, logloss (classification); mae, rmse, r2 (regression), got "kapa"');
    expect(() => metricNames('constructor')).toThrow('got "constructor"');
    expect(() => metricNames('')).toThrow('got ""');
  });

  it('refuses a name given twice', () => {
    expect(() => metricNames('kappa_t,kappa-t')).toThrow('metrics: option "name" must be given once, got "kappa-t"');
  });
});

describe('classificationMetrics and regressionMetrics', () => {
  it('give the factories of the names', () => {
    expect(classificationMetrics(['accuracy', 'kappa-t'])).toEqual([accuracyMetric, kappaTemporalMetric]);
    expect(regressionMetrics(['r2'])).toEqual([r2Metric]);
  });

  it('refuse a metric of the other task', () => {
    expect(() => classificationMetrics(['rmse'])).toThrow('metrics: option "name" must be a classification metric (accuracy, kappa, kappa_t, f1, logloss), got "rmse"');
    expect(() => regressionMetrics(['accuracy'])).toThrow('metrics: option "name" must be a regression metric (mae, rmse, r2), got "accuracy"');
  });
});
