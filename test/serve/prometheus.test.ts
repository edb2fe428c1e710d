import { describe, expect, it } from 'vitest';
import { Counter, Histogram, Registry, Sampled } from '../../scripts/serve/prometheus.js';

describe('Prometheus text', () => {
  it('counters, sampled values and a histogram in the exposition format, label values escaped', () => {
    const r = new Registry();
    const c = r.add(new Counter('app_requests_total', 'Requests.'));
    c.inc({ route: '/a', code: '200' });
    c.inc({ route: '/a', code: '200' }, 2);
    c.inc({ route: 'q"u\\o\nte', code: '400' });
    r.add(new Sampled('gauge', 'app_version', 'Version.', () => [[{}, 7]]));
    r.add(new Sampled('gauge', 'app_accuracy', 'Accuracy.', () => [[{ scope: 'cumulative' }, 0.5], [{ scope: 'window' }, null]]));
    const h = r.add(new Histogram('app_seconds', 'Latency.', [0.001, 0.01]));
    [0.0005, 0.002, 0.002, 3].forEach((v) => h.observe({ route: '/a' }, v));
    expect(r.text()).toBe(
      [
        '# HELP app_requests_total Requests.',
        '# TYPE app_requests_total counter',
        'app_requests_total{route="/a",code="200"} 3',
        'app_requests_total{route="q\\"u\\\\o\\nte",code="400"} 1',
        '# HELP app_version Version.',
        '# TYPE app_version gauge',
        'app_version 7',
        '# HELP app_accuracy Accuracy.',
        '# TYPE app_accuracy gauge',
        'app_accuracy{scope="cumulative"} 0.5',
        '# HELP app_seconds Latency.',
        '# TYPE app_seconds histogram',
        'app_seconds_bucket{route="/a",le="0.001"} 1',
        'app_seconds_bucket{route="/a",le="0.01"} 3',
        'app_seconds_bucket{route="/a",le="+Inf"} 4',
        'app_seconds_sum{route="/a"} 3.0045',
        'app_seconds_count{route="/a"} 4',
        '',
      ].join('\n'),
    );
    expect(c.get({ route: '/a', code: '200' })).toBe(3);
  });
});
