import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/util/ports.js';
import { sleep } from '../../src/util/sleep.js';

export interface TestSshd {
  port: number;
  /** `[127.0.0.1]:port <type> <key>`: the host's known_hosts line. */
  knownHostsLine: string;
  /** The client's private key (OpenSSH format), authorized on the host. */
  privateKey: string;
  /** What the host's sessions get as FERRY_HOME and XDG_STATE_HOME: ferry's builds and the host's state live there. */
  ferryHome: string;
  stateHome: string;
  /** Kills the daemon and every session it runs (a connection that drops). */
  dropConnections(): void;
  /** Starts the daemon again after dropConnections (the host comes back). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * OpenSSH's sshd on a loopback port, as a host ferry deploys to: its own host key, a client key authorized
 * for the user running the tests, and FERRY_HOME / XDG_STATE_HOME set per session so each test host keeps
 * its ferry builds and its state apart.
 */
export async function startSshd(): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
  keygen('host_key');
  keygen('client_key');
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const ferryHome = join(dir, 'ferry-home');
  const stateHome = join(dir, 'state');
  mkdirSync(ferryHome, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      `SetEnv FERRY_HOME=${ferryHome} XDG_STATE_HOME=${stateHome}`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let daemon: ChildProcess;
  const launch = async () => {
    daemon = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    daemon.stderr!.on('data', (c) => (said += c));
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
      if (up) break;
      if (i > 100 || daemon.exitCode !== null) throw new Error(`sshd did not start: ${said}`);
      await sleep(50);
    }
  };
  await launch();
  const [type, key] = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(/\s+/);
  const killAll = () => {
    // The daemon and its per-connection children (sshd forks one per session).
    try {
      execFileSync('pkill', ['-KILL', '-P', String(daemon.pid)]);
    } catch {
      // no session open
    }
    daemon.kill('SIGKILL');
  };
  return {
    port,
    knownHostsLine: `[127.0.0.1]:${port} ${type} ${key}`,
    privateKey: readFileSync(join(dir, 'client_key'), 'utf8'),
    ferryHome,
    stateHome,
    dropConnections: killAll,
    restart: launch,
    async stop() {
      killAll();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
