import { environmentOf, loadConfig } from '../config/load.js';
import type { EnvironmentStatus } from '../agent/status.js';
import { hostAgent, hostsOf, serveTunnel } from '../remote/tunnel.js';
import { errorMessage } from '../util/errors.js';
import { printStatus, progress, type Io } from './output.js';

/**
 * `ferry tunnel <env> [--host H] [--port N]`: the dashboard and API of a host's agent on a local port, through
 * SSH (the agent listens on the host's loopback only). Runs until Ctrl-C.
 */
export async function tunnel(io: Io, projectDir: string, env: string, options: { host?: string; port?: number; token?: boolean }): Promise<number> {
  const config = loadConfig(projectDir);
  environmentOf(config, env);
  const [host] = hostsOf(config, env, options.host);
  const { connection, agent } = await hostAgent(config, env, host);
  const server = await serveTunnel(connection, agent.port, options.port ?? 0);
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}`;
  if (io.json) io.out(JSON.stringify({ env, host: host.label, url, dashboard: `${url}/`, remotePort: agent.port, ...(options.token ? { token: agent.token } : {}) }));
  else {
    progress(io)(`${env} on ${host.label}: its agent's dashboard and API at ${url}/ (through SSH; Ctrl-C closes it)`);
    progress(io)(options.token ? "sign in with the host's admin token (on stdout)" : `sign in with the host's token: ferry tunnel ${env} --token prints it`);
    if (options.token) io.out(agent.token);
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    void connection.closed().then(() => {
      progress(io)(`the SSH connection to ${host.label} closed`);
      resolve();
    });
  });
  server.close();
  connection.close();
  return 0;
}

/** `ferry status <env>` of an environment on hosts: each host's status, read from its agent through SSH. */
export async function hostStatus(io: Io, projectDir: string, env: string, only?: string): Promise<number> {
  const config = loadConfig(projectDir);
  const results: Array<{ host: string; environments?: EnvironmentStatus[]; error?: string }> = [];
  for (const host of hostsOf(config, env, only)) {
    try {
      const { connection, agent } = await hostAgent(config, env, host);
      try {
        results.push({ host: host.label, environments: (await agent.json<{ environments: EnvironmentStatus[] }>('GET', `/api/status?env=${encodeURIComponent(env)}`)).environments });
      } finally {
        connection.close();
      }
    } catch (error) {
      results.push({ host: host.label, error: errorMessage(error) });
    }
  }
  if (io.json) io.out(JSON.stringify({ env, hosts: results }, null, 2));
  else {
    for (const result of results) {
      io.out(`── ${result.host}`);
      if (result.error) io.out(`  unreachable: ${result.error}`);
      else printStatus(io, result.environments!);
    }
  }
  return results.some((r) => r.error) ? 1 : 0;
}
