import { setTimeout as delay } from 'node:timers/promises';
import type { FerryConfig } from '../config/schema.js';
import { servingFrom } from '../deploy/serving.js';
import { CounterDeltas, type CounterBaseline } from '../metrics/live-traffic.js';
import type { TrafficSample } from '../metrics/traffic-history.js';
import type { RouterClient } from '../router/client.js';
import { LATENCY_BUCKETS_SECONDS } from '../router/request-metrics.js';
import type { TrafficStore } from '../store/traffic.js';
import { parseDurationMs } from '../util/duration.js';
import { readJsonOr, writeJsonAtomic } from '../util/fs-atomic.js';

/** Default of `agent.traffic_sample_interval`: the step of the traffic charts can be no finer. */
export const DEFAULT_TRAFFIC_SAMPLE_MS = 15_000;

export interface TrafficSamplerDeps {
  router: RouterClient;
  traffic: TrafficStore;
  config: () => FerryConfig;
  /** Where the last sample is kept (0600), so that the next agent counts from it: nothing the router counted is lost to an agent restart. */
  baselineFile: string;
}

/**
 * Samples the router's request counters and stores what each release answered in between: the dashboard's
 * latency, error ratio and rate per release over time, and `ferry metrics`' per-release figures over any
 * period (the router itself keeps only totals since it started, and loses them when it stops). A release
 * that served in the interval gets a row even with no request (its rate was 0, measured); a release that
 * neither served nor answered gets none (no data, not 0). The agent takes one last sample before it stops
 * the router, and reads one at every `ferry metrics`.
 */
export class TrafficSampler {
  private readonly counters = new CounterDeltas();
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly deps: TrafficSamplerDeps) {
    this.counters.restore(readJsonOr<CounterBaseline | undefined>(deps.baselineFile, undefined));
  }

  /** One sample now, after any still running (two at once would count the same requests twice). */
  sample(): Promise<void> {
    const next = this.queue.then(() => this.take());
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Samples every `agent.traffic_sample_interval` until the signal. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.sample().catch(() => undefined);
      await delay(parseDurationMs(this.deps.config().agent.traffic_sample_interval) ?? DEFAULT_TRAFFIC_SAMPLE_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  private async take(): Promise<void> {
    const config = this.deps.config();
    const [requests, snapshot] = await Promise.all([this.deps.router.requests().catch(() => undefined), this.deps.router.state().catch(() => undefined)]);
    const at = Date.now();
    // Counting off (or the router unreachable): no sample, and the next one does not span the gap.
    if (!requests?.enabled || !snapshot) {
      this.counters.reset();
      return;
    }
    const taken = this.counters.take(requests.series, at, requests.since);
    writeJsonAtomic(this.deps.baselineFile, this.counters.baseline());
    if (!taken) return;
    const samples: TrafficSample[] = taken.deltas.filter((d) => d.requests > 0).map((d) => ({ ...d, at, seconds: taken.seconds }));
    for (const env of Object.keys(config.environments)) {
      const release = servingFrom(snapshot, env).release;
      if (release && !samples.some((s) => s.env === env && s.release === release)) samples.push({ env, release, at, seconds: taken.seconds, requests: 0, errors: 0, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), overflow: 0 });
    }
    if (samples.length) this.deps.traffic.record(samples, parseDurationMs(config.agent.traffic_retention) ?? 14 * 86_400_000);
  }
}
