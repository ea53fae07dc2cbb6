import type { Duplex, Readable } from 'node:stream';
import { Client, type ConnectConfig } from 'ssh2';
import { FerryError } from '../util/errors.js';
import { checkHostKey, fingerprint, knownHostName, parseKnownHosts } from './known-hosts.js';
import type { HostAddress } from './hosts.js';

export interface SshCredentials {
  /** PEM or OpenSSH private key text (from the named secret); else `agent`. */
  privateKey?: string;
  /** ssh-agent's socket (SSH_AUTH_SOCK), when there is no key. */
  agent?: string;
  /** known_hosts text the host's key must be listed in. */
  knownHosts: string;
  /** Where that text came from, for messages. */
  knownHostsSource: string;
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** An SSH connection to one host (ssh2): commands, and TCP streams to its loopback. */
export class SshConnection {
  private constructor(private readonly client: Client, readonly address: HostAddress) {}

  /** Connects and authenticates; the host's key must be in known_hosts, or nothing is sent. */
  static connect(address: HostAddress, credentials: SshCredentials, connectTimeoutMs: number): Promise<SshConnection> {
    const entries = parseKnownHosts(credentials.knownHosts);
    let refused: FerryError | undefined;
    return new Promise((resolve, reject) => {
      const client = new Client();
      const config: ConnectConfig = {
        host: address.host,
        port: address.port,
        username: address.user,
        readyTimeout: connectTimeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 3,
        privateKey: credentials.privateKey,
        agent: credentials.privateKey ? undefined : credentials.agent,
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(entries, address.host, address.port, key);
          if (verdict.ok) return true;
          const name = knownHostName(address.host, address.port);
          refused = new FerryError({
            code: 'HOST_KEY_REFUSED',
            message:
              verdict.reason === 'mismatch'
                ? `the host key of ${address.label} (${fingerprint(key)}) is not the one ${credentials.knownHostsSource} lists for ${name} (${verdict.known.join(', ')}): it changed, or someone is in between; nothing was sent`
                : verdict.reason === 'revoked'
                  ? `the host key of ${address.label} (${fingerprint(key)}) is revoked in ${credentials.knownHostsSource}; nothing was sent`
                  : `${credentials.knownHostsSource} lists no key for ${name} (it offered ${fingerprint(key)}); nothing was sent`,
            hint: `Check the fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then add its line to ${credentials.knownHostsSource}: ssh-keyscan -p ${address.port} ${address.host}`,
          });
          return false;
        },
      };
      client.once('ready', () => resolve(new SshConnection(client, address)));
      // Every error, not only the first: ssh2 can emit a second one (a handshake timeout, then "Connection lost
      // before handshake"), and an 'error' event without a listener ends the process. Before 'ready' the first
      // rejects the connect (later ones find it settled); after it, the session's calls fail on their own.
      client.on('error', (error) => {
        reject(
          refused ??
            new FerryError({
              code: 'SSH_FAILED',
              message: `cannot reach ${address.label} over SSH: ${error.message}`,
              hint: (error as { level?: string }).level === 'client-authentication' ? `The key was refused: is its public half in ~${address.user}/.ssh/authorized_keys on the host?` : 'Is the host up, and its SSH port open to this machine?',
            }),
        );
      });
      client.connect(config);
    });
  }

  /** Runs a command (words already quoted for the remote shell); stdin, if given, is written and closed. */
  exec(command: string, stdin?: string | Readable): Promise<ExecResult> {
    return new Promise((resolve, reject) => {
      this.client.exec(command, (error, channel) => {
        if (error) return reject(this.lost(error));
        let stdout = '';
        let stderr = '';
        channel.on('data', (chunk: Buffer) => (stdout += chunk));
        channel.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
        channel.once('close', (code: number | null) => resolve({ code, stdout, stderr }));
        if (stdin === undefined) channel.end();
        else if (typeof stdin === 'string') channel.end(stdin);
        else stdin.pipe(channel);
      });
    });
  }

  /** Like exec, but a non-zero exit is an error that says what the host said. */
  async run(command: string, what: string, stdin?: string | Readable): Promise<string> {
    const result = await this.exec(command, stdin);
    if (result.code !== 0) throw new FerryError({ code: 'REMOTE_COMMAND_FAILED', message: `${what} on ${this.address.label} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim().split('\n').slice(-5).join(' | ')}` });
    return result.stdout;
  }

  /** A TCP stream to a port on the host's loopback (the agent's API never listens on the network). */
  forward(port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => this.client.forwardOut('127.0.0.1', 0, '127.0.0.1', port, (error, stream) => (error ? reject(this.lost(error)) : resolve(stream))));
  }

  /** Resolves when the connection closes (dropped, or closed). */
  closed(): Promise<void> {
    return new Promise((resolve) => this.client.once('close', () => resolve()));
  }

  close(): void {
    this.client.end();
  }

  private lost(error: Error): FerryError {
    return new FerryError({ code: 'SSH_FAILED', message: `the SSH connection to ${this.address.label} failed: ${error.message}` });
  }
}
