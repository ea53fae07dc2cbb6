import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { sleep } from '../../src/util/sleep.js';

/**
 * A Docker engine of the test's own (socket, data root, bridge), so a test can stop and restart an engine
 * without disturbing the tests that share the machine's engine. Needs root, dockerd and iproute2.
 */
export interface PrivateEngine {
  /** For DOCKER_HOST. */
  host: string;
  docker: Docker;
  /** SIGTERM and wait, as `systemctl restart docker` does (containers stop: no live-restore). */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
  log(): string;
}

export function canRunPrivateEngine(): boolean {
  return process.getuid?.() === 0 && ['/usr/sbin/dockerd', '/usr/bin/dockerd'].some(existsSync) && ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip'].some(existsSync);
}

export async function startPrivateEngine(startTimeoutMs = 60_000): Promise<PrivateEngine> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-engine-'));
  const suffix = dir.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, '0');
  const bridge = `ferry${suffix}`;
  const subnet = `10.213.${1 + Math.floor(Math.random() * 250)}`;
  execFileSync('ip', ['link', 'add', bridge, 'type', 'bridge']);
  execFileSync('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', bridge]);
  execFileSync('ip', ['link', 'set', bridge, 'up']);
  const socket = join(dir, 'docker.sock');
  const args = [
    `--host=unix://${socket}`, `--data-root=${join(dir, 'data')}`, `--exec-root=${join(dir, 'exec')}`, `--pidfile=${join(dir, 'docker.pid')}`,
    '--storage-driver=vfs', `--bridge=${bridge}`, '--iptables=false', '--ip6tables=false', '--ip-masq=false',
    `--containerd-namespace=${bridge}`, `--containerd-plugins-namespace=${bridge}-plugins`,
  ];
  const logFile = join(dir, 'dockerd.log');
  const docker = new Docker({ socketPath: socket });
  let daemon: ChildProcess | undefined;

  const start = async () => {
    const out = openSync(logFile, 'a');
    daemon = spawn('dockerd', args, { stdio: ['ignore', out, out] });
    const deadline = Date.now() + startTimeoutMs;
    while (Date.now() < deadline) {
      if (await docker.ping().then(() => true, () => false)) return;
      if (daemon.exitCode !== null) break;
      await sleep(200);
    }
    throw new Error(`the test's dockerd did not answer within ${startTimeoutMs}ms; its log:\n${readFileSync(logFile, 'utf8').split('\n').slice(-20).join('\n')}`);
  };
  const stop = async () => {
    const child = daemon;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000).then(() => child.kill('SIGKILL'))]);
    await exited;
  };
  await start();
  return {
    host: `unix://${socket}`,
    docker,
    start,
    stop,
    log: () => readFileSync(logFile, 'utf8'),
    async destroy() {
      await stop();
      execFileSync('ip', ['link', 'del', bridge]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
