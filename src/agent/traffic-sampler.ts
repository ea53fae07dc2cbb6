import { setTimeout as delay } from 'node:timers/promises';
import type { FerryConfig } from '../config/schema.js';
import { servingFrom } from '../deploy/serving.js';
import { CounterDeltas } from '../metrics/live-traffic.js';
import type { TrafficSample } from '../metrics/traffic-history.js';
import type { RouterClient } from '../router/client.js';
import { LATENCY_BUCKETS_SECONDS } from '../router/request-metrics.js';
import type { TrafficStore } from '../store/traffic.js';
import { parseDurationMs } from '../util/duration.js';

/** Default of `agent.traffic_sample_interval`: the step of the traffic charts can be no finer. */
export const DEFAULT_TRAFFIC_SAMPLE_MS = 15_000;

/**
 * Samples the router's request counters every interval and stores what each release answered in between: the
 * dashboard's latency, error ratio and rate per release over time (the router itself keeps only totals since it
 * started). A release that served in the interval gets a row even with no request (its rate was 0, measured); a
 * release that neither served nor answered gets none (no data, not 0).
 */
export function startTrafficSampling(deps: { router: RouterClient; traffic: TrafficStore; config: () => FerryConfig }, signal: AbortSignal): Promise<void> {
  return (async () => {
    const counters = new CounterDeltas();
    while (!signal.aborted) {
      const config = deps.config();
      const [requests, snapshot] = await Promise.all([deps.router.requests().catch(() => undefined), deps.router.state().catch(() => undefined)]);
      const at = Date.now();
      // Counting off (or the router unreachable): no sample, and the next one does not span the gap.
      const taken = requests?.enabled && snapshot ? counters.take(requests.series, at, requests.since) : undefined;
      if (!requests?.enabled || !snapshot) counters.reset();
      if (taken && snapshot && !signal.aborted) {
        const samples: TrafficSample[] = taken.deltas.filter((d) => d.requests > 0).map((d) => ({ ...d, at, seconds: taken.seconds }));
        for (const env of Object.keys(config.environments)) {
          const release = servingFrom(snapshot, env).release;
          if (release && !samples.some((s) => s.env === env && s.release === release)) samples.push({ env, release, at, seconds: taken.seconds, requests: 0, errors: 0, buckets: LATENCY_BUCKETS_SECONDS.map(() => 0), overflow: 0 });
        }
        if (samples.length) deps.traffic.record(samples, parseDurationMs(config.agent.traffic_retention) ?? 14 * 86_400_000);
      }
      await delay(parseDurationMs(config.agent.traffic_sample_interval) ?? DEFAULT_TRAFFIC_SAMPLE_MS, undefined, { signal }).catch(() => undefined);
    }
  })();
}
