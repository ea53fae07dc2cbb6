import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, ferryUntil, httpGet, type TestProject } from '../../../test/support/project.js';
import { SLIM_DOCKERFILE, ensureTestBaseImage } from '../../../test/support/docker-base.js';
import { canRunPrivateEngine, startPrivateEngine, type PrivateEngine } from '../../../test/support/private-engine.js';
import { sleep } from '../../util/sleep.js';

const available = canRunPrivateEngine();
if (!available) console.warn('\n**********\n* SKIPPED: the engine-restart fault test needs root, dockerd and iproute2 (it runs a Docker engine of its own)\n**********\n');

let engine: PrivateEngine;
let project: TestProject;
let env: NodeJS.ProcessEnv;

async function releaseServing(port: number, withinMs: number): Promise<string | undefined> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    const response = await httpGet(port).catch(() => undefined);
    if (response?.status === 200) return JSON.parse(response.body).release;
    await sleep(250);
  }
  return undefined;
}

describe.skipIf(!available)('docker runtime: the engine restarted in the middle of a deploy', () => {
  beforeAll(async () => {
    engine = await startPrivateEngine();
    env = { DOCKER_HOST: engine.host };
    const base = await ensureTestBaseImage(engine.docker);
    project = await createTestProject();
    project.writeConfig((config) => {
      const production = config.environments.production;
      delete production.start;
      Object.assign(production, { runtime: 'docker', dockerfile: 'Dockerfile.slim', build_args: { BASE_IMAGE: base }, watch: '200ms' });
      production.health.deadline = '30s';
    });
    project.commit({ 'Dockerfile.slim': SLIM_DOCKERFILE }, 'slim image');
  }, 180_000);
  afterAll(async () => {
    await project?.ferry(['agent', 'stop'], env);
    await project?.cleanup();
    await engine?.destroy();
  });

  it('halts with a message naming the engine, then the previous release serves again and the new container is stopped', async () => {
    const first = await project.ferry(['deploy', 'production'], env);
    expect(first.code, first.stdout + first.stderr).toBe(0);

    project.commit({ 'fault.json': '{"healthStatus": 503}' }, 'never healthy, so the engine restart lands in the health gate');
    const run = ferryUntil(project, ['deploy', 'production'], /^→ health-gate$/m, env);
    await run.matched;
    await engine.stop();
    await sleep(1500);
    await engine.start();
    const ended = await run.exited;

    expect(ended.code, ended.output).toBe(1);
    // The engine stops its containers before it closes its socket: the gate sees either the SIGTERM or the socket gone.
    // The SIGTERM kills node (143) when it lands before server.js set its handler, else server.js exits 0 (seen under load).
    expect(ended.output, ended.output).toMatch(/production-r2-d2-1 did not become healthy: (instance exited with code 143 before it became healthy \(SIGTERM from outside ferry: an engine restart|instance exited with code 0 before it became healthy|the Docker engine at unix:\/\/\S+ went away while \w+)/);
    // The serving container comes back with the engine (restart policy unless-stopped); the router never moved.
    expect(await releaseServing(project.ports.production, 30_000)).toBe('r1');
    const containers = await engine.docker.listContainers({ all: true });
    const states = containers.map((c) => `${c.Labels['ferry.release']}:${c.State}`).sort();
    // The halted release's container is removed, not left exited (it would hold named volumes).
    expect(states).toEqual(['r1:running']);

    const history = await project.ferry(['history', 'production', '--json'], env);
    expect(JSON.parse(history.stdout).deployments[0]).toMatchObject({ outcome: 'halted', releaseId: 'r2' });
  }, 180_000);

  it('halts when the engine goes away during the build, and says so', async () => {
    project.commit({ 'fault.json': null, VERSION: '3' }, 'a good release, built while the engine restarts');
    const run = ferryUntil(project, ['deploy', 'production'], /^→ build$/m, env);
    await run.matched;
    await engine.stop();
    const ended = await run.exited;
    await engine.start();
    expect(ended.code, ended.output).toBe(1);
    expect(ended.output).toMatch(/step build failed: the Docker engine at unix:\/\/\S+ went away while building hello:r3/);
    expect(await releaseServing(project.ports.production, 30_000)).toBe('r1');
    const running = await engine.docker.listContainers();
    expect(running.map((c) => c.Labels['ferry.release'])).toEqual(['r1']);
  }, 180_000);
});
