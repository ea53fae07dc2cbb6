import type { RequestSeries } from '../router/request-metrics.js';
import type { Measured } from './dora.js';
import { histogramQuantile } from './red.js';

/** One environment's traffic between two samples of the router's counters. */
export interface LiveTraffic {
  seconds: number;
  requestsPerSecond: number;
  /** 5xx over all answers in the interval. */
  errorRatio: Measured<number>;
  p99Seconds: Measured<number>;
}

interface Totals {
  count: number;
  errors: number;
  buckets: number[];
  overflow: number;
}

function totalsByEnv(series: RequestSeries[]): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const s of series) {
    const t = totals.get(s.env) ?? { count: 0, errors: 0, buckets: s.buckets.map(() => 0), overflow: 0 };
    t.count += s.count;
    t.errors += s.codes['5xx'];
    s.buckets.forEach((n, i) => (t.buckets[i] += n));
    t.overflow += s.overflow;
    totals.set(s.env, t);
  }
  return totals;
}

/**
 * Live traffic per environment for the dashboard: the router's counters only ever grow, so the difference
 * between two samples is what happened in between (a restarted router starts again from zero).
 */
export class TrafficMeter {
  private previous: { at: number; totals: Map<string, Totals> } | undefined;

  /** Takes a sample; per environment, the traffic since the previous one (an empty map on the first). */
  sample(series: RequestSeries[], at: number): Map<string, LiveTraffic> {
    const totals = totalsByEnv(series);
    const before = this.previous;
    this.previous = { at, totals };
    const traffic = new Map<string, LiveTraffic>();
    if (!before || at <= before.at) return traffic;
    const seconds = (at - before.at) / 1000;
    for (const [env, now] of totals) {
      const then = before.totals.get(env);
      const restarted = !then || now.count < then.count;
      const base = restarted ? { count: 0, errors: 0, buckets: now.buckets.map(() => 0), overflow: 0 } : then;
      const count = now.count - base.count;
      traffic.set(env, {
        seconds,
        requestsPerSecond: count / seconds,
        errorRatio: count ? { value: (now.errors - base.errors) / count } : { noData: 'no requests in the interval' },
        p99Seconds: histogramQuantile(0.99, now.buckets.map((n, i) => n - base.buckets[i]), now.overflow - base.overflow),
      });
    }
    return traffic;
  }
}
