import { existsSync } from 'node:fs';
import type { EnvironmentConfig } from '../config/schema.js';
import { errorMessage } from '../util/errors.js';
import type { OrchestratorDeps } from './context.js';
import { gateInstances, instanceSpecs, startInstances, upstreamTimeouts } from './instances.js';

/**
 * The router restarts the processes it supervises when it starts. Containers and Swarm services it only
 * routes to: after `ferry agent stop` or a reboot, the agent starts the routed release of such an
 * environment again, health-gates it, and routes to it (the router holds requests until then).
 * Returns one line per environment it acted on.
 */
export async function restoreServing(deps: OrchestratorDeps, app: string): Promise<string[]> {
  const { store, router, runtimes, paths } = deps;
  const snapshot = await router.state();
  const said: string[] = [];
  for (const route of Object.values(snapshot.routes)) {
    const records = route.upstreams.map((id) => snapshot.instances[id]).filter((r) => r !== undefined);
    if (records.length === 0 || records.some((r) => (r.runtime ?? 'process') === 'process')) continue;
    const states = await Promise.all(records.map((r) => runtimes.of(r).inspect(r.id).then((i) => i.state, () => 'unknown')));
    if (states.some((state) => state === 'running' || state === 'unknown')) continue;
    const releaseId = route.release ?? records[0].release;
    const release = store.release(releaseId);
    if (!release || !existsSync(release.dir)) {
      said.push(`${route.env}: ${releaseId} is routed but gone and cannot be started again (its directory is gone); deploy or roll back`);
      continue;
    }
    try {
      const config = JSON.parse(store.releaseConfigJson(release.id)!) as EnvironmentConfig;
      const runtime = runtimes.get(config.runtime);
      const specs = await instanceSpecs({ env: route.env, release, tag: `s${Date.now().toString(36)}`, config, paths });
      await startInstances(runtime, specs, { app, env: route.env, release, config, secrets: {} });
      const failed = (await gateInstances(runtime, specs, config)).find((v) => !v.healthy);
      if (failed) {
        for (const spec of specs) await runtime.stop(spec.id, { drainTimeoutMs: 0, graceMs: 5000 }).catch(() => undefined);
        said.push(`${route.env}: ${release.id} started again but did not become healthy (${failed.reason})`);
        continue;
      }
      for (const spec of specs) await runtime.keepRunning?.(spec.id);
      await router.setRoute({ env: route.env, port: route.port, release: release.id, upstreams: specs.map((s) => s.id), timeouts: route.timeouts ?? upstreamTimeouts(config) });
      for (const record of records) await runtimes.of(record).remove(record.id).catch(() => undefined);
      said.push(`${route.env}: ${release.id} was routed with no instance running; started it again (${specs.map((s) => s.id).join(', ')}) and routed to it`);
    } catch (error) {
      said.push(`${route.env}: could not start ${release.id} again: ${errorMessage(error)}`);
    }
  }
  return said;
}
