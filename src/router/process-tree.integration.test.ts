import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { sleep } from '../util/sleep.js';
import type { EnvironmentStatus } from '../agent/status.js';

/**
 * Apps whose start command is a wrapper: `npm start` (npm → sh → node server.js), and a shell script that
 * starts the server as a child and does not forward signals. SIGKILL of the wrapper (the pid status shows
 * as the instance's) used to orphan the server, which kept the port: every restart failed to listen.
 */
const WRAPPERS = {
  'npm start': { start: 'npm start', files: {} },
  'a shell script that does not forward signals': { start: 'sh start.sh', files: { 'start.sh': '#!/bin/sh\n# starts the server as a child; signals to this shell are not passed on\nnode server.js &\nwait\n' } },
} as const;

/** Pids of processes whose working folder lies under `dir` (a project's releases): what a release left running. */
function processesUnder(dir: string): Array<{ pid: number; cwd: string }> {
  const found: Array<{ pid: number; cwd: string }> = [];
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const cwd = readlinkSync(`/proc/${name}/cwd`);
      if (cwd.startsWith(dir)) found.push({ pid: Number(name), cwd });
    } catch {
      /* gone, or not ours to look at */
    }
  }
  return found;
}

/** Gone, or a zombie that only waits for its parent to read its exit status. */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

async function statusOf(project: TestProject): Promise<EnvironmentStatus> {
  const agent = readAgentInfo(project);
  const response = await fetch(`${agent.url}/api/status?env=production`, { headers: { authorization: `Bearer ${agent.token}` } });
  const body = (await response.json()) as { environments: EnvironmentStatus[] };
  return body.environments[0]!;
}

describe.each(Object.entries(WRAPPERS))('an app started through %s', (_, wrapper) => {
  let project: TestProject;
  /** Another project on this machine, whose instances have the same ids (production-r1-d1-1…): never touched. */
  let neighbour: TestProject;
  beforeAll(async () => {
    [project, neighbour] = await Promise.all([createTestProject(), createTestProject()]);
    for (const each of [project, neighbour]) {
      if (Object.keys(wrapper.files).length) each.commit(wrapper.files, 'start through a wrapper');
      each.writeConfig((config) => {
        config.environments.production.start = wrapper.start;
      });
    }
    const deployed = await neighbour.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
  });
  afterAll(() => Promise.all([project.cleanup(), neighbour.cleanup()]));

  it.each([2, 1])('SIGKILL of the wrapper under a 20 ms request loop, replicas %i: the whole tree restarts, no request fails, and agent stop leaves no process', async (replicas) => {
    project.writeConfig((config) => {
      config.environments.production.start = wrapper.start;
      config.environments.production.replicas = replicas;
    });
    const deployed = await project.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);

    const before = await statusOf(project);
    const untouched = (await statusOf(neighbour)).instances[0]!;
    // The neighbour's first deploy named its instance as this project's first deploy names one of its own.
    const victim = before.instances.find((i) => i.state === 'serving' && i.id === untouched.id) ?? before.instances.find((i) => i.state === 'serving')!;
    // Status names the pid that listens: the server behind the wrapper, not the wrapper itself.
    expect(victim.listener).toMatchObject({ ours: true, command: expect.stringContaining('node server.js') });
    expect(victim.listener!.pid).not.toBe(victim.pid);

    const load = new KeepAliveLoad({ port: project.ports.production, connections: 1, pacingMs: 20, requestTimeoutMs: 15_000 });
    load.start();
    await sleep(300);
    const killedAt = Date.now();
    process.kill(victim.pid, 'SIGKILL');
    // Healthy again: the instance runs a new command, and its server listens.
    let after: EnvironmentStatus | undefined;
    while (Date.now() - killedAt < 20_000) {
      after = await statusOf(project);
      const again = after.instances.find((i) => i.id === victim.id);
      if (again && again.pid !== victim.pid && again.healthy && again.state === 'serving' && again.listener?.ours) break;
      await sleep(50);
    }
    const healthyAfterMs = Date.now() - killedAt;
    await sleep(300);
    const summary = await load.stop();
    const slowest = Math.max(...load.samples.filter((s) => s.at >= killedAt - 100).map((s) => s.ms));
    console.log(`${wrapper.start}, replicas ${replicas}: ${summary.requests} requests, ${summary.non2xx + summary.socketErrors} failed, healthy again after ${healthyAfterMs} ms, slowest request ${slowest.toFixed(0)} ms`);
    expect(summary.non2xx + summary.socketErrors, JSON.stringify(summary)).toBe(0);
    expect(healthyAfterMs).toBeLessThan(10_000);
    expect(slowest).toBeLessThan(10_000);
    const again = after!.instances.find((i) => i.id === victim.id)!;
    expect(again.restarts).toBeGreaterThanOrEqual(1);
    // The orphan of the killed wrapper is gone: the one listening now is the new tree's.
    expect(again.listener!.pid).not.toBe(victim.listener!.pid);
    expect(isGone(victim.listener!.pid)).toBe(true);
    // The neighbour's instance of the same name still runs, on the same processes.
    expect(isGone(untouched.pid) || isGone(untouched.listener!.pid)).toBe(false);

    const stopped = await project.ferry(['agent', 'stop']);
    expect(stopped.code).toBe(0);
    expect(processesUnder(project.stateDir)).toEqual([]);
  });

  it('names a process that is not ferry\'s and holds an instance port, in status', async () => {
    project.writeConfig((config) => {
      config.environments.production.start = wrapper.start;
    });
    const deployed = await project.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    const port = (await statusOf(project)).instances[0]!.port;
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    // Something else takes the port while ferry is stopped; the next start of the serving release cannot listen.
    const squatter = createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => squatter.once('listening', resolve));
    try {
      // The instance fails to listen and is restarted with backoff; between two tries it has exited (and is not listed).
      const held = new RegExp(`PORT ${port} HELD BY pid ${process.pid} \\(.*\\), not this instance's`);
      let output = '';
      for (let attempt = 0; attempt < 5 && !held.test(output); attempt++) output = (await project.ferry(['status', 'production'])).stdout;
      expect(output).toMatch(held);
    } finally {
      squatter.close();
    }
  });
});
