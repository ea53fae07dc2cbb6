import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, ferryUntil, httpGet, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { KeepAliveLoad, STEADY_TRAFFIC } from '../../test/support/load.js';
import { existsSync, readFileSync } from 'node:fs';
import { dechunk, rawRequest, statuses } from '../../test/support/raw-http.js';
import { routerPaths } from '../router/paths.js';
import { isProcessAlive, sleep } from '../util/sleep.js';

let project: TestProject;

beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.watch = '3s';
  });
  project.commit({}, 'longer watch');
  const first = await project.ferry(['deploy', 'production']);
  expect(first.code, first.stderr).toBe(0);
});
afterAll(() => project.cleanup());

const servingRelease = async () => JSON.parse((await httpGet(project.ports.production)).body).release as string;

async function waitFor<T>(check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    await sleep(50);
  }
  throw new Error(`not within ${timeoutMs}ms`);
}

describe('control plane and data plane are separate', () => {
  it('survives the agent killed with SIGKILL in the watch window: no failed request, a defined outcome, the lock freed', async () => {
    const load = new KeepAliveLoad({ port: project.ports.production, ...STEADY_TRAFFIC });
    load.start();
    project.commit({ 'package.json': '{"name":"hello","version":"2.0.0","type":"module"}\n' }, 'v2');
    const deploy = ferryUntil(project, ['deploy', 'production'], /^→ watch$/m);
    await deploy.matched;
    const agent = readAgentInfo(project);
    process.kill(agent.pid, 'SIGKILL');
    const ended = await deploy.exited;
    expect(ended.code).toBe(3);
    expect(ended.output).toMatch(/lost the connection to the agent/);
    expect(await servingRelease()).toBe('r2');

    const status = await project.ferry(['status', 'production', '--json']);
    expect(status.stderr).toMatch(/no agent was running; started one/);
    const production = JSON.parse(status.stdout).environments[0];
    expect(production.lock).toBeNull();
    expect(production.lastDeployment).toMatchObject({ state: 'rolled_back', error: expect.stringMatching(/interrupted at step watch/) });
    expect(production.serving.id).toBe('r1');
    expect(await servingRelease()).toBe('r1');

    const again = await project.ferry(['deploy', 'production']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await servingRelease()).toBe('r3');
    const summary = await load.stop();
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
  });

  it('brings the router back after SIGKILL with its routing table, re-adopting (not restarting) instances', async () => {
    const before = JSON.parse((await httpGet(project.ports.production)).body);
    const { routerPid } = readAgentInfo(project);
    process.kill(routerPid, 'SIGKILL');
    const killedAt = Date.now();
    // Back means a new router, answering a new connection: the killed router's workers may still answer a moment on
    // connections they hold (a pooled fetch once took that for the router being back).
    const pidFile = routerPaths(project.stateDir).pid;
    const newRouter = () => (existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')) !== routerPid ? true : undefined);
    const freshGet = async () => {
      const { text } = await rawRequest(project.ports.production, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
      return statuses(text)[0] === 200 ? (JSON.parse(dechunk(text.slice(text.indexOf('\r\n\r\n') + 4)).data) as { pid: number; release: string }) : undefined;
    };
    const after = await waitFor(async () => (newRouter() ? await freshGet() : undefined), 10_000);
    const gapMs = Date.now() - killedAt;
    expect(after.pid).toBe(before.pid);
    expect(after.release).toBe(before.release);
    expect(isProcessAlive(before.pid)).toBe(true);
    expect(gapMs).toBeLessThan(10_000);
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
    expect(status.instances).toEqual([expect.objectContaining({ pid: before.pid, restarts: 0, state: 'serving' })]);
  });

  it('keeps serving while the agent is stopped, and restarts a crashed serving instance', async () => {
    const { pid } = readAgentInfo(project);
    process.kill(pid, 'SIGKILL');
    expect((await httpGet(project.ports.production)).status).toBe(200);
    const before = JSON.parse((await httpGet(project.ports.production)).body);
    process.kill(before.pid, 'SIGKILL');
    const after = await waitFor(async () => {
      const body = JSON.parse((await httpGet(project.ports.production)).body);
      return body.pid !== before.pid ? body : undefined;
    }, 10_000);
    expect(after.release).toBe(before.release);
  });
});
