import { describe, expect, it } from 'vitest';
import { analysisCheckSchema } from '../config/schema.js';
import { RequestMetrics } from '../router/request-metrics.js';
import { describeMeasurement, judge, judgeRouterMetric, sinceBaseline } from './analysis.js';

const check = (fields: Record<string, unknown>) => analysisCheckSchema.parse({ name: 'c', ...fields });

describe('judging a metrics-gate check', () => {
  it('fails past a threshold, passes inside it, and calls too small a sample no data (never a pass)', () => {
    const errors = check({ metric: 'error_ratio', max: 0.01, min_samples: 50 });
    expect(judge(errors, 0.05, 400)).toMatchObject({ verdict: 'fail', why: '0.05 > 0.01' });
    expect(judge(errors, 0.005, 400)).toMatchObject({ verdict: 'pass' });
    expect(judge(errors, 0.5, 10)).toMatchObject({ verdict: 'no data', why: '10 of the 50 samples it needs' });
    expect(judge(check({ query: 'up', min: 1 }), 0, undefined)).toMatchObject({ verdict: 'fail', why: '0 < 1' });
    expect(judge(errors, undefined, undefined, 'the query returned no series')).toMatchObject({ verdict: 'no data', why: 'the query returned no series' });
    expect(describeMeasurement(judge(errors, 0.0512345, 400.4))).toBe('c: 0.05123 over 400 (≤ 0.01) → fail (0.05123 > 0.01)');
  });

  it('measures the new release on the router’s counters since the switch only', () => {
    const metrics = new RequestMetrics();
    for (let i = 0; i < 100; i++) metrics.observe('production', 'r2', 500, 0.01); // before the switch: health-gate traffic, say
    const baseline = structuredClone(metrics.snapshot()[0]);
    for (let i = 0; i < 95; i++) metrics.observe('production', 'r2', 200, 0.01);
    for (let i = 0; i < 5; i++) metrics.observe('production', 'r2', 500, 0.01);
    const since = sinceBaseline(metrics.snapshot()[0], baseline);
    expect(judgeRouterMetric(check({ metric: 'error_ratio', max: 0.01 }), since)).toMatchObject({ value: 0.05, samples: 100, verdict: 'fail' });
    expect(judgeRouterMetric(check({ metric: 'p99_seconds', max: 0.5 }), since)).toMatchObject({ verdict: 'pass' });
    expect(judgeRouterMetric(check({ metric: 'error_ratio', max: 0.01 }), undefined)).toMatchObject({ verdict: 'no data', samples: 0 });
  });

  it('refuses a check without a threshold, or with both a metric and a query', () => {
    expect(analysisCheckSchema.safeParse({ name: 'c', metric: 'error_ratio' }).success).toBe(false);
    expect(analysisCheckSchema.safeParse({ name: 'c', metric: 'error_ratio', query: 'up', max: 1 }).success).toBe(false);
  });
});
