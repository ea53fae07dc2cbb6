import { mayNameHosts, peekConfig } from '../config/peek.js';
import type { EnvironmentStatus } from '../agent/status.js';
import type { DeploymentRecord } from '../store/records.js';
import type { AgentInfo } from '../agent/agent.js';
import type { FerryConfig } from '../config/schema.js';
import { agentGet, agentGetStream, ensureAgent, findAgent } from '../agent/client.js';
import { printHistory, printStatus, progress, type Io } from './output.js';

/**
 * The agent to ask about an environment: this machine's (started if none runs), or, for an environment on
 * hosts, its first host's (FERRY_HOST names another) through an SSH tunnel that lives as long as the command.
 * ferry.yml is only peeked at here: the agent checks it and the environment's name (exit 2 when wrong), and
 * the hosts path validates it in full; so a read-only command loads neither zod nor ssh2 on this machine.
 */
export async function connect(io: Io, projectDir: string, env?: string): Promise<AgentInfo> {
  const config = env ? await configOnHosts(projectDir, env) : undefined;
  if (!env || !config) return localAgent(io, projectDir);
  const { hostAgent, hostsOf, serveTunnel } = await import('../remote/tunnel.js');
  const [host] = hostsOf(config, env, process.env.FERRY_HOST || undefined);
  const { connection, agent } = await hostAgent(config, env, host);
  const server = await serveTunnel(connection, agent.port, 0);
  const port = (server.address() as { port: number }).port;
  progress(io)(`${env} runs on hosts: asking the agent on ${host.label} through SSH${config.environments[env].hosts.length > 1 && !process.env.FERRY_HOST ? ' (the first host; FERRY_HOST=<user@host> for another)' : ''}`);
  return { pid: 0, url: `http://127.0.0.1:${port}`, port, token: agent.token, projectDir, routerPid: 0 };
}

/** The validated config when the environment runs on hosts; undefined (nothing loaded but a peek) when it does not. */
async function configOnHosts(projectDir: string, env: string): Promise<FerryConfig | undefined> {
  if (!mayNameHosts(peekConfig(projectDir), env)) return undefined;
  const { environmentOf, loadConfig } = await import('../config/load.js');
  const config = loadConfig(projectDir);
  return environmentOf(config, env).hosts.length > 0 ? config : undefined;
}

/** This machine's agent; while one starts, ferry.yml is validated here, so that its problems are a usage error (exit 2) and not a failed start. */
async function localAgent(io: Io, projectDir: string): Promise<AgentInfo> {
  const running = await findAgent(projectDir);
  if (running) return running;
  return ensureAgent(projectDir, progress(io), { whileStarting: async () => (await import('../config/load.js')).loadConfig(projectDir) });
}

export async function status(io: Io, projectDir: string, env?: string, options: { host?: string; here?: boolean } = {}): Promise<number> {
  // An environment on hosts: each host's agent says, through SSH.
  if (env && !options.here && (await configOnHosts(projectDir, env))) return (await import('./hosts.js')).hostStatus(io, projectDir, env, options.host);
  // Not on hosts, or asked about this machine: this machine's agent (the agent checks the environment's name).
  const agent = await localAgent(io, projectDir);
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

export interface LogsOptions {
  release?: string;
  lines: number;
  follow?: boolean;
  timestamps?: boolean;
}

/** A time column: the recorded time, or a dash where the runtime records none (the process runtime's earlier lines). */
const stamp = (at: string | null | undefined) => `${at ?? '-'.padEnd(24)} `;

export async function logs(io: Io, projectDir: string, env: string, options: LogsOptions): Promise<number> {
  const agent = await connect(io, projectDir, env);
  const params = new URLSearchParams({ env, lines: String(options.lines), ...(options.release ? { release: options.release } : {}) });
  if (options.follow) return followLogs(io, agent, env, params, options);
  const body = await agentGet<{ release: string | null; instances: Array<{ id: string; state: string; lines: string[]; at: Array<string | null> }> }>(agent, `/api/logs?${params}`);
  if (io.json) return io.out(JSON.stringify(body, null, 2)), 0;
  if (body.instances.length === 0) io.out(`no instances${body.release ? ` of ${body.release}` : ''} in ${env}`);
  for (const instance of body.instances) {
    io.out(`==> ${instance.id} (${instance.state}) <==`);
    instance.lines.forEach((line, i) => io.out(options.timestamps ? stamp(instance.at[i]) + line : line));
  }
  return 0;
}

/** Prints the agent's log stream until Ctrl-C (or the agent stops): `instance | line`, instances announced as they come and go. */
async function followLogs(io: Io, agent: AgentInfo, env: string, params: URLSearchParams, options: LogsOptions): Promise<number> {
  params.set('follow', '1');
  const say = progress(io);
  say(`following ${env}${options.release ? `'s ${options.release}` : ' (what serves, across deploys)'}; Ctrl-C stops`);
  await agentGetStream(agent, `/api/logs?${params}`, (record: { event?: 'attached' | 'detached'; instance: string; release?: string; at?: string | null; line?: string }) => {
    if (io.json) return void io.out(JSON.stringify(record));
    if (record.event === 'attached') return say(`==> ${record.instance} (${record.release}) attached <==`);
    if (record.event === 'detached') return say(`==> ${record.instance} detached (it exited) <==`);
    io.out(`${options.timestamps ? stamp(record.at) : ''}${record.instance} | ${record.line}`);
  });
  say('the agent ended the stream (it stopped)');
  return 0;
}
