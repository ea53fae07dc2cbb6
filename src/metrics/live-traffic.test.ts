import { describe, expect, it } from 'vitest';
import type { RequestSeries } from '../router/request-metrics.js';
import { CounterDeltas, TrafficMeter } from './live-traffic.js';

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

describe('CounterDeltas', () => {
  it('gives each release what it answered between two samples; a new router start (another since) counts from zero, and reset skips a gap', () => {
    const deltas = new CounterDeltas();
    expect(deltas.take([series('web', 'r1', 100, 0, buckets(100, 0))], 0, 1)).toBeUndefined();
    const taken = deltas.take([series('web', 'r1', 130, 3, buckets(127, 3)), series('web', 'r2', 20, 0, buckets(20, 0))], 5000, 1)!;
    expect(taken.seconds).toBe(5);
    expect(taken.deltas.map((d) => [d.release, d.requests, d.errors, d.buckets[0], d.buckets[8]])).toEqual([['r1', 30, 3, 27, 3], ['r2', 20, 0, 20, 0]]);
    // The router restarted and has already counted more than before: `since` tells.
    expect(deltas.take([series('web', 'r1', 500, 0, buckets(500, 0))], 6000, 2)!.deltas[0].requests).toBe(500);
    deltas.reset();
    expect(deltas.take([series('web', 'r1', 600, 0, buckets(600, 0))], 9000, 2)).toBeUndefined();
  });
});
