import type { startAgent } from '../agent/agent.js';
import { statePaths } from '../state/paths.js';
import { RouterClient } from '../router/client.js';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { agentPost, findAgent, spawnAgentProcess, spawnDetachedAgent } from '../agent/client.js';
import { progress, type Io } from './output.js';
import { FerryError } from '../util/errors.js';

function describeAgent(io: Io, info: { pid: number; url: string }, projectDir: string): void {
  const say = progress(io);
  if (io.json) return io.out(JSON.stringify({ pid: info.pid, url: info.url, statusPage: info.url + '/', api: info.url + '/api', tokenFile: statePaths(projectDir).agentInfo }));
  say(`ferry agent (pid ${info.pid})`);
  say(`  dashboard    ${info.url}/ (sign in with \`ferry token\`)`);
  say(`  API          ${info.url}/api (bearer token: \`ferry token\`)`);
}

/** `ferry agent [--detach]`: run the control plane, starting the data plane if it is not running. */
export async function agentStart(io: Io, projectDir: string, options: { detach: boolean; port?: number; serve?: boolean }): Promise<number> {
  (await import('../config/load.js')).loadConfig(projectDir);
  const running = await findAgent(projectDir);
  if (running) {
    progress(io)(`an agent is already running for ${projectDir}`);
    describeAgent(io, running, projectDir);
    return 0;
  }
  if (options.detach) {
    describeAgent(io, await spawnDetachedAgent(projectDir, { port: options.port }), projectDir);
    return 0;
  }
  if (!options.serve) return foregroundAgent(io, projectDir, options.port);
  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    // The agent's own code (server, deploy engine, runtimes, metrics) is loaded by the process that serves
    // only, as ferry.yml's schema is by the commands that check it: `ferry agent stop` needs neither.
    agent = await (await import('../agent/agent.js')).startAgent({ projectDir, port: options.port });
  } catch (error) {
    // Started at the same moment as another (several ferry commands at once): that one serves; nothing to do here.
    if (!(error instanceof FerryError && error.code === 'AGENT_ALREADY_RUNNING')) throw error;
    progress(io)(`${error.message}: ferry uses that one`);
    return 0;
  }
  // The last net under every background loop (each catches its own): a rejection nobody handled is logged, and
  // the agent keeps running, rather than cutting a deployment in flight.
  process.on('unhandledRejection', (reason) => progress(io)(`error: an unhandled failure in the agent (it keeps running): ${reason instanceof Error ? (reason.stack ?? reason.message) : String(reason)}`));
  for (const warning of agent.warnings) progress(io)(`warning: ${warning}`);
  describeAgent(io, agent.info, projectDir);
  for (const r of agent.reconciled) progress(io)(`  reconciled interrupted deployment #${r.deploymentId} of ${r.env} (at ${r.interruptedAt}): ${r.outcome}`);
  const stop = () => void agent.close({ stopRouter: false });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await agent.stopped;
  return 0;
}

/**
 * `ferry agent` in the foreground: the agent runs as a child with a scrubbed environment (this shell's
 * variables stay here), its output shown here; Ctrl-C stops it (the router keeps serving).
 */
async function foregroundAgent(io: Io, projectDir: string, port: number | undefined): Promise<number> {
  const child = spawnAgentProcess(projectDir, { port, output: 'inherit', json: io.json });
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? (signal ? 0 : 3))));
  const stop = () => child.kill('SIGTERM');
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return exited;
}

/** `ferry agent stop`: stop the agent, the router and the instances. */
export async function agentStop(io: Io, projectDir: string): Promise<number> {
  const say = progress(io);
  const agent = await findAgent(projectDir);
  const router = new RouterClient(statePaths(projectDir).root);
  const routerPid = (await router.isUp()) ? (await router.state()).pid : undefined;
  if (agent) await agentPost(agent, '/api/shutdown', { stopRouter: true });
  else if (routerPid) await router.shutdown(true);
  const pids = [agent?.pid, routerPid].filter((p): p is number => p !== undefined);
  const deadline = Date.now() + 30_000;
  while (pids.some(isProcessAlive) && Date.now() < deadline) await sleep(50);
  const result = { agentStopped: agent?.pid ?? null, routerStopped: routerPid ?? null };
  if (io.json) io.out(JSON.stringify(result));
  else say(agent || routerPid ? `stopped${agent ? ` agent (pid ${agent.pid})` : ''}${routerPid ? ` router (pid ${routerPid}) and its instances` : ''}` : 'no agent or router was running');
  return 0;
}
