import net from 'node:net';
import type { FerryConfig } from '../config/schema.js';
import { parseDurationMs } from '../util/duration.js';
import { FerryError, usageError } from '../util/errors.js';
import { RemoteAgent } from './agent.js';
import { sshCredentials } from './deploy.js';
import { parseHost, remoteRepo, type HostAddress } from './hosts.js';
import { ferryBuild } from '../shared/build-info.js';
import { completeBuilds, REMOTE_FERRY_DIR } from './install.js';
import { SshConnection } from './ssh.js';

/** The hosts of an environment, or the one named (`user@host[:port]` as in ferry.yml). */
export function hostsOf(config: FerryConfig, env: string, only?: string): HostAddress[] {
  const hosts = config.environments[env].hosts.map((text) => parseHost(text)!);
  if (hosts.length === 0) throw usageError('USAGE', `${env} names no hosts: it runs on this machine`, `Use the command without a host (ferry status ${env}).`);
  if (!only) return hosts;
  const host = hosts.find((h) => h.label === only || h.host === only);
  if (!host) throw usageError('USAGE', `${only} is not one of ${env}'s hosts (${hosts.map((h) => h.label).join(', ')})`);
  return [host];
}

/**
 * The agent of an environment's project on a host, through SSH: the ferry there (this build if the host has
 * it, else its newest) starts it if it does not run. Nothing is installed: a host never deployed to says so.
 */
export async function hostAgent(config: FerryConfig, env: string, host: HostAddress): Promise<{ connection: SshConnection; agent: RemoteAgent }> {
  const { connection, ferry, project } = await hostFerry(config, env, host);
  try {
    return { connection, agent: await RemoteAgent.start(connection, ferry, project) };
  } catch (error) {
    connection.close();
    throw error;
  }
}

/** A connection to a host, the command of the ferry there (this build if it has it, else its newest) and the project's folder there. */
export async function hostFerry(config: FerryConfig, env: string, host: HostAddress): Promise<{ connection: SshConnection; ferry: string; project: string }> {
  const settings = config.environments[env];
  const connection = await SshConnection.connect(host, sshCredentials(config, env), parseDurationMs(settings.ssh.connect_timeout) ?? 15_000);
  const builds = completeBuilds((await connection.exec(`ls -t ${REMOTE_FERRY_DIR} 2>/dev/null`)).stdout.split('\n'));
  const build = builds.includes(ferryBuild()) ? ferryBuild() : builds[0];
  if (!build) {
    connection.close();
    throw new FerryError({ code: 'REMOTE_COMMAND_FAILED', message: `ferry is not on ${host.label}: nothing was deployed there yet`, hint: `Deploy first: ferry deploy ${env}.` });
  }
  return { connection, ferry: `node ${REMOTE_FERRY_DIR}/${build}/bin/ferry.js`, project: remoteRepo(settings.ssh.dir, config.app) };
}

/** A local port whose connections go, through the SSH connection, to the host agent's loopback port. */
export function serveTunnel(connection: SshConnection, remotePort: number, localPort: number): Promise<net.Server> {
  const server = net.createServer((socket) => {
    socket.pause();
    connection.forward(remotePort).then(
      (stream) => {
        socket.pipe(stream).pipe(socket);
        socket.resume();
        stream.on('error', () => socket.destroy());
        socket.on('error', () => stream.destroy());
      },
      () => socket.destroy(),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(localPort, '127.0.0.1', () => resolve(server));
  });
}
