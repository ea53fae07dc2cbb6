import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { createTestProject, httpGet, type TestProject } from '../../../test/support/project.js';
import { SLIM_DOCKERFILE, dockerAvailable, ensureTestBaseImage, removeDockerLeftovers } from '../../../test/support/docker-base.js';
import { KeepAliveLoad, STEADY_TRAFFIC } from '../../../test/support/load.js';
import { registryAvailable, startRegistry, type TestRegistry } from '../../../test/support/registry.js';
import { loadRouterState } from '../../router/state.js';

const docker = new Docker();
const swarmActive = (await dockerAvailable(docker)) && (await docker.info().then((info) => info.Swarm?.LocalNodeState === 'active' && info.Swarm?.ControlAvailable, () => false));
const withRegistry = registryAvailable();
if (swarmActive && !withRegistry) console.warn('\n**********\n* The swarm tests run without a registry: docker-registry is not installed (.ci/run installs it); image push is NOT tested\n**********\n');
if (!swarmActive) console.warn('\n**********\n* SKIPPED: the swarm runtime tests need a Docker engine in Swarm mode (.ci/run runs `docker swarm init`)\n**********\n');

let project: TestProject;
let registry: TestRegistry | undefined;
const appName = `s${Date.now().toString(36)}`;

describe.skipIf(!swarmActive)('swarm runtime, replicas: 2', () => {
  beforeAll(async () => {
    const base = await ensureTestBaseImage(docker);
    // As on a multi-node swarm: the image goes through a registry, and the router reaches each task on its node's address.
    registry = withRegistry ? await startRegistry() : undefined;
    project = await createTestProject();
    project.writeConfig((config) => {
      config.app = appName;
      const production = config.environments.production;
      delete production.start;
      if (registry) production.registry = { server: `${registry.address}/ferry-test` };
      Object.assign(production, { runtime: 'swarm', replicas: 2, dockerfile: 'Dockerfile.slim', build_args: { BASE_IMAGE: base }, watch: '6s', stop_grace: '3s' });
      production.health.deadline = '20s';
    });
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE }, 'swarm');
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
    await removeDockerLeftovers(appName, docker);
    await registry?.stop();
  });

  const releases = async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add(JSON.parse((await httpGet(project.ports.production)).body).release);
    return [...seen];
  };
  const services = async () => (await docker.listServices({ filters: { label: [`ferry.app=${appName}`] } })).map((s) => s.Spec?.Labels?.['ferry.release']).sort();

  it('a good release, one whose tasks fail their health check, and one that turns unhealthy in the watch window: the right release serves, 0 failed requests', async () => {
    const load = new KeepAliveLoad({ port: project.ports.production, ...STEADY_TRAFFIC });
    load.start();
    project.commit({ VERSION: '2' }, 'good');
    const good = await project.ferry(['deploy', 'production', '--json']);
    expect(good.code, good.stderr).toBe(0);
    expect(await releases()).toEqual(['r2']);
    expect(await services()).toEqual(['r2', 'r2']);

    project.commit({ 'fault.json': '{"healthStatus": 500}' }, 'unhealthy tasks');
    const bad = await project.ferry(['deploy', 'production', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'health-gate', serving: 'r2' });

    project.commit({ 'fault.json': '{"unhealthyAfterMs": 2500}' }, 'unhealthy after the switch');
    const late = await project.ferry(['deploy', 'production', '--json']);
    expect(late.code).toBe(1);
    expect(JSON.parse(late.stdout)).toMatchObject({ outcome: 'rolled_back', failedStep: 'watch', serving: 'r2' });

    const summary = await load.stop();
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    expect(await releases()).toEqual(['r2']);
    expect(await services()).toEqual(['r2', 'r2']);
  }, 300_000);

  it('shows the services in status and their output in logs', async () => {
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
    expect(status.instances).toHaveLength(2);
    const image = registry ? `${registry.address}/ferry-test/${appName}:r2` : `${appName}:r2`;
    expect(status.instances.every((i: any) => i.state === 'serving' && i.healthy && i.container.image === image)).toBe(true);
    if (registry) expect(await registry.tags(`ferry-test/${appName}`)).toEqual(['r1', 'r2', 'r3', 'r4']);
    // The node each task landed on, from the Swarm API: this one-node swarm advertises 127.0.0.1.
    const serving = Object.values(loadRouterState(project.stateDir).instances).filter((i) => i.release === 'r2');
    expect(serving.map((i) => i.host)).toEqual(['127.0.0.1', '127.0.0.1']);
    const logs = await project.ferry(['logs', 'production']);
    expect(logs.stdout).toMatch(/hello 1.0.0 \(r2\) listening on 0.0.0.0:3000/);
  });
});
