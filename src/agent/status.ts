import type { FerryConfig } from '../config/schema.js';
import type { RouterClient } from '../router/client.js';
import type { Store } from '../store/store.js';
import { probeHttp } from '../health/probe.js';
import { servingFrom } from '../deploy/serving.js';
import type { Runtimes } from '../runtime/registry.js';
import { errorMessage } from '../util/errors.js';
import { mountsOf } from '../runtime/mounts.js';
import type { StatePaths } from '../state/paths.js';

export interface EnvironmentStatus {
  env: string;
  port: number;
  strategy: string;
  url: string;
  /** The routed release, when at least one of its instances is running and answers its health check. */
  serving: { id: string; commit: string; ref: string; branch: string | null; subject: string | null; author: string | null; since: string | null } | null;
  /** What the routing table names, and whether it can serve: `serving`, `starting` (instances starting again, requests held), `down` (none healthy), `none`. */
  routed: { release: string | null; state: 'serving' | 'starting' | 'down' | 'none' };
  /** Requests the router answered itself since it started: 504 upstream timeouts, 502 upstream errors, 503 nothing to route to. */
  router: { upstreamTimeouts: number; upstreamErrors: number; unavailable: number };
  /** Where the environment's data lives across releases: shared folders (process) or volumes and bind mounts (docker, swarm). */
  data: string[];
  instances: Array<{ id: string; release: string; port: number; pid: number; state: string; restarts: number; healthy: boolean | null; health: string; container?: { id: string; image: string; health?: string } }>;
  lastDeployment: { id: number; kind: string; release: string | null; state: string; outcome: string | null; startedAt: string; finishedAt: string | null; error: string | null } | null;
  lock: { deploymentId: number; since: string } | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Per environment: what serves (from the router), its instances with a live probe, the last deployment, the lock. */
export async function environmentStatuses(config: FerryConfig, store: Store, router: RouterClient, runtimes: Runtimes, paths: StatePaths, only?: string): Promise<EnvironmentStatus[]> {
  const snapshot = await router.state();
  const names = Object.keys(config.environments).filter((name) => !only || name === only);
  return Promise.all(
    names.map(async (env) => {
      const envConfig = config.environments[env];
      const serving = servingFrom(snapshot, env);
      const release = serving.release ? store.release(serving.release) : undefined;
      const instances = await Promise.all(
        Object.values(snapshot.instances)
          .filter((i) => i.env === env && i.state !== 'exited')
          .map(async (i) => {
            const probe = await probeHttp(i.port, envConfig.health.path, 1000, i.host);
            // Containers also carry Docker's own health status when their image defines a HEALTHCHECK.
            const container = i.container ? { id: i.container.id.slice(0, 12), image: i.container.image, health: await runtimes.of(i).inspect(i.id).then((info) => info.health, (error) => `unknown: ${errorMessage(error)}`) } : undefined;
            return { id: i.id, release: i.release, port: i.port, pid: i.pid, state: serving.instanceIds.includes(i.id) && i.state === 'running' ? 'serving' : i.state, restarts: i.restarts, healthy: probe.ok, health: probe.ok ? `${probe.status}` : `${probe.status ?? probe.error}`, container };
          }),
      );
      const routedInstances = instances.filter((i) => serving.instanceIds.includes(i.id));
      const healthy = routedInstances.some((i) => i.healthy && snapshot.instances[i.id]?.state === 'running');
      const starting = routedInstances.some((i) => snapshot.instances[i.id]?.state === 'starting');
      const routedState = !serving.release ? 'none' : healthy ? 'serving' : starting ? 'starting' : 'down';
      const last = store.deployments({ env, limit: 1 })[0];
      const lock = store.lockOf(env);
      return {
        env,
        port: envConfig.port,
        strategy: envConfig.strategy,
        url: `http://127.0.0.1:${envConfig.port}`,
        serving: release && routedState === 'serving' ? { id: release.id, commit: release.commit, ref: release.ref, branch: release.branch, subject: release.subject, author: release.author, since: iso(store.servingSince(env, release.id)) } : null,
        routed: { release: serving.release, state: routedState },
        data: envConfig.runtime === 'process' ? envConfig.shared.map((dir) => `shared ${dir} → ${paths.shared(env)}/${dir}`) : mountsOf(envConfig.volumes, config.app, env).map((m) => `${m.type} ${m.source} → ${m.target}${m.readOnly ? ' (read-only)' : ''}`),
        router: snapshot.counters?.[env] ?? { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 },
        instances,
        lastDeployment: last
          ? { id: last.id, kind: last.kind, release: last.releaseId, state: last.state, outcome: last.state === 'running' ? null : last.state, startedAt: new Date(last.startedAt).toISOString(), finishedAt: iso(last.finishedAt), error: last.error }
          : null,
        lock: lock ? { deploymentId: lock.deploymentId, since: new Date(lock.acquiredAt).toISOString() } : null,
      };
    }),
  );
}
