import { LATENCY_BUCKETS_SECONDS } from '../router/request-metrics.js';
import type { Measured } from './dora.js';

/** Rate, errors and duration of one release, from the agent's samples of the router's counters. */
export interface ReleaseRed {
  release: string;
  requests: number;
  /** Requests per second over the seconds the release was sampled. */
  throughput: Measured<number>;
  /** 5xx answers over all answers. */
  errorRatio: Measured<number>;
  p50Seconds: Measured<number>;
  p95Seconds: Measured<number>;
  p99Seconds: Measured<number>;
}

/**
 * A quantile of a fixed-bucket histogram, interpolated linearly inside its bucket (as Prometheus'
 * histogram_quantile does). Past the last bucket it says so rather than invent a value.
 */
export function histogramQuantile(q: number, buckets: number[], overflow: number): Measured<number> {
  const total = buckets.reduce((a, b) => a + b, 0) + overflow;
  if (total === 0) return { noData: 'no requests' };
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (below + buckets[i] >= rank && buckets[i] > 0) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS_SECONDS[i - 1];
      return { value: lower + (LATENCY_BUCKETS_SECONDS[i] - lower) * ((rank - below) / buckets[i]) };
    }
    below += buckets[i];
  }
  return { noData: `above ${LATENCY_BUCKETS_SECONDS.at(-1)}s, the histogram's last bucket` };
}

const newestFirst = (a: { release: string }, b: { release: string }) => Number(b.release.replace(/\D/g, '') || -1) - Number(a.release.replace(/\D/g, '') || -1);

/**
 * Per release of one environment, newest first, from the agent's stored samples of a period: requests,
 * errors and the summed latency histogram; throughput over the seconds the release was sampled serving.
 */
export function redFromSamples(samples: Array<{ release: string; seconds: number; requests: number; errors: number; buckets: number[]; overflow: number }>): ReleaseRed[] {
  const sums = new Map<string, { seconds: number; requests: number; errors: number; buckets: number[]; overflow: number }>();
  for (const s of samples) {
    const sum = sums.get(s.release) ?? { seconds: 0, requests: 0, errors: 0, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), overflow: 0 };
    sum.seconds += s.seconds;
    sum.requests += s.requests;
    sum.errors += s.errors;
    s.buckets.forEach((n, i) => (sum.buckets[i] += n));
    sum.overflow += s.overflow;
    sums.set(s.release, sum);
  }
  return [...sums]
    .map(([release, sum]) => ({
      release,
      requests: sum.requests,
      throughput: sum.seconds > 0 ? { value: sum.requests / sum.seconds } : { noData: 'not sampled long enough' },
      errorRatio: sum.requests ? { value: sum.errors / sum.requests } : { noData: 'no requests' },
      p50Seconds: histogramQuantile(0.5, sum.buckets, sum.overflow),
      p95Seconds: histogramQuantile(0.95, sum.buckets, sum.overflow),
      p99Seconds: histogramQuantile(0.99, sum.buckets, sum.overflow),
    }))
    .sort(newestFirst);
}
