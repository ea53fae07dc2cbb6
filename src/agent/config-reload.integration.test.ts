import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { freePort } from '../util/ports.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  expect((await project.ferry(['status'])).code).toBe(0);
});
afterAll(() => project.cleanup());

async function status(env: string): Promise<{ status: number; body: any }> {
  const agent = readAgentInfo(project);
  const response = await fetch(`${agent.url}/api/status?env=${env}`, { headers: { authorization: `Bearer ${agent.token}` } });
  return { status: response.status, body: await response.json() };
}

describe("the agent's API reads ferry.yml as it is now (parsed again only when the file changed)", () => {
  it('sees an environment added while it runs, refuses a ferry.yml that no longer loads, and sees the fix', async () => {
    expect((await status('qa')).status).toBe(400);
    const port = await freePort();
    project.writeConfig((config) => {
      config.environments.qa = { port, start: 'node server.js' };
    });
    const added = await status('qa');
    expect(added.status, JSON.stringify(added.body)).toBe(200);
    expect(added.body.environments.map((env: { env: string }) => env.env)).toEqual(['qa']);

    // Not the last good copy: the caller learns the file is broken.
    writeFileSync(join(project.dir, 'ferry.yml'), 'app: hello\nenvironments:\n  production:\n    port: often\n');
    const broken = await status('production');
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('CONFIG_INVALID');

    project.writeConfig();
    expect((await status('production')).status).toBe(200);
    expect((await status('qa')).status).toBe(400);
  });
});
