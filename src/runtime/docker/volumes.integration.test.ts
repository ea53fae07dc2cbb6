import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { createTestProject, type TestProject } from '../../../test/support/project.js';
import { dockerAvailable, dockerTestProject, ensureTestBaseImage, removeDockerLeftovers } from '../../../test/support/docker-base.js';

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

describe.skipIf(!available)('switching an environment from the process runtime to docker', () => {
  const app = `sw${Date.now().toString(36)}`;
  let switching: TestProject;
  afterAll(async () => {
    await switching?.cleanup();
    await removeDockerLeftovers(app, docker);
    await docker.getVolume(`${app}-production-notes`).remove().catch(() => undefined);
  });

  it('refuses while no volume would carry the shared folder, then copies it into the volume mounted there', async () => {
    switching = await createTestProject();
    const url = `http://127.0.0.1:${switching.ports.production}/notes`;
    switching.writeConfig((config) => {
      config.app = app;
      config.environments.production.shared = ['data'];
    });
    switching.commit({}, 'process runtime with a shared folder');
    expect((await switching.ferry(['deploy', 'production'])).code).toBe(0);
    expect((await fetch(url, { method: 'POST', body: 'written under the process runtime' })).status).toBe(201);

    const toDocker = async (volumes: string[]) => {
      const base = await ensureTestBaseImage(docker);
      switching.writeConfig((config) => {
        config.app = app;
        const env = config.environments.production;
        delete env.start;
        Object.assign(env, { runtime: 'docker', build_args: { BASE_IMAGE: base }, volumes });
        env.health.deadline = '12s';
      });
    };
    await toDocker([]);
    const refused = await switching.ferry(['deploy', 'production']);
    expect(refused.code).toBe(1);
    expect(refused.stdout + refused.stderr).toMatch(/production moves from runtime process \(r1\) to docker, and its shared folder data\/ holds 1 file\(s\) in .* that no volume of the new configuration carries/);
    expect(refused.stdout + refused.stderr).toContain('volumes: ["data:/app/data"]');
    expect((await (await fetch(url)).json()).release).toBe('r1');

    await toDocker(['notes:/app/data']);
    const switched = await switching.ferry(['deploy', 'production']);
    expect(switched.code, switched.stdout + switched.stderr).toBe(0);
    expect(switched.stdout).toMatch(new RegExp(`copied into volume ${app}-production-notes`));
    expect(await (await fetch(url)).json()).toMatchObject({ notes: ['written under the process runtime'], release: 'r3' });
    expect((await fetch(url, { method: 'POST', body: 'written in the container' })).status).toBe(201);
  }, 240_000);
});
