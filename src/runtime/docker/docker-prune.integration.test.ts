import { ERROR_CODES } from '../../errors/codes.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { createTestProject, ferryUntil, httpGet, type TestProject } from '../../../test/support/project.js';
import { SLIM_DOCKERFILE, dockerAvailable, ensureTestBaseImage, removeDockerLeftovers } from '../../../test/support/docker-base.js';

const docker = new Docker();
const available = await dockerAvailable(docker);
if (!available) console.warn('\n**********\n* SKIPPED: docker prune and fault tests need a Docker engine\n**********\n');


let project: TestProject;
const appName = `p${Date.now().toString(36)}`;

describe.skipIf(!available)('docker runtime: prune and faults', () => {
  beforeAll(async () => {
    const base = await ensureTestBaseImage(docker);
    project = await createTestProject();
    project.writeConfig((config) => {
      config.app = appName;
      for (const env of [config.environments.production, config.environments.staging]) {
        delete env.start;
        Object.assign(env, { runtime: 'docker', dockerfile: 'Dockerfile.slim', build_args: { BASE_IMAGE: base }, retain: 2 });
        env.health.deadline = '15s';
      }
      config.environments.production.watch = '200ms';
    });
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE }, 'slim image');
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
    await removeDockerLeftovers(appName, docker);
  });

  const images = async (env: string) =>
    (await docker.listImages({ filters: { label: [`ferry.app=${appName}`, `ferry.env=${env}`] } })).flatMap((i) => i.RepoTags ?? []).sort();
  const containers = async (env: string) =>
    (await docker.listContainers({ all: true, filters: { label: [`ferry.app=${appName}`, `ferry.env=${env}`] } })).map((c) => `${c.Labels['ferry.release']}:${c.State}`).sort();

  it('keeps `retain` images and containers per environment after four deploys (retain 2), and never touches the other environment', async () => {
    const staging = await project.ferry(['deploy', 'staging']);
    expect(staging.code, staging.stdout + staging.stderr).toBe(0);
    // Four image builds show the prune as well as ten did (each build is seconds of the suite).
    for (let i = 1; i <= 4; i++) {
      project.commit({ VERSION: String(i) }, `v${i}`);
      const result = await project.ferry(['deploy', 'production']);
      expect(result.code, result.stdout + result.stderr).toBe(0);
    }
    // r1 is staging's; production ran r2..r5: the newest two stay (r5 serving, r4 its rollback target).
    expect(await images('production')).toEqual([`${appName}:r4`, `${appName}:r5`]);
    expect(await containers('production')).toEqual(['r4:exited', 'r5:running']);
    expect(await images('staging')).toEqual([`${appName}:r1`]);
    expect(await containers('staging')).toEqual(['r1:running']);
    const back = await project.ferry(['rollback', 'production', '--json']);
    expect(JSON.parse(back.stdout)).toMatchObject({ outcome: 'succeeded', release: 'r4' });
  }, 900_000);

  it('halts on a build that fails, with its last lines', async () => {
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE.replace('COPY . .', 'COPY . .\nRUN echo "compiling" && exit 3') }, 'broken build');
    const result = await project.ferry(['deploy', 'production', '--json']);
    // The exit code the README's error table gives the image build's error: the previous release still serves.
    expect(result.code).toBe(ERROR_CODES.IMAGE_BUILD_FAILED.exitCode);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'build', serving: 'r4' });
    expect(result.stderr).toMatch(/docker build of p\w+:r\d+ failed: .*returned a non-zero code: 3; last lines:[\s\S]*compiling/);
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE }, 'fixed build');
  });

  it('halts when a container is killed during the health gate, leaving no stray container running', async () => {
    project.commit({ 'fault.json': '{"healthStatus": 503}' }, 'slow to become healthy');
    const run = ferryUntil(project, ['deploy', 'production', '--json'], /^→ health-gate$/m);
    await run.matched;
    const [victim] = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`, 'ferry.env=production'], status: ['running'] } }).then((list) => list.filter((c) => c.Labels['ferry.release'] !== 'r4'));
    await docker.getContainer(victim.Id).kill();
    const ended = await run.exited;
    expect(ended.code).toBe(1);
    expect(ended.output).toMatch(/instance exited with code \d+ before it became healthy/);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r4');
    const running = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`, 'ferry.env=production'] } });
    expect(running.map((c) => c.Labels['ferry.release'])).toEqual(['r4']);
  });
});
