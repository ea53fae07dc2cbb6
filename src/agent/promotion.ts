import type { EnvironmentStatus } from './status.js';
import type { EnvironmentConfig } from '../config/schema.js';
import { probeHttp } from '../health/probe.js';
import { parseDurationMs } from '../util/duration.js';
import { FerryError } from '../util/errors.js';

/** Probes through the source environment's port before a promotion. */
export const SMOKE_PROBES = 3;

/**
 * Promote's smoke checks on the source environment (`ferry promote` and the dashboard): something serves,
 * its last deployment succeeded, every serving instance answers its health check, and SMOKE_PROBES probes
 * through its port pass. Returns what to deploy to `to`; refuses (nothing changed) otherwise.
 */
export async function checkPromotion(from: string, to: string, status: EnvironmentStatus | undefined, source: EnvironmentConfig): Promise<{ release: string; commit: string }> {
  const refuse = (why: string) => new FerryError({ code: 'PROMOTE_REFUSED', message: `not promoting ${from} to ${to}: ${why}; nothing was changed`, hint: `See \`ferry status ${from}\`.` });
  if (from === to) throw new FerryError({ code: 'USAGE', message: 'promote needs two different environments' });
  if (!status?.serving) throw refuse(`nothing serves in ${from}`);
  if (status.lastDeployment && status.lastDeployment.outcome !== 'succeeded') throw refuse(`its last deployment (#${status.lastDeployment.id}) ended ${status.lastDeployment.outcome ?? status.lastDeployment.state}`);
  const sick = status.instances.filter((i) => i.state === 'serving' && !i.healthy);
  if (sick.length) throw refuse(`${sick.map((i) => `${i.id} answers ${i.health}`).join(', ')}`);
  for (let i = 0; i < SMOKE_PROBES; i++) {
    const probe = await probeHttp(source.port, source.health.path, parseDurationMs(source.health.timeout)!);
    if (!probe.ok) throw refuse(`smoke check ${i + 1} of ${SMOKE_PROBES} through :${source.port}${source.health.path} failed (${probe.status ?? probe.error})`);
  }
  return { release: status.serving.id, commit: status.serving.commit };
}
