import { describe, expect, it } from 'vitest';
import type { RequestSeries } from '../router/request-metrics.js';
import { TrafficMeter } from './live-traffic.js';

const series = (env: string, release: string, count: number, errors: number, buckets: number[]): RequestSeries => ({ env, release, codes: { '1xx': 0, '2xx': count - errors, '3xx': 0, '4xx': 0, '5xx': errors }, buckets, overflow: 0, sumSeconds: 0, count });
const buckets = (fast: number, slow: number) => [fast, 0, 0, 0, 0, 0, 0, 0, slow, 0, 0];

describe('TrafficMeter', () => {
  it('says nothing on the first sample, then the rate, error ratio and p99 of what happened between two samples, over every release', () => {
    const meter = new TrafficMeter();
    expect(meter.sample([series('web', 'r1', 100, 0, buckets(100, 0))], 0).size).toBe(0);
    const traffic = meter.sample([series('web', 'r1', 150, 0, buckets(150, 0)), series('web', 'r2', 50, 5, buckets(40, 10))], 2000).get('web')!;
    expect(traffic.requestsPerSecond).toBe(50);
    expect(traffic.errorRatio).toEqual({ value: 0.05 });
    expect('value' in traffic.p99Seconds && traffic.p99Seconds.value).toBeGreaterThan(0.1);
  });

  it('an idle interval has no error ratio and no p99 (no data, not 0), and a restarted router counts from zero', () => {
    const meter = new TrafficMeter();
    meter.sample([series('web', 'r1', 100, 0, buckets(100, 0))], 0);
    const idle = meter.sample([series('web', 'r1', 100, 0, buckets(100, 0))], 1000).get('web')!;
    expect(idle).toMatchObject({ requestsPerSecond: 0, errorRatio: { noData: 'no requests in the interval' }, p99Seconds: { noData: 'no requests' } });
    expect(meter.sample([series('web', 'r1', 10, 0, buckets(10, 0))], 2000).get('web')!.requestsPerSecond).toBe(10);
  });
});
