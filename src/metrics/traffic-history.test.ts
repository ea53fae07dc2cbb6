import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDb } from '../store/db.js';
import { TrafficStore } from '../store/traffic.js';
import { trafficHistory, type TrafficSample } from './traffic-history.js';

// Eleven buckets: 5 ms, 10 ms, 25 ms, 50 ms, 100 ms, 250 ms, 500 ms, 1 s, 2.5 s, 5 s, 10 s.
const fast = (n: number) => [n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const slow = (n: number) => [0, 0, 0, 0, 0, 0, 0, 0, n, 0, 0];
const sample = (release: string, at: number, requests: number, errors: number, buckets: number[]): TrafficSample => ({ env: 'web', release, at, seconds: 10, requests, errors, buckets, overflow: 0 });

const dir = mkdtempSync(join(tmpdir(), 'ferry-traffic-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trafficHistory', () => {
  it('per release and period: the rate over the seconds sampled, the error ratio, and quantiles of the summed histograms', () => {
    const samples = [sample('r1', 10_000, 100, 0, fast(100)), sample('r1', 20_000, 300, 0, fast(300)), sample('r1', 40_000, 50, 0, fast(50)), sample('r2', 40_000, 50, 25, slow(50))];
    const history = trafficHistory(samples, { since: 0, until: 60_000 }, 30_000);
    expect(history.times).toEqual([0, 30]);
    expect(history.sampledSeconds).toEqual([20, 10]);
    const [r1, r2] = history.releases;
    expect(r1).toMatchObject({ release: 'r1', requests: 450, requestsPerSecond: [20, 5], errorRatio: [0, 0] });
    expect(r1.p99Seconds[0]).toBeLessThanOrEqual(0.005);
    // r2 served in the second period only: the first is no data, not 0; its latency stands out.
    expect(r2).toMatchObject({ release: 'r2', requestsPerSecond: [null, 5], errorRatio: [null, 0.5], p50Seconds: [null, expect.any(Number)] });
    expect(r2.p99Seconds[1]).toBeGreaterThan(1);
  });

  it('a release that served without a request has a rate of 0 and no latency; a period nobody sampled is no data', () => {
    const history = trafficHistory([sample('r1', 5_000, 0, 0, fast(0))], { since: 0, until: 20_000 }, 10_000);
    expect(history.sampledSeconds).toEqual([10, 0]);
    expect(history.releases[0]).toMatchObject({ requestsPerSecond: [0, null], errorRatio: [null, null], p50Seconds: [null, null], p99Seconds: [null, null] });
  });
});

describe('TrafficStore', () => {
  it('keeps the samples of each environment in its window and drops those older than the retention', () => {
    const store = new TrafficStore(openDb(join(dir, 'ferry.db')));
    store.record([sample('r1', 1_000, 5, 0, fast(5)), { ...sample('r1', 1_000, 7, 1, slow(7)), env: 'other' }], 60_000);
    store.record([sample('r1', 30_000, 9, 0, fast(9))], 60_000);
    expect(store.samples('web', 0, 100_000).map((s) => [s.at, s.requests, s.buckets[0]])).toEqual([[1_000, 5, 5], [30_000, 9, 9]]);
    store.record([sample('r2', 70_000, 1, 0, fast(1))], 60_000);
    expect(store.samples('web', 0, 100_000).map((s) => s.at)).toEqual([30_000, 70_000]);
    expect(store.samples('other', 0, 100_000)).toHaveLength(1);
  });
});
