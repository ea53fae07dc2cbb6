import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { httpGet, type TestProject } from '../../../test/support/project.js';
import { dockerAvailable, dockerTestProject, removeDockerLeftovers } from '../../../test/support/docker-base.js';
import { KeepAliveLoad, STEADY_TRAFFIC } from '../../../test/support/load.js';

const docker = new Docker();
const available = await dockerAvailable(docker);
if (!available) {
  console.warn('\n**********\n* SKIPPED: the docker runtime tests need a Docker engine (.ci/run installs docker.io and starts dockerd)\n**********\n');
}

let project: TestProject;
const appName = `t${Date.now().toString(36)}`;

describe.skipIf(!available)('docker runtime', () => {
  beforeAll(async () => {
    project = await dockerTestProject(appName, { resources: { memory: '256m' } }, docker);
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
    await removeDockerLeftovers(appName, docker);
  });

  const serving = async () => JSON.parse((await httpGet(project.ports.production)).body);

  it('builds an image of the commit, runs it as a labelled container on 127.0.0.1, and routes to it', async () => {
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toMatch(/✓ build .*image t\w+:r1/);
    expect((await serving()).release).toBe('r1');
    const containers = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`, 'ferry.release=r1'] } });
    expect(containers).toHaveLength(1);
    expect(containers[0].Labels).toMatchObject({ 'ferry.app': expect.stringMatching(/^t/), 'ferry.commit': expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect(containers[0].Ports.every((p) => !p.PublicPort || p.IP === '127.0.0.1')).toBe(true);
    const inspected = await docker.getContainer(containers[0].Id).inspect();
    expect(inspected.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(inspected.Config.User).toBe('1000:1000');
  }, 180_000); // an image build on a loaded 2-core machine took 45-90 s

  it('switches containers under keep-alive load without a failed request, and stops the old one', async () => {
    const load = new KeepAliveLoad({ port: project.ports.production, ...STEADY_TRAFFIC });
    load.start();
    project.commit({ 'package.json': '{"name":"hello","version":"2.0.0","type":"module"}\n' }, 'v2');
    const second = await project.ferry(['deploy', 'production']);
    const summary = await load.stop();
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    expect(await serving()).toMatchObject({ release: 'r2', version: '2.0.0' });
    const running = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`] } });
    expect(running.map((c) => c.Labels['ferry.release'])).toEqual(['r2']);
  }, 180_000); // an image build on a loaded 2-core machine took 45-90 s

  it('halts on a release whose health check fails, with its logs, the previous container serving', async () => {
    project.commit({ 'fault.json': '{"healthStatus": 500}' }, 'bad');
    const bad = await project.ferry(['deploy', 'production', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'health-gate', serving: 'r2' });
    expect(bad.stderr).toMatch(/last log lines of production-r3-d\d+-1:\n\s+\| hello 2.0.0 \(r3\) listening on 0.0.0.0:3000/);
    // The probes behind the verdict are listed, never an empty list.
    expect(bad.stderr).toMatch(/health checks of production-r3-d\d+-1:\n\s+\d\d:\d\d:\d\d\.\d+ FAIL 500/);
    expect((await serving()).release).toBe('r2');
    // The halted release's container is removed, not left exited holding its volumes.
    expect(await docker.listContainers({ all: true, filters: { label: [`ferry.app=${appName}`, 'ferry.release=r3'] } })).toEqual([]);
  }, 180_000); // an image build on a loaded 2-core machine took 45-90 s

  it('shows container ids, images and health in ferry status', async () => {
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
    expect(status.instances).toEqual([
      expect.objectContaining({ release: 'r2', state: 'serving', healthy: true, container: { id: expect.stringMatching(/^[0-9a-f]{12}$/), image: `${appName}:r2`, health: expect.stringMatching(/starting|healthy/) } }),
    ]);
    expect((await project.ferry(['status', 'production'])).stdout).toMatch(new RegExp(`container [0-9a-f]{12}  ${appName}:r2`));
  });

  it('shows container output with ferry logs', async () => {
    const logs = await project.ferry(['logs', 'production']);
    expect(logs.stdout).toMatch(/==> production-r2-d\d+-1 \(running\) <==\nhello 2.0.0 \(r2\) listening on 0.0.0.0:3000/);
  });

  it('says clearly when the Dockerfile does not exist', async () => {
    project.writeConfig((config) => {
      config.app = appName;
      Object.assign(config.environments.production, { runtime: 'docker', dockerfile: 'nope/Dockerfile' });
      delete config.environments.production.start;
    });
    const result = await project.ferry(['deploy', 'production', '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nope\/Dockerfile does not exist in the release/);
    expect((await serving()).release).toBe('r2');
  });

  it('after `ferry agent stop`, the next ferry command starts the serving release again (health-gated) before it answers', async () => {
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    const running = await docker.listContainers({ filters: { label: [`ferry.app=${appName}`] } });
    expect(running).toEqual([]);
    const status = await project.ferry(['status', 'production', '--json']);
    const production = JSON.parse(status.stdout).environments[0];
    expect(production.serving.id).toBe('r2');
    expect(JSON.parse(status.stdout).state.notes.join('\n')).toMatch(/production: r2 was routed with no instance running; started it again/);
    expect((await serving()).release).toBe('r2');
  });
});
