import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { freePort } from '../../src/util/ports.js';
import { sleep } from '../../src/util/sleep.js';

export interface TestSshd {
  port: number;
  /** `[127.0.0.1]:port <type> <key>`: the host's known_hosts line. */
  knownHostsLine: string;
  /** The client's private key (OpenSSH format), authorized on the host, and its public half. */
  privateKey: string;
  publicKey: string;
  /** The host's address (127.0.0.1, or its address in the network namespace the test made). */
  address: string;
  /** The home its sessions get (HOME): ferry's builds, the project and the host's state live under it. */
  home: string;
  /** Runs a command on the host's network (inside its namespace, if it has one). */
  inHost(file: string, args: string[]): [string, string[]];
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
export async function startSshd(options: { namespace?: { name: string; address: string }; /** Another client's public key to authorize too (one deploy key for several hosts). */ authorize?: string } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-sshd-'));
  const address = options.namespace?.address ?? '127.0.0.1';
  const inHost = (file: string, args: string[]): [string, string[]] => (options.namespace ? ['ip', ['netns', 'exec', options.namespace.name, file, ...args]] : [file, args]);
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, file)]);
  keygen('host_key');
  keygen('client_key');
  writeFileSync(join(dir, 'authorized_keys'), `${readFileSync(join(dir, 'client_key.pub'), 'utf8').trim()}\n${options.authorize ?? ''}\n`);
  const home = join(dir, 'home');
  mkdirSync(home, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const port = options.namespace ? 22 : await freePort();
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      `ListenAddress ${address}`,
      `HostKey ${join(dir, 'host_key')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      'UsePAM no',
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'AllowTcpForwarding yes',
      // The host runs the Node the tests run on (ferry copies its native modules as built for it).
      `SetEnv HOME=${home} PATH=${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let daemon: ChildProcess;
  const launch = async () => {
    const [file, args] = inHost('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')]);
    daemon = spawn(file, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    daemon.stderr!.on('data', (c) => (said += c));
    for (let i = 0; ; i++) {
      const up = await new Promise<boolean>((resolve) => net.connect(port, address).once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
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
    knownHostsLine: `${port === 22 ? address : `[${address}]:${port}`} ${type} ${key}`,
    privateKey: readFileSync(join(dir, 'client_key'), 'utf8'),
    publicKey: readFileSync(join(dir, 'client_key.pub'), 'utf8').trim(),
    address,
    home,
    inHost,
    dropConnections: killAll,
    restart: launch,
    async stop() {
      killAll();
      // What ferry left running on the host (an agent or router a failed `agent stop` did not end) would keep
      // writing into the folder: every process working in it or started from it ends first.
      killProcessesUnder(dir);
      // The host's ferry may still be writing its last lines as it exits: retry a folder that was not empty yet.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
    },
  };
}

/** SIGKILLs every process whose working folder is under dir or whose command line names it. */
function killProcessesUnder(dir: string): void {
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`);
      const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cwd === dir || cwd.startsWith(`${dir}/`) || command.includes(dir)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone already, or not ours to read
    }
  }
}
