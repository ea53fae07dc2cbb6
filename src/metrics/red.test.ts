import { describe, expect, it } from 'vitest';
import { RequestMetrics } from '../router/request-metrics.js';
import { histogramQuantile, redFromSamples } from './red.js';

/** The agent's samples of one environment, as if the whole snapshot had been one sample of `seconds`. */
const sampled = (metrics: RequestMetrics, env: string, seconds: number) =>
  metrics.snapshot().filter((s) => s.env === env).map((s) => ({ release: s.release, seconds, requests: s.count, errors: s.codes['5xx'], buckets: s.buckets, overflow: s.overflow }));

describe('rate, errors and duration per release from the router counters', () => {
  it('interpolates quantiles inside the buckets, as histogram_quantile does, and says when it cannot', () => {
    const metrics = new RequestMetrics();
    // 100 requests: 90 between 10 and 25 ms, 9 between 250 and 500 ms, 1 over 10 s.
    for (let i = 0; i < 90; i++) metrics.observe('production', 'r2', 200, 0.02);
    for (let i = 0; i < 9; i++) metrics.observe('production', 'r2', 500, 0.3);
    metrics.observe('production', 'r2', 504, 12);
    metrics.observe('production', 'r1', 200, 0.001);
    metrics.observe('staging', 'r9', 200, 0.001);
    const [r2, r1] = redFromSamples(sampled(metrics, 'production', 50));
    expect(r2).toMatchObject({ release: 'r2', requests: 100, throughput: { value: 2 }, errorRatio: { value: 0.1 } });
    // The 50th of 100 is the 50th of the 90 in (0.01, 0.025]: 0.01 + 0.015 × 50/90.
    expect((r2.p50Seconds as { value: number }).value).toBeCloseTo(0.01 + 0.015 * (50 / 90), 10);
    // The 95th is the 5th of the 9 in (0.25, 0.5].
    expect((r2.p95Seconds as { value: number }).value).toBeCloseTo(0.25 + 0.25 * (5 / 9), 10);
    expect(r2.p99Seconds).toEqual({ value: 0.5 });
    expect(histogramQuantile(0.999, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 3)).toEqual({ noData: "above 10s, the histogram's last bucket" });
    expect(histogramQuantile(0.5, new Array(11).fill(0), 0)).toEqual({ noData: 'no requests' });
    expect(r1).toMatchObject({ release: 'r1', requests: 1, errorRatio: { value: 0 } });
    expect(redFromSamples(sampled(metrics, 'production', 0))[0].throughput).toEqual({ noData: 'not sampled long enough' });
  });
});
