import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import type { TestProject } from '../../../test/support/project.js';
import { dockerAvailable, dockerTestProject, removeDockerLeftovers } from '../../../test/support/docker-base.js';

const docker = new Docker();
const available = await dockerAvailable(docker);
if (!available) console.warn('\n**********\n* SKIPPED: the docker volume tests need a Docker engine (.ci/run installs docker.io and starts dockerd)\n**********\n');

let project: TestProject;
const appName = `v${Date.now().toString(36)}`;

describe.skipIf(!available)('docker volumes', () => {
  beforeAll(async () => {
    project = await dockerTestProject(appName, { volumes: ['notes:/app/data'] }, docker);
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
    await removeDockerLeftovers(appName, docker);
    await docker.getVolume(`${appName}-production-notes`).remove().catch(() => undefined);
  });

  const url = (path: string) => `http://127.0.0.1:${project.ports.production}${path}`;
  const notes = async () => (await (await fetch(url('/notes'))).json()) as { notes: string[]; release: string };

  it('keeps a named volume’s data across two deploys and a rollback', async () => {
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect((await fetch(url('/notes'), { method: 'POST', body: 'published to r1' })).status).toBe(201);
    project.commit({ VERSION: '2\n' }, 'r2');
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    expect(await notes()).toEqual({ notes: ['published to r1'], release: 'r2' });
    expect((await fetch(url('/notes'), { method: 'POST', body: 'published to r2' })).status).toBe(201);
    const back = await project.ferry(['rollback', 'production']);
    expect(back.code, back.stdout).toBe(0);
    expect(await notes()).toEqual({ notes: ['published to r1', 'published to r2'], release: 'r1' });
    expect((await project.ferry(['status', 'production'])).stdout).toContain(`data: volume ${appName}-production-notes → /app/data`);
    expect((await docker.getVolume(`${appName}-production-notes`).inspect()).Name).toBe(`${appName}-production-notes`);
  });
});
