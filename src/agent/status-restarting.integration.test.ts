import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, type TestProject } from '../../test/support/project.js';
import { sleep } from '../util/sleep.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  // A slow gate: ten passing probes 300 ms apart before the router routes to a restarted instance again.
  project.writeConfig((config) => {
    config.environments.production.health = { path: '/health', interval: '300ms', timeout: '1s', healthy_threshold: 10, deadline: '20s' };
  });
  project.commit({}, 'slow health gate');
  const first = await project.ferry(['deploy', 'production']);
  expect(first.code, first.stdout + first.stderr).toBe(0);
});
// cleanup() stops the agent, its router and instances.
afterAll(() => project.cleanup());

describe('ferry status while the router restarts an instance', () => {
  it('shows it starting and not yet healthy, even once its port answers 200, until the router routes to it again', async () => {
    const statusOf = async () => JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
    const before = (await statusOf()).instances[0];
    process.kill(before.pid, 'SIGKILL');
    const seen: Array<{ state: string; healthy: boolean; health: string }> = [];
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const [instance] = (await statusOf()).instances;
      seen.push({ state: instance.state, healthy: instance.healthy, health: instance.health });
      if (instance.state === 'serving' && seen.some((s) => s.state === 'starting' && /answers 200/.test(s.health))) break;
      await sleep(100);
    }
    const starting = seen.filter((s) => s.state === 'starting');
    // It answered 200 while the router's gate counted its passes: never shown healthy meanwhile.
    expect(starting.filter((s) => /answers 200/.test(s.health)).length, JSON.stringify(seen)).toBeGreaterThan(0);
    expect(starting.filter((s) => s.healthy)).toEqual([]);
    expect(starting.find((s) => /answers 200/.test(s.health))!.health).toBe("starting: answers 200, routed once the router's health gate passes");
    const text = await project.ferry(['status', 'production']);
    expect(text.stdout).toMatch(/serving {2}healthy/);
  }, 60_000);
});
