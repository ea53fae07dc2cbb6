import { environmentOf, loadConfig } from '../config/load.js';
import { webhookSigningSecret } from '../config/schema.js';
import type { DeployEvent, DeployResult } from '../deploy/events.js';
import { FerryError } from '../util/errors.js';
import { agentStream, deploymentCall, ensureAgent } from '../agent/client.js';
import { describeResult, printDeployEvent, progress, type Io } from './output.js';
import type { RemoteDeployRequest } from '../remote/deploy.js';

/** Secret values the environment names, read from this (the deploying) shell. */
function collectSecrets(env: ReturnType<typeof environmentOf>): Record<string, string> {
  const names = [...env.secrets, ...[env.notify.webhook_secret_env, env.registry?.password_env, env.database?.url_secret].filter((name): name is string => Boolean(name))];
  return Object.fromEntries(names.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]!]));
}

/**
 * `ferry deploy`, `ferry rollback` and `ferry promote` (a deploy with `promoteFrom`, the source environment):
 * validate locally, then stream the agent's deployment. A promotion's smoke checks run in the agent that runs
 * the source environment (this machine's, or each host's), the same path the dashboard's promote takes.
 */
export async function runDeployment(io: Io, options: { projectDir: string; env: string; kind: 'deploy' | 'rollback'; ref?: string; to?: string; promoteFrom?: string; here?: boolean }): Promise<number> {
  const config = loadConfig(options.projectDir);
  const env = environmentOf(config, options.env);
  const secrets = collectSecrets(env);
  // A deploy also needs the webhook's signing secret: ferry never sends unsigned a webhook that promises a signature.
  // A rollback goes ahead without it (no webhook is sent, and it says so): nothing should stand in its way.
  const signing = webhookSigningSecret(env.notify);
  const missing = options.kind === 'deploy' ? [...env.secrets, ...(signing && !env.secrets.includes(signing) ? [signing] : [])].filter((name) => secrets[name] === undefined) : [];
  if (missing.length) {
    throw new FerryError({ code: 'SECRET_MISSING', message: `secrets of ${options.env} are not set in this shell: ${missing.join(', ')}`, hint: `export ${missing[0]}=... and deploy again; values go to the release's .env (0600) only.` });
  }
  const say = progress(io);
  if (env.hosts.length > 0 && !options.here) return deployToHosts(io, { ...options, config, secrets }, say);
  const agent = await ensureAgent(options.projectDir, say);
  let result: DeployResult | undefined;
  const [path, body] = deploymentCall({ ...options, secrets });
  try {
    await agentStream(agent, path, body, (event: DeployEvent) => {
      if (event.type === 'result') result = event.result;
      printDeployEvent(say, event);
    });
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError({ code: 'AGENT_LOST', message: `lost the connection to the agent during the ${options.kind}: ${(error as Error).message}`, hint: `The agent reconciles interrupted deployments when it restarts; check \`ferry status ${options.env}\`.` });
  }
  if (!result) throw new FerryError({ code: 'AGENT_LOST', message: `the agent ended the ${options.kind} stream without a result`, hint: `Check \`ferry status ${options.env}\` and \`ferry history ${options.env}\`.` });
  if (io.json) io.out(JSON.stringify(result, null, 2));
  else io.out(describeResult(result));
  return result.exitCode;
}

/** A deploy or rollback of an environment that runs on hosts (`hosts:`): over SSH, host after host. */
async function deployToHosts(io: Io, request: RemoteDeployRequest, say: (text: string) => void): Promise<number> {
  // SSH (ssh2) is loaded only for an environment on hosts: a local deploy does not wait on it.
  const { deployOnHosts } = await import('../remote/deploy.js');
  const { exitCode, hosts, rolledBack } = await deployOnHosts(request, say, printDeployEvent);
  if (io.json) {
    io.out(JSON.stringify({ env: request.env, kind: request.kind, exitCode, hosts, rolledBack }, null, 2));
    return exitCode;
  }
  for (const host of hosts) io.out(`${host.host}: ${request.kind} ${host.outcome}${host.release ? ` (${host.release})` : ''} in ${(host.ms / 1000).toFixed(1)} s${host.notes.length ? `; ${host.notes.join('; ')}` : ''}`);
  if (rolledBack.length) io.out(`rolled back on ${rolledBack.join(', ')}: every host this run switched serves its previous release again (exit ${exitCode})`);
  return exitCode;
}
