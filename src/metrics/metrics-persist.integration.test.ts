import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, type TestProject } from '../../test/support/project.js';

/** `ferry metrics --json`'s requests of one release of production. */
const requestsOf = async (project: TestProject, release: string) => {
  const metrics = await project.ferry(['metrics', '--json']);
  expect(metrics.code, metrics.stderr).toBe(0);
  return (JSON.parse(metrics.stdout).releases as Array<{ release: string; requests: number }>).find((r) => r.release === release)?.requests ?? 0;
};

describe("a release's requests in ferry metrics", () => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject();
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
  });
  afterAll(() => project.cleanup());

  it('are what the router answered in the period, kept when the agent and the router stop (their counters start again from 0)', async () => {
    for (let i = 0; i < 40; i++) expect((await fetch(`http://127.0.0.1:${project.ports.production}/`)).status).toBe(200);
    const before = await requestsOf(project, 'r1');
    expect(before).toBeGreaterThanOrEqual(40);
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    for (let i = 0; i < 10; i++) expect((await fetch(`http://127.0.0.1:${project.ports.production}/`).catch(() => undefined))?.status).not.toBe(200);
    // The next command starts the agent and the router again; the new router counts from 0.
    const after = await requestsOf(project, 'r1');
    expect(after).toBeGreaterThanOrEqual(before);
    for (let i = 0; i < 5; i++) expect((await fetch(`http://127.0.0.1:${project.ports.production}/`)).status).toBe(200);
    expect(await requestsOf(project, 'r1')).toBeGreaterThanOrEqual(after + 5);
  });
});
