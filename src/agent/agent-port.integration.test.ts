import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';

let project: TestProject;
const squatter = net.createServer();
let busyPort = 0;

beforeAll(async () => {
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  busyPort = (squatter.address() as { port: number }).port;
  project = await createTestProject();
  project.writeConfig((config) => {
    config.agent.port = busyPort;
  });
});
afterAll(async () => {
  await project.cleanup();
  squatter.close();
});

describe('ferry agent', () => {
  it('falls back to a free port when agent.port is taken, says so, and the CLI still finds it', async () => {
    const started = await project.ferry(['agent', '--detach', '--json']);
    expect(started.code, started.stderr).toBe(0);
    const info = readAgentInfo(project);
    expect(info.url).not.toContain(`:${busyPort}`);
    const status = await project.ferry(['status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).environments.map((e: any) => e.env)).toEqual(['production', 'staging']);
  });

  it('says an agent is already running instead of starting a second one', async () => {
    const again = await project.ferry(['agent', '--detach']);
    expect(again.code).toBe(0);
    expect(again.stderr + again.stdout).toMatch(/an agent is already running/);
  });

  it('refuses an explicit --port that is taken', async () => {
    await project.ferry(['agent', 'stop']);
    const result = await project.ferry(['agent', '--port', String(busyPort)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`cannot listen on 127.0.0.1:${busyPort}: EADDRINUSE`));
  });
});
