import { sharedFolders, type FerryConfig } from '../config/schema.js';
import { sharedWarningsOf } from '../runtime/shared-data.js';
import type { RouterClient } from '../router/client.js';
import { instanceListener, instanceOwner, instanceScope } from '../router/process-tree.js';
import type { Store } from '../store/store.js';
import { probeHttp } from '../health/probe.js';
import { servingFrom } from '../deploy/serving.js';
import type { Runtimes } from '../runtime/registry.js';
import { errorMessage } from '../util/errors.js';
import { mountsOf } from '../config/mounts.js';
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
  /** What the serving release should not hide from anyone: committed files its shared folders do not use. */
  warnings: string[];
  /** pid: the instance's command; listener: the process that listens on its port (the server behind a wrapper such as `npm start`), or a process that is not the instance's and holds its port (`ours: false`). */
  instances: Array<{ id: string; release: string; port: number; pid: number; listener?: { pid: number; command: string; ours: boolean } | null; state: string; restarts: number; healthy: boolean | null; health: string; container?: { id: string; image: string; health?: string } }>;
  lastDeployment: { id: number; kind: string; release: string | null; promotedFrom?: { env: string; release: string }; state: string; outcome: string | null; startedAt: string; finishedAt: string | null; error: string | null } | null;
  lock: { deploymentId: number; since: string } | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** Per environment: what serves (from the router), its instances with a live probe, the last deployment, the lock. */
export async function environmentStatuses(config: FerryConfig, store: Store, router: RouterClient, runtimes: Runtimes, paths: StatePaths, only?: string): Promise<EnvironmentStatus[]> {
  const snapshot = await router.state();
  // Who listens on each process instance's port is read here, in the agent, not by the router (which proxies).
  const scope = instanceScope(paths.root);
  const names = Object.keys(config.environments).filter((name) => !only || name === only);
  return Promise.all(
    names.map(async (env) => {
      const envConfig = config.environments[env];
      const serving = servingFrom(snapshot, env);
      const release = serving.release ? store.release(serving.release) : undefined;
      const instances = await Promise.all(
        Object.values(snapshot.instances)
          // An exited instance the route still names is being started again (with backoff): shown, with who holds its port.
          .filter((i) => i.env === env && (i.state !== 'exited' || serving.instanceIds.includes(i.id)))
          .map(async (i) => {
            // Not probed when it has exited: its port would answer for whoever holds it now.
            const probe = i.state === 'exited' ? { ok: false, status: null, error: 'exited; the router starts it again' } : await probeHttp(i.port, envConfig.health.path, 1000, i.host);
            // Containers also carry Docker's own health status when their image defines a HEALTHCHECK.
            const container = i.container ? { id: i.container.id.slice(0, 12), image: i.container.image, health: await runtimes.of(i).inspect(i.id).then((info) => info.health, (error) => `unknown: ${errorMessage(error)}`) } : undefined;
            const listener = i.container || (i.runtime ?? 'process') !== 'process' ? undefined : (instanceListener(instanceOwner(i.id, scope, i.cwd), i.port) ?? null);
            // Being (re)started, it is not healthy whatever its port answers: the router routes to it once its own health gate passes.
            const gated = i.state === 'starting';
            const answer = `${probe.status ?? probe.error}`;
            const health = gated ? `starting: ${probe.ok ? `answers ${answer}` : answer}, routed once the router's health gate passes` : answer;
            return { id: i.id, release: i.release, port: i.port, pid: i.pid, ...(listener !== undefined ? { listener } : {}), state: serving.instanceIds.includes(i.id) && i.state === 'running' ? 'serving' : i.state, restarts: i.restarts, healthy: probe.ok && !gated, health, container };
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
        data: envConfig.runtime === 'process' ? sharedFolders(envConfig).map((f) => `shared ${f.path} → ${paths.shared(env)}/${f.path}${f.seed === 'once' ? '' : ` (seed: ${f.seed})`}`) : mountsOf(envConfig.volumes, config.app, env).map((m) => `${m.type} ${m.source} → ${m.target}${m.readOnly ? ' (read-only)' : ''}`),
        warnings: release ? sharedWarningsOf(release.dir, release.id) : [],
        router: snapshot.counters?.[env] ?? { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 },
        instances,
        lastDeployment: last
          ? { id: last.id, kind: last.kind, release: last.releaseId, ...(last.promotedFrom ? { promotedFrom: last.promotedFrom } : {}), state: last.state, outcome: last.state === 'running' ? null : last.state, startedAt: new Date(last.startedAt).toISOString(), finishedAt: iso(last.finishedAt), error: last.error }
          : null,
        lock: lock ? { deploymentId: lock.deploymentId, since: new Date(lock.acquiredAt).toISOString() } : null,
      };
    }),
  );
}
