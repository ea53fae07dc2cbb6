import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { createTestProject, REPO_ROOT, type TestProject } from '../../test/support/project.js';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import { createNamespace, loadInNamespace, type TestNamespace } from '../../test/support/netns.js';

// Two servers: each a network namespace this test makes (its own loopback, so both routers listen on the
// same port) with a real sshd in it. The CLI deploys to both over SSH, as from a laptop or CI.
let project: TestProject;
const hosts: Array<{ namespace: TestNamespace; sshd: TestSshd }> = [];
let shell: NodeJS.ProcessEnv;

const servedOn = (host: (typeof hosts)[number]) => (JSON.parse(host.namespace.run(process.execPath, ['-e', `fetch('http://127.0.0.1:${project.ports.production}/').then((r) => r.text()).then((t) => process.stdout.write(t))`])) as { release: string }).release;

async function deployUnderLoad(): Promise<{ code: number; output: string; loads: Array<{ requests: number; failed: number; errors: string[] }>; result: { hosts: Array<{ host: string; outcome: string; ms: number; release: string | null }>; rolledBack: string[] } }> {
  const loads = hosts.map((host) => loadInNamespace(host.namespace, project.ports.production));
  const deployed = await project.ferry(['deploy', 'production', '--json'], shell);
  const summaries = await Promise.all(loads.map((load) => load.stop()));
  return { code: deployed.code, output: deployed.stderr, loads: summaries, result: JSON.parse(deployed.stdout || '{"hosts":[],"rolledBack":[]}') };
}

beforeAll(async () => {
  for (const index of [1, 2]) {
    const namespace = createNamespace(index);
    // Both hosts authorize the same client key (one deploy key for the environment).
    hosts.push({ namespace, sshd: await startSshd({ namespace: { name: namespace.name, address: namespace.address }, authorize: hosts[0]?.sshd.publicKey }) });
  }
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.hosts = hosts.map((h) => `${userInfo().username}@${h.namespace.address}`);
    config.environments.production.ssh = { known_hosts_secret: 'SSH_KNOWN_HOSTS' };
  });
  // A release is unhealthy on a host whose home has a file named `unhealthy`: the same commit fails on one host only.
  const server = readFileSync(join(project.dir, 'server.js'), 'utf8').replace('function healthStatus() {', "function healthStatus() {\n  if (existsSync(`${process.env.HOME}/unhealthy`)) return 503;");
  project.commit({ 'server.js': server }, 'two hosts');
  shell = { SSH_PRIVATE_KEY: hosts[0].sshd.privateKey, SSH_KNOWN_HOSTS: hosts.map((h) => h.sshd.knownHostsLine).join('\n') };
  const first = await project.ferry(['deploy', 'production'], shell);
  expect(first.code, first.stdout + first.stderr).toBe(0);
}, 240_000);

afterAll(async () => {
  let failure: unknown;
  for (const { namespace, sshd } of hosts) {
    try {
      // As the host's user: its HOME decides where the host's state (and so its agent) is.
      namespace.run(process.execPath, [join(REPO_ROOT, 'bin/ferry.js'), 'agent', 'stop', '--project', join(sshd.home, 'ferry/hello/repo')], { ...process.env, HOME: sshd.home, XDG_STATE_HOME: '' });
    } catch {
      // nothing ran there
    }
    // Each host is taken down even when another's teardown failed; the first failure is reported after.
    await sshd.stop().catch((error: unknown) => (failure ??= error));
    namespace.remove();
  }
  await project?.cleanup();
  if (failure) throw failure;
});

describe('ferry deploy to two hosts over SSH', () => {
  it('deploys host after host under load on each, streaming each host\'s steps: no failed request, the time per host', async () => {
    project.commit({ 'NOTES.md': 'second\n' }, 'second release');
    const { code, output, loads, result } = await deployUnderLoad();
    for (const [i, host] of result.hosts.entries()) console.log(`ssh deploy, two hosts: ${host.host} ${host.outcome} ${host.release} in ${host.ms} ms; load on it: ${loads[i].requests} requests, ${loads[i].failed} failed`);
    expect(code, output).toBe(0);
    expect(result.hosts.map((h) => [h.outcome, h.release])).toEqual([['succeeded', 'r2'], ['succeeded', 'r2']]);
    for (const host of hosts) expect(output).toContain(`${userInfo().username}@${host.namespace.address}: ✓ switch`);
    for (const load of loads) {
      expect(load.requests).toBeGreaterThan(50);
      expect(load).toMatchObject({ failed: 0 });
    }
    expect(hosts.map(servedOn)).toEqual(['r2', 'r2']);
  }, 240_000);

  it('the second host fails its health gate: the run stops, the first host is rolled back, and both serve the previous release, with no failed request', async () => {
    writeFileSync(join(hosts[1].sshd.home, 'unhealthy'), '');
    project.commit({ 'NOTES.md': 'third\n' }, 'third release');
    const { code, output, loads, result } = await deployUnderLoad();
    console.log(`ssh deploy, second host unhealthy: exit ${code}; ${result.hosts.map((h) => `${h.host} ${h.outcome} in ${h.ms} ms`).join('; ')}; rolled back: ${result.rolledBack.join(', ')}; load: ${loads.map((l) => `${l.requests} requests, ${l.failed} failed`).join(' / ')}`);
    expect(code, output).toBe(1);
    expect(result.hosts.map((h) => h.outcome)).toEqual(['succeeded', 'halted']);
    expect(result.rolledBack).toEqual([`${userInfo().username}@${hosts[0].namespace.address}`]);
    expect(output).toMatch(/rolling back, because .* ended halted/);
    expect(hosts.map(servedOn)).toEqual(['r2', 'r2']);
    for (const load of loads) expect(load).toMatchObject({ failed: 0 });
    execFileSync('rm', ['-f', join(hosts[1].sshd.home, 'unhealthy')]);
  }, 240_000);
});
