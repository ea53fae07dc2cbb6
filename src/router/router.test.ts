import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from './router.js';
import { loadRouterState, type InstanceSpec } from './state.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { REPO_ROOT, httpGet } from '../test-support/project.js';
import { probeHttp } from '../health/probe.js';
import { KeepAliveLoad } from '../bench/load.js';

const stateDir = mkdtempSync(join(tmpdir(), 'ferry-router-'));
let router: Router;
let port: number;

async function spec(id: string, release: string): Promise<InstanceSpec> {
  return { id, env: 'web', release, port: await freePort(), cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(stateDir, `${id}.log`) };
}

async function startHealthy(s: InstanceSpec) {
  router.startInstance(s);
  for (let i = 0; i < 100 && !(await probeHttp(s.port, '/health', 500)).ok; i++) await sleep(50);
}

beforeAll(async () => {
  router = new Router({ stateDir, pendingTimeoutMs: 1500 });
  await router.start();
  port = await freePort();
});
afterAll(async () => {
  await router.close({ stopInstances: true, graceMs: 2000 });
  rmSync(stateDir, { recursive: true, force: true });
});

describe('router', () => {
  it('holds a request while no upstream is routed, then serves it once one is', async () => {
    const a = await spec('a', 'r1');
    await startHealthy(a);
    await router.setRoute({ env: 'web', port, upstreams: [] });
    const pending = httpGet(port);
    await sleep(200);
    await router.setRoute({ env: 'web', port, upstreams: ['a'] });
    expect(JSON.parse((await pending).body).release).toBe('r1');
  });

  it('switches under keep-alive load without a failed request, and drains in-flight requests before stopping', async () => {
    const b = await spec('b', 'r2');
    await startHealthy(b);
    const load = new KeepAliveLoad({ port, connections: 20 });
    load.start();
    await sleep(300);
    const slow = httpGet(port, '/?delay=800');
    await sleep(100);
    await router.setRoute({ env: 'web', port, upstreams: ['b'] });
    const stopped = await router.stopInstance('a', 5000, 2000);
    expect(stopped.drainMs).toBeGreaterThan(300);
    expect(stopped.killed).toBe(false);
    expect((await slow).status).toBe(200);
    await sleep(300);
    const summary = await load.stop();
    expect(summary.requests).toBeGreaterThan(50);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    expect(JSON.parse((await httpGet(port)).body).release).toBe('r2');
  });

  it('keeps the routing table on disk', () => {
    const saved = loadRouterState(stateDir);
    expect(saved.routes.web).toEqual({ env: 'web', port, upstreams: ['b'] });
    expect(saved.instances.a.state).toBe('exited');
    expect(saved.instances.b.state).toBe('running');
  });

  it('answers 503 after pendingTimeoutMs when nothing is routed', async () => {
    await router.setRoute({ env: 'web', port, upstreams: [] });
    const started = Date.now();
    const response = await httpGet(port);
    expect(response.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await router.setRoute({ env: 'web', port, upstreams: ['b'] });
  });

  it('refuses a route to an instance it does not know', async () => {
    await expect(router.setRoute({ env: 'web', port, upstreams: ['nope'] })).rejects.toThrow(/unknown instances: nope/);
  });
});
