/** Upper bounds (seconds) of the router's latency histogram: fixed, as Prometheus needs them to aggregate. */
export const LATENCY_BUCKETS_SECONDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';
const CLASSES: StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** One environment's and release's requests: counts per status class, and the latency histogram (per bucket, not cumulative). */
export interface RequestSeries {
  env: string;
  /** The release whose instance answered; `none` when the router answered 503 with nothing to route to. */
  release: string;
  codes: Record<StatusClass, number>;
  buckets: number[];
  /** Above the last bucket. */
  overflow: number;
  sumSeconds: number;
  count: number;
}

/**
 * The router's request counters, per environment and release: a few integer increments and a scan of eleven
 * bounds per request. The agent reads them over the control socket and serves them at /metrics.
 */
export class RequestMetrics {
  private readonly series = new Map<string, RequestSeries>();
  /** When counting began (the router's start): throughput is requests over the time since. */
  readonly since = Date.now();
  /** Off: nothing is counted (`bench:router` measures the counters' cost by turning them off for a round). */
  enabled = true;

  observe(env: string, release: string, status: number, seconds: number): void {
    if (!this.enabled) return;
    const key = `${env}\0${release}`;
    let series = this.series.get(key);
    if (!series) {
      series = { env, release, codes: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), overflow: 0, sumSeconds: 0, count: 0 };
      this.series.set(key, series);
    }
    series.codes[CLASSES[Math.min(4, Math.max(0, Math.floor(status / 100) - 1))]]++;
    let index = 0;
    while (index < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[index]) index++;
    if (index < LATENCY_BUCKETS_SECONDS.length) series.buckets[index]++;
    else series.overflow++;
    series.sumSeconds += seconds;
    series.count++;
  }

  snapshot(): RequestSeries[] {
    return [...this.series.values()];
  }
}

/** Sums series of the same environment and release (one per router worker) into one each. */
export function sumSeries(lists: RequestSeries[][]): RequestSeries[] {
  const sums = new Map<string, RequestSeries>();
  for (const list of lists) {
    for (const series of list) {
      const key = `${series.env}\0${series.release}`;
      const sum = sums.get(key);
      if (!sum) {
        sums.set(key, structuredClone(series));
        continue;
      }
      for (const name of Object.keys(sum.codes) as StatusClass[]) sum.codes[name] += series.codes[name];
      series.buckets.forEach((count, index) => (sum.buckets[index] += count));
      sum.overflow += series.overflow;
      sum.sumSeconds += series.sumSeconds;
      sum.count += series.count;
    }
  }
  return [...sums.values()];
}
