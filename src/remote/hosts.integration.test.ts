import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createTestProject, ferryUntil, REPO_ROOT, type TestProject } from '../../test/support/project.js';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import { KeepAliveLoad, STEADY_TRAFFIC } from '../../test/support/load.js';

// Deploying to a host over SSH: a real OpenSSH sshd on a loopback port is the host (its sessions keep
// ferry's builds and state in their own folders), and the CLI deploys to it as from a laptop or CI.
const SECRET = 'host-secret-7d41c09e';
let sshd: TestSshd;
let project: TestProject;
let shell: NodeJS.ProcessEnv;

const served = async () => (await fetch(`http://127.0.0.1:${project.ports.production}/`).then((r) => r.json())) as { release: string };

/** Every file under a folder whose bytes contain the marker. */
function filesContaining(dir: string, marker: string): string[] {
  try {
    return execFileSync('grep', ['-rl', '--', marker, dir], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

beforeAll(async () => {
  sshd = await startSshd();
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.hosts = [`${userInfo().username}@127.0.0.1:${sshd.port}`];
    config.environments.production.ssh = { known_hosts_secret: 'SSH_KNOWN_HOSTS' };
    config.environments.production.secrets = ['API_KEY'];
  });
  project.commit({}, 'production runs on a host');
  shell = { SSH_PRIVATE_KEY: sshd.privateKey, SSH_KNOWN_HOSTS: sshd.knownHostsLine, API_KEY: SECRET };
}, 60_000);
afterAll(async () => {
  // The host's agent, router and instances, then the daemon.
  execFileSync(process.execPath, [join(REPO_ROOT, 'bin/ferry.js'), 'agent', 'stop', '--project', join(sshd.home, 'ferry/hello/repo')], { env: { ...process.env, HOME: sshd.home, XDG_STATE_HOME: '' }, stdio: 'ignore' });
  await sshd?.stop();
  await project?.cleanup();
});

describe('ferry deploy to a host over SSH', () => {
  it('installs ferry on the host, sends the commit as a git bundle and the secrets through the connection, and streams the steps back', async () => {
    const deployed = await project.ferry(['deploy', 'production'], shell);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const label = `${userInfo().username}@127.0.0.1:${sshd.port}`;
    expect(deployed.stdout + deployed.stderr).toMatch(new RegExp(`${label}: installing ferry \\S+`));
    expect(deployed.stdout + deployed.stderr).toMatch(/sent commit [0-9a-f]{12} \(\d+ KiB bundle\)/);
    expect(deployed.stdout + deployed.stderr).toContain(`${label}: ✓ switch`);
    expect(deployed.stdout).toMatch(new RegExp(`${label}: deploy succeeded \\(r1\\) in [\\d.]+ s; ferry installed`));
    expect((await served()).release).toBe('r1');
    // The secret reached the release's .env on the host, and nothing else: not the output, not a log, not the database, not a command line.
    const envFiles = filesContaining(sshd.home, SECRET);
    expect(envFiles.length).toBeGreaterThan(0);
    expect(envFiles.every((file) => file.endsWith('/.env'))).toBe(true);
    expect(deployed.stdout + deployed.stderr).not.toContain(SECRET);
    // Nor any process's command line, nor the environment of any process but the instances of production on
    // the host, which the release's .env is for (`ps e` shows both).
    const read = (file: string) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return '';
      }
    };
    const pids = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid));
    expect(pids.filter((pid) => read(`/proc/${pid}/cmdline`).includes(SECRET))).toEqual([]);
    const holders = pids.filter((pid) => read(`/proc/${pid}/environ`).includes(SECRET));
    expect(holders.length).toBeGreaterThan(0);
    for (const pid of holders) expect(readlinkSync(`/proc/${pid}/cwd`)).toMatch(new RegExp(`^${sshd.home}/\\.local/state/ferry/hello-[0-9a-f]+/releases/production/r1/app$`));
  }, 180_000);

  it('deploys again under load with no failed request; ferry is not copied again, and the bundle holds only what is new', async () => {
    project.commit({ 'NOTES.md': 'second\n' }, 'second release');
    const load = new KeepAliveLoad({ port: project.ports.production, ...STEADY_TRAFFIC });
    load.start();
    const started = Date.now();
    const deployed = await project.ferry(['deploy', 'production'], shell);
    const ms = Date.now() - started;
    const summary = await load.stop();
    console.log(`ssh deploy to one host under load: ${ms} ms, requests ${summary.requests}, non-2xx ${summary.non2xx}, socket errors ${summary.socketErrors}`);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    expect(deployed.stdout + deployed.stderr).not.toMatch(/installing ferry|upgrading ferry/);
    expect(deployed.stdout + deployed.stderr).toMatch(/sent commit [0-9a-f]{12} \(\d+ KiB bundle\)/);
    expect(summary.requests).toBeGreaterThan(50);
    expect([summary.non2xx, summary.socketErrors]).toEqual([0, 0]);
    expect((await served()).release).toBe('r2');
  }, 180_000);

  it("reads the host's status, and opens its dashboard and API on a local port through SSH", async () => {
    const status = await project.ferry(['status', 'production', '--json'], shell);
    expect(status.code, status.stdout + status.stderr).toBe(0);
    const body = JSON.parse(status.stdout) as { hosts: Array<{ host: string; environments: Array<{ serving: { id: string } | null }> }> };
    expect(body.hosts.map((h) => h.environments[0].serving?.id)).toEqual(['r2']);
    const opened = ferryUntil(project, ['tunnel', 'production', '--json', '--token'], /"url":"[^"]+"[^\n]*\n/, shell);
    const line = (await opened.matched).split('\n').find((l) => l.startsWith('{'))!;
    const { url, token } = JSON.parse(line) as { url: string; token: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const api = await fetch(`${url}/api/status?env=production`, { headers: { authorization: `Bearer ${token}` } });
    expect(api.status).toBe(200);
    const statusText = await api.text();
    expect((JSON.parse(statusText) as { environments: Array<{ serving: { id: string } }> }).environments[0].serving.id).toBe('r2');
    // The host's history and status carry no secret value.
    const historyText = await (await fetch(`${url}/api/deployments?env=production`, { headers: { authorization: `Bearer ${token}` } })).text();
    expect(historyText).toContain('"releaseId":"r2"');
    for (const text of [statusText, historyText]) expect(text).not.toContain(SECRET);
    const page = await fetch(`${url}/`);
    expect(page.headers.get('content-type'), await page.clone().text()).toMatch(/text\/html/);
    opened.child.kill('SIGINT');
    expect((await opened.exited).code).toBe(0);
    // The other reading commands ask the host's agent the same way.
    const history = await project.ferry(['history', 'production', '--json'], shell);
    expect(history.code, history.stderr).toBe(0);
    expect((JSON.parse(history.stdout) as { deployments: Array<{ releaseId: string; outcome: string }> }).deployments.map((d) => [d.releaseId, d.outcome])).toEqual([['r2', 'succeeded'], ['r1', 'succeeded']]);
    const logs = await project.ferry(['logs', 'production', '--lines', '5'], shell);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.stdout).toMatch(/listening on 127\.0\.0\.1:\d+/);
  }, 60_000);

  it('runs ferry setup on the host: systemd units for the project deployed there, checked there', async () => {
    const unitDir = join(sshd.home, 'units');
    const setup = await project.ferry(['setup', '--env', 'production', '--unit-dir', unitDir], shell);
    expect(setup.code, setup.stdout + setup.stderr).toBe(0);
    const label = `${userInfo().username}@127.0.0.1:${sshd.port}`;
    expect(setup.stdout + setup.stderr).toContain(`${label}: checked: systemd-analyze verify found nothing wrong`);
    const router = readFileSync(join(unitDir, 'ferry-hello-router.service'), 'utf8');
    // The host's own ferry build and the project's state there.
    expect(router).toMatch(new RegExp(`^ExecStart=\\S+ --max-semi-space-size=64 ${sshd.home}/\\.ferry/versions/[^/]+/dist/router/main\\.js ${sshd.home}/\\.local/state/ferry/hello-[0-9a-f]+`, 'm'));
  }, 60_000);

  it('refuses a host whose key is not the one known, before sending anything', async () => {
    const other = await startSshd();
    try {
      const wrongKey = sshd.knownHostsLine.replace(/ \S+ \S+$/, ` ${other.knownHostsLine.split(' ').slice(1).join(' ')}`);
      const refused = await project.ferry(['deploy', 'production'], { ...shell, SSH_KNOWN_HOSTS: wrongKey });
      expect(refused.code).toBe(2);
      expect(refused.stdout + refused.stderr).toMatch(/the host key of .* \(SHA256:[\w+/]+\) is not the one the SSH_KNOWN_HOSTS secret lists for \[127\.0\.0\.1\]:\d+ .*nothing was sent/);
      expect((await served()).release).toBe('r2');
    } finally {
      await other.stop();
    }
  }, 60_000);

  it('refuses a deploy whose secret is missing in the deploying shell, before anything changes', async () => {
    const { API_KEY: _omitted, ...withoutSecret } = shell;
    void _omitted;
    const refused = await project.ferry(['deploy', 'production'], { ...withoutSecret, API_KEY: undefined });
    expect(refused.code).toBe(2);
    expect(refused.stdout + refused.stderr).toMatch(/SECRET_MISSING|secrets of production are not set in this shell: API_KEY/);
    expect(refused.stdout + refused.stderr).not.toMatch(/installing|sent commit/);
  });

  it('a connection dropped mid-deploy: the host finishes the deploy by itself, and the CLI reconnects and reports how it ended', async () => {
    // A release that takes a moment to become healthy: time to cut the connection while the host deploys.
    project.commit({ 'server.js': `await new Promise((r) => setTimeout(r, 1500));\n${readFileSync(join(project.dir, 'server.js'), 'utf8')}` }, 'slow start');
    const running = ferryUntil(project, ['deploy', 'production'], /→ start/, shell);
    await running.matched;
    sshd.dropConnections();
    await new Promise((r) => setTimeout(r, 1000));
    await sshd.restart();
    const result = await running.exited;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/the connection dropped during deploy #\d+ .*reconnecting/);
    expect(result.output).toMatch(/reconnected: deploy #\d+ ended succeeded on the host/);
    expect((await served()).release).toBe('r3');
  }, 180_000);

  it('with ssh.git_remote, the host fetches the commit from the remote itself instead of receiving a bundle', async () => {
    const remote = mkdtempSync(join(tmpdir(), 'ferry-remote-'));
    try {
      project.writeConfig((config) => {
        config.environments.production.hosts = [`${userInfo().username}@127.0.0.1:${sshd.port}`];
        config.environments.production.ssh = { known_hosts_secret: 'SSH_KNOWN_HOSTS', git_remote: join(remote, 'shop.git') };
        config.environments.production.secrets = ['API_KEY'];
      });
      project.commit({ 'NOTES.md': 'from the remote\n' }, 'fetched by the host');
      execFileSync('git', ['clone', '-q', '--bare', project.dir, join(remote, 'shop.git')]);
      const deployed = await project.ferry(['deploy', 'production'], shell);
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
      expect(deployed.stdout + deployed.stderr).toMatch(new RegExp(`has commit [0-9a-f]{12} \\(fetched from ${join(remote, 'shop.git')} if it lacked it\\)`));
      expect(deployed.stdout + deployed.stderr).not.toMatch(/KiB bundle/);
      expect((await served()).release).toBe('r4');
    } finally {
      rmSync(remote, { recursive: true, force: true });
    }
  }, 120_000);

  it("promotes staging to production on the host: the host's agent runs the smoke checks where both run, and deploys staging's commit", async () => {
    // An environment on this machine cannot be promoted to one on a host: refused before anything connects.
    const across = await project.ferry(['promote', 'staging', 'production'], shell);
    expect([across.code, across.stderr]).toEqual([2, expect.stringMatching(/staging runs on this machine and production on hosts .*: a promotion deploys the release staging serves on the same machine/)]);
    project.writeConfig((config) => {
      for (const env of ['production', 'staging']) {
        config.environments[env].hosts = [`${userInfo().username}@127.0.0.1:${sshd.port}`];
        config.environments[env].ssh = { known_hosts_secret: 'SSH_KNOWN_HOSTS' };
      }
      config.environments.production.secrets = ['API_KEY'];
    });
    const commit = project.commit({ 'NOTES.md': 'promoted\n' }, 'staging runs on the host too');
    const staged = await project.ferry(['deploy', 'staging'], shell);
    expect(staged.code, staged.stdout + staged.stderr).toBe(0);
    const promoted = await project.ferry(['promote', 'staging', 'production'], shell);
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0);
    expect(promoted.stdout + promoted.stderr).not.toMatch(/sent commit|KiB bundle/);
    expect(promoted.stdout + promoted.stderr).toMatch(new RegExp(`127\\.0\\.0\\.1:${sshd.port}: smoke checks of staging passed: r5 \\(${commit.slice(0, 12)}\\) healthy; promoting to production`));
    expect(promoted.stdout).toMatch(/: deploy succeeded \(r6\)/);
    expect((await served()).release).toBe('r6');
    const history = JSON.parse((await project.ferry(['status', 'production', '--json'], shell)).stdout) as { hosts: Array<{ environments: Array<{ serving: { id: string; commit: string } | null }> }> };
    expect(history.hosts[0].environments[0].serving).toMatchObject({ id: 'r6', commit });
  }, 180_000);
});
