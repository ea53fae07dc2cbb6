import { setTimeout as delay } from 'node:timers/promises';
import type { FerryConfig } from '../config/schema.js';
import { servingFrom } from '../deploy/serving.js';
import { probeHttp } from '../health/probe.js';
import type { RouterClient } from '../router/client.js';
import type { DeliveryStore } from '../store/delivery.js';
import { parseDurationMs } from '../util/duration.js';

/**
 * Probes each environment that serves a release, through its router port and health path, every interval, and
 * stores the result: the uptime `ferry metrics` reports is measured, not assumed. An environment with nothing
 * serving is not probed (its uptime is "no data", not 0 or 100%).
 */
export function startUptimeProbes(deps: { router: RouterClient; delivery: DeliveryStore; config: () => FerryConfig }, signal: AbortSignal): Promise<void> {
  return (async () => {
    while (!signal.aborted) {
      const config = deps.config();
      const snapshot = await deps.router.state().catch(() => undefined);
      if (snapshot) {
        for (const [env, settings] of Object.entries(config.environments)) {
          if (!servingFrom(snapshot, env).release) continue;
          const probe = await probeHttp(settings.port, settings.health.path, parseDurationMs(settings.health.timeout) ?? 2000);
          if (!signal.aborted) deps.delivery.recordProbe(env, probe.ok);
        }
      }
      await delay(parseDurationMs(config.agent.uptime_probe_interval) ?? 15_000, undefined, { signal }).catch(() => undefined);
    }
  })();
}
