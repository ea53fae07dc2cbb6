import { LATENCY_BUCKETS_SECONDS, type RequestSeries } from '../router/request-metrics.js';
import type { Measured } from './dora.js';

/** Rate, errors and duration of one release, from the router's counters. */
export interface ReleaseRed {
  release: string;
  requests: number;
  /** Requests per second since the router started counting. */
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

/** Per release of one environment, newest release number first. */
export function redByRelease(series: RequestSeries[], env: string, countingForSeconds: number): ReleaseRed[] {
  return series
    .filter((s) => s.env === env)
    .sort((a, b) => Number(b.release.replace(/\D/g, '') || -1) - Number(a.release.replace(/\D/g, '') || -1))
    .map((s) => ({
      release: s.release,
      requests: s.count,
      throughput: countingForSeconds > 0 ? { value: s.count / countingForSeconds } : { noData: 'the router has only just started' },
      errorRatio: s.count ? { value: s.codes['5xx'] / s.count } : { noData: 'no requests' },
      p50Seconds: histogramQuantile(0.5, s.buckets, s.overflow),
      p95Seconds: histogramQuantile(0.95, s.buckets, s.overflow),
      p99Seconds: histogramQuantile(0.99, s.buckets, s.overflow),
    }));
}
