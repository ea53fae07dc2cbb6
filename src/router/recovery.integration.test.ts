import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { sleep } from '../util/sleep.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.proxy = { response_timeout: '1s' };
  });
  project.commit({}, 'response timeout 1s');
  const first = await project.ferry(['deploy', 'production']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
});
afterAll(() => project.cleanup());

const statusOf = async () => JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
const servingPid = async () => (await statusOf()).instances.find((i: { state: string }) => i.state === 'serving').pid as number;

describe('the router when instances are gone or hung', () => {
  it('a stopped ferry comes back serving: the routed release starts again and gets traffic once healthy, never a 502', async () => {
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    await expect(httpGet(project.ports.production)).rejects.toThrow();
    const status = await project.ferry(['status', 'production', '--json']);
    const production = JSON.parse(status.stdout).environments[0];
    // Status names the serving release only when an instance of it is healthy.
    if (production.serving) expect(production.instances.some((i: { healthy: boolean }) => i.healthy)).toBe(true);
    else expect(production.routed).toEqual({ release: 'r1', state: 'starting' });
    const answers: number[] = [];
    for (let i = 0; i < 20; i++) answers.push((await httpGet(project.ports.production)).status);
    expect(answers).toEqual(Array(20).fill(200));
    expect((await statusOf()).serving.id).toBe('r1');
  });

  it('a crashed single instance is restarted while requests wait: no failed request under load', async () => {
    const load = new KeepAliveLoad({ port: project.ports.production, connections: 10 });
    load.start();
    await sleep(500);
    const pid = await servingPid();
    process.kill(pid, 'SIGKILL');
    let restarted: number | undefined;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && !restarted) {
      const now = await statusOf();
      restarted = now.serving ? now.instances.find((i: { state: string; pid: number }) => i.state === 'serving' && i.pid !== pid)?.pid : undefined;
      await sleep(100);
    }
    await sleep(500);
    const summary = await load.stop();
    expect(restarted).toBeDefined();
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
  });

  it('a hung instance (SIGSTOP) is answered 504 after the response timeout, counted, not left hanging', async () => {
    const pid = await servingPid();
    process.kill(pid, 'SIGSTOP');
    try {
      const started = Date.now();
      const response = await httpGet(project.ports.production);
      const tookMs = Date.now() - started;
      expect(response.status).toBe(504);
      expect(response.body).toMatch(/sent no response head within 1000ms/);
      expect(tookMs).toBeGreaterThanOrEqual(900);
      expect(tookMs).toBeLessThan(5000);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const production = await statusOf();
    expect(production.router.upstreamTimeouts).toBeGreaterThanOrEqual(1);
    expect((await project.ferry(['status', 'production'])).stdout).toMatch(/router answered itself: \d+ upstream timeouts \(504\)/);
    expect((await httpGet(project.ports.production)).status).toBe(200);
  });
});
