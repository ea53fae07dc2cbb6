import type { EnvironmentStatus } from '../agent/status.js';
import { environmentOf, loadConfig } from '../config/load.js';
import { checkPromotion } from '../deploy/promotion.js';
import { agentGet, ensureAgent } from './agent-client.js';
import { runDeployment } from './deploy.js';
import { progress, type Io } from './output.js';

/**
 * `ferry promote <from> <to>`: deploys to `to` exactly what `from` serves (same commit; with docker or swarm,
 * the same image, not rebuilt), after smoke checks on `from`: its last deployment succeeded, every instance
 * answers its health check, and probes through its port pass (checkPromotion, which the dashboard uses too).
 */
export async function promote(io: Io, projectDir: string, from: string, to: string): Promise<number> {
  const config = loadConfig(projectDir);
  const source = environmentOf(config, from);
  environmentOf(config, to);
  const say = progress(io);
  const agent = await ensureAgent(projectDir, say);
  const [status] = (await agentGet<{ environments: EnvironmentStatus[] }>(agent, `/api/status?env=${encodeURIComponent(from)}`)).environments;
  const { release, commit } = await checkPromotion(from, to, status, source);
  say(`smoke checks of ${from} passed: ${release} (${commit.slice(0, 12)}) healthy; promoting to ${to}`);
  return runDeployment(io, { projectDir, env: to, kind: 'deploy', ref: commit, promoteFrom: release });
}
