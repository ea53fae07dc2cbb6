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

/** What one release of one environment answered between two samples: counts and the latency histogram (per bucket). */
export interface CounterDelta {
  env: string;
  release: string;
  requests: number;
  errors: number;
  buckets: number[];
  overflow: number;
}

const key = (env: string, release: string) => `${env}\0${release}`;

/** One sample of the router's counters as kept between agents. */
export interface CounterBaseline {
  at: number;
  since: number | undefined;
  series: RequestSeries[];
}

const zero = (like: { buckets: number[] }) => ({ count: 0, codes: { '5xx': 0 }, buckets: like.buckets.map(() => 0), overflow: 0 });

/**
 * The router's counters only ever grow, so the difference between two samples is what happened in between.
 * A restarted router (another `since`, or a count that went down) counts again from zero.
 */
export class CounterDeltas {
  private previous: { at: number; since: number | undefined; series: Map<string, RequestSeries> } | undefined;

  /** The last sample, to keep across agent restarts (a new agent then counts from it, not from nothing). */
  baseline(): CounterBaseline | undefined {
    return this.previous && { at: this.previous.at, since: this.previous.since, series: [...this.previous.series.values()] };
  }

  /** Continues from a kept sample: a router that kept running is counted from there, a restarted one from its start. */
  restore(baseline: CounterBaseline | undefined): void {
    this.previous = baseline && { at: baseline.at, since: baseline.since, series: new Map(baseline.series.map((s) => [key(s.env, s.release), s])) };
  }

  /** Forgets the last sample: the next one starts again (a gap is not spanned). */
  reset(): void {
    this.previous = undefined;
  }

  /** Takes a sample; the deltas since the previous one, per environment and release (undefined on the first sample). */
  take(series: RequestSeries[], at: number, routerSince?: number): { seconds: number; deltas: CounterDelta[] } | undefined {
    const before = this.previous;
    this.previous = { at, since: routerSince, series: new Map(series.map((s) => [key(s.env, s.release), s])) };
    if (!before || at <= before.at) return undefined;
    const restarted = routerSince !== before.since;
    const deltas = series.map((now) => {
      const then = before.series.get(key(now.env, now.release));
      const base = restarted || !then || now.count < then.count ? zero(now) : then;
      return {
        env: now.env,
        release: now.release,
        requests: now.count - base.count,
        errors: now.codes['5xx'] - base.codes['5xx'],
        buckets: now.buckets.map((n, i) => n - base.buckets[i]),
        overflow: now.overflow - base.overflow,
      };
    });
    return { seconds: (at - before.at) / 1000, deltas };
  }
}

/** Live traffic per environment for the dashboard, over every release, between two samples. */
export class TrafficMeter {
  private readonly counters = new CounterDeltas();

  reset(): void {
    this.counters.reset();
  }

  /** Takes a sample; per environment, the traffic since the previous one (an empty map on the first). */
  sample(series: RequestSeries[], at: number, routerSince?: number): Map<string, LiveTraffic> {
    const traffic = new Map<string, LiveTraffic>();
    const taken = this.counters.take(series, at, routerSince);
    if (!taken) return traffic;
    const byEnv = new Map<string, CounterDelta>();
    for (const d of taken.deltas) {
      const sum = byEnv.get(d.env) ?? { ...d, release: '*', requests: 0, errors: 0, buckets: d.buckets.map(() => 0), overflow: 0 };
      sum.requests += d.requests;
      sum.errors += d.errors;
      d.buckets.forEach((n, i) => (sum.buckets[i] += n));
      sum.overflow += d.overflow;
      byEnv.set(d.env, sum);
    }
    for (const [env, d] of byEnv) {
      traffic.set(env, {
        seconds: taken.seconds,
        requestsPerSecond: d.requests / taken.seconds,
        errorRatio: d.requests ? { value: d.errors / d.requests } : { noData: 'no requests in the interval' },
        p99Seconds: histogramQuantile(0.99, d.buckets, d.overflow),
      });
    }
    return traffic;
  }
}
