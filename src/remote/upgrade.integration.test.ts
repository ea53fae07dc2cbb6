import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { createTestProject, REPO_ROOT, type TestProject } from '../../test/support/project.js';
import { startSshd, type TestSshd } from '../../test/support/sshd.js';
import { KeepAliveLoad } from '../../test/support/load.js';

// A host that runs an older ferry build: the next deploy from this ferry upgrades it, says so, and the host's
// agent and router move to the new build without a failed request.
let sshd: TestSshd;
let project: TestProject;
const older = mkdtempSync(join(tmpdir(), 'ferry-older-'));
let shell: NodeJS.ProcessEnv;

/** Runs a ferry (this one, or the older copy) on the project. */
const ferryFrom = (root: string, args: string[]) =>
  new Promise<{ code: number; output: string }>((resolve) => {
    const child = spawn(process.execPath, [join(root, 'bin/ferry.js'), ...args, '--project', project.dir], { env: { ...process.env, ...shell }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });

beforeAll(async () => {
  // An older build of ferry: the same code with one compiled file changed (so its build differs), its dependencies hard-linked.
  for (const name of ['package.json', 'bin', 'dist', 'schema']) cpSync(join(REPO_ROOT, name), join(older, name), { recursive: true });
  execFileSync('cp', ['-al', join(REPO_ROOT, 'node_modules'), join(older, 'node_modules')]);
  appendFileSync(join(older, 'dist/cli/main.js'), '\n// an older build\n');
  sshd = await startSshd();
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.hosts = [`${userInfo().username}@127.0.0.1:${sshd.port}`];
    config.environments.production.ssh = { known_hosts_secret: 'SSH_KNOWN_HOSTS' };
  });
  project.commit({}, 'production on a host');
  shell = { SSH_PRIVATE_KEY: sshd.privateKey, SSH_KNOWN_HOSTS: sshd.knownHostsLine };
}, 60_000);
afterAll(async () => {
  execFileSync(process.execPath, [join(REPO_ROOT, 'bin/ferry.js'), 'agent', 'stop', '--project', join(sshd.home, 'ferry/hello/repo')], { env: { ...process.env, HOME: sshd.home, XDG_STATE_HOME: '' }, stdio: 'ignore' });
  await sshd?.stop();
  await project?.cleanup();
  rmSync(older, { recursive: true, force: true });
});

describe('a host with an older ferry', () => {
  it('is upgraded by the next deploy, which says so; its agent and router move to the new build with no failed request', async () => {
    const first = await ferryFrom(older, ['deploy', 'production']);
    expect(first.code, first.output).toBe(0);
    const oldBuild = /installing ferry (\S+)/.exec(first.output)?.[1];
    expect(oldBuild).toBeDefined();
    project.commit({ 'NOTES.md': 'next\n' }, 'next release');
    const load = new KeepAliveLoad({ port: project.ports.production, connections: 4 });
    load.start();
    const second = await ferryFrom(REPO_ROOT, ['deploy', 'production']);
    const summary = await load.stop();
    console.log(`ssh upgrade: ${/upgrading ferry from \S+ to \S+/.exec(second.output)?.[0]}; under load: requests ${summary.requests}, non-2xx ${summary.non2xx}, socket errors ${summary.socketErrors}`);
    expect(second.code, second.output).toBe(0);
    const newBuild = new RegExp(`upgrading ferry from ${oldBuild!.replace(/[.+]/g, '\\$&')} to (\\S+)`).exec(second.output)?.[1];
    expect(newBuild).toBeDefined();
    expect(newBuild).not.toBe(oldBuild);
    expect([summary.non2xx, summary.socketErrors]).toEqual([0, 0]);
    expect(summary.requests).toBeGreaterThan(50);
    // The old build is gone from the host; the router and the agent run the new one.
    expect(readdirSync(join(sshd.home, '.ferry/versions'))).toEqual([newBuild]);
    const commands = readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).map((pid) => (existsSync(`/proc/${pid}/cmdline`) ? readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ') : ''));
    const hostFerry = commands.filter((c) => c.includes(join(sshd.home, '.ferry/versions')));
    expect(hostFerry.some((c) => c.includes(`${newBuild}/dist/router/main.js`))).toBe(true);
    expect(hostFerry.some((c) => c.includes(oldBuild!))).toBe(false);
  }, 240_000);
});
