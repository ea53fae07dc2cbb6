import { setTimeout as delay } from 'node:timers/promises';
import type { EnvironmentConfig, FerryConfig } from '../config/schema.js';
import { servingFrom } from '../deploy/serving.js';
import { probeHttp } from '../health/probe.js';
import type { RouterClient } from '../router/client.js';
import type { DeliveryStore } from '../store/delivery.js';
import { parseDurationMs } from '../util/duration.js';

/**
 * Probes each environment that serves a release, through its router port and the health path of the serving
 * release's own configuration (its snapshot, never the working tree's uncommitted ferry.yml), every interval,
 * and stores the result: the uptime `ferry metrics` reports is measured, not assumed. An environment with
 * nothing serving is not probed (its uptime is "no data", not 0 or 100%). A round that fails is reported to
 * onError and the next one runs: nothing here may end the agent. `config` is the last valid configuration
 * (it never throws); only the interval comes from it.
 */
export function startUptimeProbes(
  deps: { router: RouterClient; delivery: DeliveryStore; config: () => FerryConfig; releaseConfig: (release: string) => EnvironmentConfig | undefined; onError: (error: unknown) => void },
  signal: AbortSignal,
): Promise<void> {
  return (async () => {
    while (!signal.aborted) {
      try {
        const snapshot = await deps.router.state().catch(() => undefined);
        for (const env of Object.keys(snapshot?.routes ?? {})) {
          const serving = servingFrom(snapshot!, env);
          const settings = serving.release ? deps.releaseConfig(serving.release) : undefined;
          if (!settings || serving.port === null) continue;
          const probe = await probeHttp(serving.port, settings.health.path, parseDurationMs(settings.health.timeout) ?? 2000);
          if (!signal.aborted) deps.delivery.recordProbe(env, probe.ok);
        }
      } catch (error) {
        deps.onError(error);
      }
      await delay(parseDurationMs(deps.config().agent.uptime_probe_interval) ?? 15_000, undefined, { signal }).catch(() => undefined);
    }
  })();
}
