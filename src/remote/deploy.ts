import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { deploymentCall } from '../agent/client.js';
import type { FerryConfig } from '../config/schema.js';
import type { DeployEvent, DeployResult } from '../deploy/events.js';
import { resolveCommit } from '../deploy/source.js';
import type { DeploymentRecord } from '../store/records.js';
import { parseDurationMs } from '../util/duration.js';
import { errorMessage, FerryError, usageError } from '../util/errors.js';
import { RemoteAgent } from './agent.js';
import { outgoingRef, sendCommit } from './code.js';
import { batches, parseHost, remoteRepo, type HostAddress } from './hosts.js';
import { ensureFerry, removeBuilds } from './install.js';
import { SshConnection, type SshCredentials } from './ssh.js';

/** How long ferry keeps trying to reach a host again after the connection dropped mid-deploy. */
const RECONNECT_FOR_MS = 120_000;

export interface HostOutcome {
  host: string;
  outcome: DeployResult['outcome'] | 'unreachable';
  exitCode: number;
  deploymentId: number | null;
  release: string | null;
  ms: number;
  /** What happened besides the deploy itself: ferry installed or upgraded, the connection lost and found again. */
  notes: string[];
  error?: string;
}

export interface RemoteDeployRequest {
  projectDir: string;
  env: string;
  config: FerryConfig;
  kind: 'deploy' | 'rollback';
  ref?: string;
  to?: string;
  /** A promotion: the environment whose serving release each host's agent checks and deploys to `env`. */
  promoteFrom?: string;
  secrets: Record<string, string>;
}

/** The key and known_hosts the connections use: from the named secrets, else ssh-agent and ~/.ssh/known_hosts. */
export function sshCredentials(config: FerryConfig, env: string, shell: NodeJS.ProcessEnv = process.env): SshCredentials {
  const ssh = config.environments[env].ssh;
  const privateKey = shell[ssh.key_secret];
  if (!privateKey && !shell.SSH_AUTH_SOCK) throw usageError('SECRET_MISSING', `no SSH key to reach the hosts of ${env}: ${ssh.key_secret} is not set in this shell, and no ssh-agent runs (SSH_AUTH_SOCK)`, `export ${ssh.key_secret}="$(cat ~/.ssh/deploy_key)" (in CI: a secret), or ssh-add the key; nothing was changed.`);
  if (ssh.known_hosts_secret) {
    const knownHosts = shell[ssh.known_hosts_secret];
    if (!knownHosts) throw usageError('SECRET_MISSING', `${ssh.known_hosts_secret} (the known_hosts of ${env}'s hosts) is not set in this shell`, `Set it to the lines of ssh-keyscan for each host (in CI: a secret); nothing was changed.`);
    return { privateKey, agent: shell.SSH_AUTH_SOCK, knownHosts, knownHostsSource: `the ${ssh.known_hosts_secret} secret` };
  }
  const file = join(shell.HOME ?? homedir(), '.ssh/known_hosts');
  if (!existsSync(file)) throw usageError('HOST_KEY_REFUSED', `${file} does not exist, so no host's key can be checked`, `Add each host's line (ssh-keyscan -p PORT HOST >> ${file}, after checking its fingerprint), or set ssh.known_hosts_secret; nothing was changed.`);
  return { privateKey, agent: shell.SSH_AUTH_SOCK, knownHosts: readFileSync(file, 'utf8'), knownHostsSource: file };
}

/**
 * `ferry deploy` (or rollback) of an environment that runs on hosts: for each host in turn (or `ssh.parallel`
 * at once), over SSH, ferry there (installed or upgraded when its build differs), the commit (a git bundle of
 * what the host lacks), then the deploy by the host's agent with the secrets sent through the connection,
 * its steps streamed back. The first failure stops the run, and the hosts this run already switched are
 * rolled back. A connection that drops mid-deploy leaves the host's deploy to finish (or roll back) by itself;
 * ferry reconnects and reports how it ended.
 */
export async function deployOnHosts(request: RemoteDeployRequest, say: (line: string) => void, onEvent: (say: (line: string) => void, event: DeployEvent) => void): Promise<{ exitCode: number; hosts: HostOutcome[]; rolledBack: string[] }> {
  const settings = request.config.environments[request.env];
  const hosts = settings.hosts.map((text) => parseHost(text)!);
  const credentials = sshCredentials(request.config, request.env);
  const connectTimeoutMs = parseDurationMs(settings.ssh.connect_timeout) ?? 15_000;
  const repo = remoteRepo(settings.ssh.dir, request.config.app);
  // A promotion deploys the commit the host already serves in the source environment: nothing to send.
  const source = request.kind === 'deploy' && !request.promoteFrom ? await resolveCommit(request.projectDir, request.ref) : undefined;
  if (source && !source.fromGit) throw usageError('NOT_A_GIT_REPOSITORY', `deploying to hosts needs a git repository: ${request.projectDir} is not one`, 'Commit the project (git init && git add -A && git commit -m init): the hosts get the commit as a git bundle.');
  const dropRef = source ? await outgoingRef(request.projectDir, source.commit) : async () => undefined;
  const outcomes: HostOutcome[] = [];
  try {
    for (const group of batches(hosts, settings.ssh.parallel)) {
      const results = await Promise.all(group.map((host) => deployHost(host)));
      outcomes.push(...results);
      if (results.some((r) => r.outcome !== 'succeeded')) break;
    }
  } finally {
    await dropRef();
  }
  const failed = outcomes.find((o) => o.outcome !== 'succeeded');
  const rolledBack: string[] = [];
  let exitCode = failed ? Math.max(1, failed.exitCode) : 0;
  if (failed && request.kind === 'deploy') {
    // The hosts this run switched go back, so that every host ends on the release it served before.
    for (const done of outcomes.filter((o) => o.outcome === 'succeeded')) {
      say(`${done.host}: rolling back, because ${failed.host} ${failed.outcome === 'unreachable' ? 'could not be deployed' : `ended ${failed.outcome}`}`);
      const host = hosts.find((h) => h.label === done.host)!;
      try {
        const connection = await SshConnection.connect(host, credentials, connectTimeoutMs);
        try {
          const ferry = await ensureFerry(connection, say);
          const agent = await RemoteAgent.start(connection, ferry.command, repo, ferry.build);
          let result: DeployResult | undefined;
          await agent.stream('/api/rollbacks', { env: request.env }, (event) => {
            const e = event as DeployEvent;
            if (e.type === 'result') result = e.result;
          });
          say(`${done.host}: rollback ${result?.outcome ?? 'ended without a result'}${result?.serving ? `; ${result.serving} serves` : ''}`);
          if (result?.outcome === 'succeeded') rolledBack.push(done.host);
          else exitCode = 3;
        } finally {
          connection.close();
        }
      } catch (error) {
        say(`${done.host}: the rollback failed: ${errorMessage(error)}`);
        exitCode = 3;
      }
    }
  }
  return { exitCode, hosts: outcomes, rolledBack };

  async function deployHost(host: HostAddress): Promise<HostOutcome> {
    const started = Date.now();
    const label = host.label;
    const notes: string[] = [];
    const line = (text: string) => say(`${label}: ${text}`);
    let deploymentId: number | null = null;
    let result: DeployResult | undefined;
    let connection: SshConnection | undefined;
    try {
      connection = await SshConnection.connect(host, credentials, connectTimeoutMs);
      const ferry = await ensureFerry(connection, line);
      if (ferry.action !== 'present') notes.push(`ferry ${ferry.action}: ${ferry.build}`);
      if (source) {
        const bytes = await sendCommit(connection, request.projectDir, source.commit, repo, settings.ssh.git_remote);
        line(bytes ? `sent commit ${source.commit.slice(0, 12)} (${(bytes / 1024).toFixed(0)} KiB bundle)` : settings.ssh.git_remote ? `has commit ${source.commit.slice(0, 12)} (fetched from ${settings.ssh.git_remote} if it lacked it)` : `has commit ${source.commit.slice(0, 12)} already`);
      }
      const agent = await RemoteAgent.start(connection, ferry.command, repo, ferry.build);
      await removeBuilds(connection, ferry.previous);
      const [path, body] = deploymentCall({ ...request, ref: source?.commit });
      try {
        await agent.stream(path, body, (event) => {
          const e = event as DeployEvent;
          if (e.type === 'deployment') deploymentId = e.deploymentId;
          if (e.type === 'result') result = e.result;
          onEvent(line, e);
        });
      } catch (error) {
        if (deploymentId === null || result) throw error;
        // The deploy runs on the host's agent, not in this connection: it goes on (or rolls back) by itself.
        line(`the connection dropped during ${request.kind} #${deploymentId} (${errorMessage(error)}); it goes on on the host; reconnecting…`);
        notes.push(`connection lost during #${deploymentId}; outcome read after reconnecting`);
        connection.close();
        const found = await reconnectAndWait(host, ferry.command, ferry.build, deploymentId, line);
        connection = found.connection;
        result = found.result;
      }
    } catch (error) {
      line(`failed: ${errorMessage(error)}`);
      connection?.close();
      return { host: label, outcome: 'unreachable', exitCode: error instanceof FerryError ? error.exitCode : 3, deploymentId, release: null, ms: Date.now() - started, notes, error: errorMessage(error) };
    }
    connection.close();
    const ms = Date.now() - started;
    line(`${request.kind} ${result?.outcome ?? 'ended without a result'} in ${(ms / 1000).toFixed(1)} s${result?.serving ? `; ${result.serving} serves` : ''}`);
    return { host: label, outcome: result?.outcome ?? 'failed', exitCode: result?.exitCode ?? 3, deploymentId, release: result?.release ?? null, ms, notes };
  }

  async function reconnectAndWait(host: HostAddress, ferry: string, build: string, deploymentId: number, line: (text: string) => void): Promise<{ connection: SshConnection; result: DeployResult }> {
    const deadline = Date.now() + RECONNECT_FOR_MS;
    let lastError = '';
    while (Date.now() < deadline) {
      let connection: SshConnection | undefined;
      try {
        connection = await SshConnection.connect(host, credentials, connectTimeoutMs);
        const agent = await RemoteAgent.start(connection, ferry, repo, build);
        for (;;) {
          const deployment = await agent.json<DeploymentRecord>('GET', `/api/deployments/${deploymentId}`);
          if (deployment.state !== 'running') {
            line(`reconnected: ${deployment.kind} #${deploymentId} ended ${deployment.state} on the host`);
            const outcome = deployment.state as DeployResult['outcome'];
            return { connection, result: { deploymentId, env: request.env, kind: deployment.kind as DeployResult['kind'], outcome, exitCode: (deployment.exitCode ?? (outcome === 'succeeded' ? 0 : 1)) as DeployResult['exitCode'], release: deployment.releaseId, commit: deployment.release?.commit ?? null, previousRelease: deployment.previousReleaseId, serving: outcome === 'succeeded' ? deployment.releaseId : deployment.previousReleaseId, error: deployment.error ?? undefined, timings: {} as DeployResult['timings'] } };
          }
          await sleep(500);
        }
      } catch (error) {
        connection?.close();
        lastError = errorMessage(error);
        await sleep(1000);
      }
    }
    throw new FerryError({ code: 'SSH_FAILED', message: `${host.label} could not be reached again within ${RECONNECT_FOR_MS / 1000} s to learn how ${request.kind} #${deploymentId} ended (${lastError})`, hint: `Its agent finishes or rolls back the deploy by itself: check with ferry status once the host is reachable.` });
  }
}
