import { LATENCY_BUCKETS_SECONDS } from '../router/request-metrics.js';
import type { TrafficSample } from '../store/traffic.js';
import { histogramQuantile } from './red.js';

export type { TrafficSample } from '../store/traffic.js';

/** One release's traffic per period; null where it has no data (not serving, not sampled, or no request to time). */
export interface ReleaseTraffic {
  release: string;
  requests: number;
  requestsPerSecond: Array<number | null>;
  errorRatio: Array<number | null>;
  p50Seconds: Array<number | null>;
  p99Seconds: Array<number | null>;
}

export interface TrafficHistory {
  /** Each period's start, in seconds (uPlot's x). */
  times: number[];
  stepSeconds: number;
  /** Per period, the seconds the agent sampled (0: no data at all, the agent was not running or nothing served). */
  sampledSeconds: number[];
  releases: ReleaseTraffic[];
}

const valueOrNull = (measured: { value: number } | { noData: string }) => ('value' in measured ? measured.value : null);

/**
 * The samples of one environment in equal periods of [since, until): per release, its rate over the seconds
 * sampled, its error ratio and its p50 and p99 from the summed histograms (quantiles are not averaged).
 * A release has a value only in the periods it has samples in: a release that no longer serves is a gap, not 0.
 */
export function trafficHistory(samples: TrafficSample[], window: { since: number; until: number }, stepMs: number): TrafficHistory {
  const periods = Math.max(1, Math.ceil((window.until - window.since) / stepMs));
  const times = Array.from({ length: periods }, (_, i) => (window.since + i * stepMs) / 1000);
  const sampledSeconds = times.map(() => 0);
  const sampled = new Set<string>();
  const sums = new Map<string, Array<{ requests: number; errors: number; buckets: number[]; overflow: number } | undefined>>();
  for (const s of samples) {
    const i = Math.floor((s.at - window.since) / stepMs);
    if (i < 0 || i >= periods) continue;
    // Every release's row of one sample covers the same seconds: count them once.
    if (!sampled.has(`${s.at}`)) {
      sampled.add(`${s.at}`);
      sampledSeconds[i] += s.seconds;
    }
    const perPeriod = sums.get(s.release) ?? times.map(() => undefined);
    sums.set(s.release, perPeriod);
    const sum = (perPeriod[i] ??= { requests: 0, errors: 0, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), overflow: 0 });
    sum.requests += s.requests;
    sum.errors += s.errors;
    s.buckets.forEach((n, b) => (sum.buckets[b] += n));
    sum.overflow += s.overflow;
  }
  const releases = [...sums].map(([release, perPeriod]) => ({
    release,
    requests: perPeriod.reduce((total, p) => total + (p?.requests ?? 0), 0),
    requestsPerSecond: perPeriod.map((p, i) => (p && sampledSeconds[i] > 0 ? p.requests / sampledSeconds[i] : null)),
    errorRatio: perPeriod.map((p) => (p && p.requests > 0 ? p.errors / p.requests : null)),
    p50Seconds: perPeriod.map((p) => (p ? valueOrNull(histogramQuantile(0.5, p.buckets, p.overflow)) : null)),
    p99Seconds: perPeriod.map((p) => (p ? valueOrNull(histogramQuantile(0.99, p.buckets, p.overflow)) : null)),
  }));
  return { times, stepSeconds: stepMs / 1000, sampledSeconds, releases };
}
