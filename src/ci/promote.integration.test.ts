import Docker from 'dockerode';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';
import { SLIM_DOCKERFILE, dockerAvailable, ensureTestBaseImage, removeDockerLeftovers } from '../../test/support/docker-base.js';
import { registryAvailable, startRegistry } from '../../test/support/registry.js';

const projects: TestProject[] = [];
afterAll(async () => {
  for (const p of projects) {
    await p.ferry(['agent', 'stop']);
    await p.cleanup();
  }
});
const served = async (port: number) => JSON.parse((await httpGet(port)).body) as { release: string; version: string };

describe('ferry promote', () => {
  it('deploys to production the commit staging runs (not HEAD), after smoke checks; refuses when staging is not healthy', async () => {
    const project = await createTestProject();
    projects.push(project);
    const staged = await project.ferry(['deploy', 'staging']);
    expect(staged.code, staged.stderr).toBe(0);
    const stagedCommit = JSON.parse((await project.ferry(['status', 'staging', '--json'])).stdout).environments[0].serving.commit;
    project.commit({ 'package.json': '{"name":"hello","version":"9.9.9","type":"module"}\n' }, 'newer, not on staging');

    const promoted = await project.ferry(['promote', 'staging', 'production', '--json']);
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0);
    expect(promoted.stderr).toMatch(/smoke checks of staging passed: r1 \([0-9a-f]{12}\) healthy; promoting to production/);
    expect(JSON.parse(promoted.stdout)).toMatchObject({ outcome: 'succeeded', commit: stagedCommit });
    expect((await served(project.ports.production)).version).toBe('1.0.0');
    // Recorded as a promotion, of staging's r1: history says so, not a plain deploy.
    const [promotion] = JSON.parse((await project.ferry(['history', 'production', '--json'])).stdout).deployments;
    expect(promotion).toMatchObject({ kind: 'deploy', promotedFrom: { env: 'staging', release: 'r1' } });
    expect((await project.ferry(['history', 'production'])).stdout).toMatch(/^#\d+ {2}production {2}promote \(of staging r1\) {2}r2 {2}succeeded/m);
    expect((await project.ferry(['status', 'production'])).stdout).toMatch(/last deployment: #\d+ promote \(of staging r1\) r2 succeeded/);

    project.commit({ 'fault.json': '{"healthStatus": 500}' }, 'broken');
    expect((await project.ferry(['deploy', 'staging'])).code).toBe(1); // recreate: the broken release fails its gate, r1 is restored
    const refused = await project.ferry(['promote', 'staging', 'production']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/not promoting staging to production: its last deployment \(#\d+\) ended (halted|rolled_back|failed); nothing was changed/);
  });
});

const docker = new Docker();
const withDocker = await dockerAvailable(docker);
if (!withDocker) console.warn('\n**********\n* SKIPPED: promoting the same image needs a Docker engine\n**********\n');
const withRegistry = registryAvailable();
if (withDocker && !withRegistry) console.warn('\n**********\n* promote runs without a registry: docker-registry is not installed (.ci/run installs it); the push of a promoted image is NOT tested\n**********\n');

describe.skipIf(!withDocker)('ferry promote with the docker runtime', () => {
  const appName = `pr${Date.now().toString(36)}`;
  afterAll(() => removeDockerLeftovers(appName, docker));

  it('runs the very image staging runs: same image id, not rebuilt, pushed under its new release', async () => {
    const base = await ensureTestBaseImage(docker);
    const registry = withRegistry ? await startRegistry() : undefined;
    onTestFinished(() => registry?.stop());
    const project = await createTestProject();
    projects.push(project);
    project.writeConfig((config) => {
      config.app = appName;
      for (const env of [config.environments.production, config.environments.staging]) {
        delete env.start;
        Object.assign(env, { runtime: 'docker', dockerfile: 'Dockerfile.slim', build_args: { BASE_IMAGE: base } });
        env.health.deadline = '15s';
      }
      config.environments.production.watch = '200ms';
      if (registry) config.environments.production.registry = { server: `${registry.address}/ferry-test` };
    });
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE }, 'docker');
    expect((await project.ferry(['deploy', 'staging'])).code).toBe(0);
    const promoted = await project.ferry(['promote', 'staging', 'production']);
    expect(promoted.code, promoted.stdout + promoted.stderr).toBe(0);
    expect(promoted.stdout).toMatch(new RegExp(`image ${appName}:r2 is staging's ${appName}:r1 \\(sha256:[0-9a-f]{12}\\), not rebuilt`));
    expect(promoted.stdout).not.toMatch(/Step 1\/\d+ : /);
    const [staging, production] = await Promise.all([docker.getImage(`${appName}:r1`).inspect(), docker.getImage(`${appName}:r2`).inspect()]);
    expect(production.Id).toBe(staging.Id);
    expect((await served(project.ports.production)).release).toBe('r2');
    if (registry) {
      expect(promoted.stdout).toContain(`pushed as ${registry.address}/ferry-test/${appName}:r2`);
      expect(await registry.tags(`ferry-test/${appName}`)).toEqual(['r2']);
      expect((await docker.getImage(`${registry.address}/ferry-test/${appName}:r2`).inspect()).Id).toBe(staging.Id);
    }
  }, 180_000);
});
