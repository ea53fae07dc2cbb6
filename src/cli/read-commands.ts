import { environmentOf, loadConfig } from '../config/load.js';
import type { EnvironmentStatus } from '../agent/status.js';
import type { DeploymentRecord } from '../store/records.js';
import { agentGet, ensureAgent } from './agent-client.js';
import { printHistory, printStatus, progress, type Io } from './output.js';

async function connect(io: Io, projectDir: string, env?: string) {
  const config = loadConfig(projectDir);
  if (env) environmentOf(config, env);
  return ensureAgent(projectDir, progress(io));
}

export async function status(io: Io, projectDir: string, env?: string): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const body = await agentGet<{ app: string; state: { dir: string; note: string | null; notes: string[] }; environments: EnvironmentStatus[] }>(agent, `/api/status${env ? `?env=${encodeURIComponent(env)}` : ''}`);
  if (io.json) io.out(JSON.stringify(body, null, 2));
  else {
    printStatus(io, body.environments);
    io.out(`state: ${body.state.dir}`);
    for (const note of [body.state.note, ...body.state.notes]) if (note) io.out(`  note: ${note}`);
  }
  return 0;
}

export async function history(io: Io, projectDir: string, env: string | undefined, limit: number): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const params = new URLSearchParams({ limit: String(limit), ...(env ? { env } : {}) });
  const body = await agentGet<{ deployments: DeploymentRecord[] }>(agent, `/api/deployments?${params}`);
  if (io.json) io.out(JSON.stringify(body, null, 2));
  else printHistory(io, body.deployments);
  return 0;
}

export async function logs(io: Io, projectDir: string, env: string, release: string | undefined, lines: number): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const params = new URLSearchParams({ env, lines: String(lines), ...(release ? { release } : {}) });
  const body = await agentGet<{ release: string | null; instances: Array<{ id: string; state: string; lines: string[] }> }>(agent, `/api/logs?${params}`);
  if (io.json) return io.out(JSON.stringify(body, null, 2)), 0;
  if (body.instances.length === 0) io.out(`no instances${body.release ? ` of ${body.release}` : ''} in ${env}`);
  for (const instance of body.instances) {
    io.out(`==> ${instance.id} (${instance.state}) <==`);
    for (const line of instance.lines) io.out(line);
  }
  return 0;
}
