import type { EnvironmentStatus } from '../agent/status.js';
import { environmentOf, loadConfig } from '../config/load.js';
import { probeHttp } from '../health/probe.js';
import { parseDurationMs } from '../util/duration.js';
import { FerryError } from '../util/errors.js';
import { agentGet, ensureAgent } from './agent-client.js';
import { runDeployment } from './deploy.js';
import { progress, type Io } from './output.js';

const SMOKE_PROBES = 3;

/**
 * `ferry promote <from> <to>`: deploys to `to` exactly what `from` serves (same commit; with docker or swarm,
 * the same image, not rebuilt), after smoke checks on `from`: its last deployment succeeded, every instance
 * answers its health check, and `SMOKE_PROBES` probes through its port pass.
 */
export async function promote(io: Io, projectDir: string, from: string, to: string): Promise<number> {
  const config = loadConfig(projectDir);
  const source = environmentOf(config, from);
  environmentOf(config, to);
  if (from === to) throw new FerryError({ code: 'USAGE', message: 'promote needs two different environments' });
  const say = progress(io);
  const agent = await ensureAgent(projectDir, say);
  const [status] = (await agentGet<{ environments: EnvironmentStatus[] }>(agent, `/api/status?env=${encodeURIComponent(from)}`)).environments;
  const refuse = (why: string) => new FerryError({ code: 'PROMOTE_REFUSED', message: `not promoting ${from} to ${to}: ${why}; nothing was changed`, hint: `See \`ferry status ${from}\`.` });
  if (!status?.serving) throw refuse(`nothing serves in ${from}`);
  if (status.lastDeployment && status.lastDeployment.outcome !== 'succeeded') throw refuse(`its last deployment (#${status.lastDeployment.id}) ended ${status.lastDeployment.outcome ?? status.lastDeployment.state}`);
  const sick = status.instances.filter((i) => i.state === 'serving' && !i.healthy);
  if (sick.length) throw refuse(`${sick.map((i) => `${i.id} answers ${i.health}`).join(', ')}`);
  for (let i = 0; i < SMOKE_PROBES; i++) {
    const probe = await probeHttp(source.port, source.health.path, parseDurationMs(source.health.timeout)!);
    if (!probe.ok) throw refuse(`smoke check ${i + 1} of ${SMOKE_PROBES} through :${source.port}${source.health.path} failed (${probe.status ?? probe.error})`);
  }
  say(`smoke checks of ${from} passed: ${status.serving.id} (${status.serving.commit.slice(0, 12)}) healthy; promoting to ${to}`);
  return runDeployment(io, { projectDir, env: to, kind: 'deploy', ref: status.serving.commit, promoteFrom: status.serving.id });
}
