import { environmentOf, loadConfig } from '../config/load.js';
import { FerryError } from '../util/errors.js';
import { runDeployment } from './deploy.js';
import type { Io } from './output.js';

/**
 * `ferry promote <from> <to>`: deploys to `to` exactly what `from` serves (same commit; with docker or swarm,
 * the same image, not rebuilt), after smoke checks on `from`: its last deployment succeeded, every instance
 * answers its health check, and probes through its port pass. The agent that runs `from` makes the checks
 * (POST /api/promotions, as the dashboard's promote), so they probe where the service runs, also on hosts.
 */
export async function promote(io: Io, projectDir: string, from: string, to: string): Promise<number> {
  const config = loadConfig(projectDir);
  const source = environmentOf(config, from);
  const target = environmentOf(config, to);
  const sameMachines = [...source.hosts].sort().join(',') === [...target.hosts].sort().join(',');
  if (!sameMachines) {
    const where = (hosts: string[]) => (hosts.length ? `hosts ${hosts.join(', ')}` : 'this machine');
    throw new FerryError({
      code: 'USAGE',
      message: `${from} runs on ${where(source.hosts)} and ${to} on ${where(target.hosts)}: a promotion deploys the release ${from} serves on the same machine, so both must run on the same ones`,
      hint: `Deploy ${from}'s commit to ${to} instead: ferry deploy ${to} --ref <commit> (\`ferry status ${from}\` shows it).`,
    });
  }
  return runDeployment(io, { projectDir, env: to, kind: 'deploy', promoteFrom: from });
}
