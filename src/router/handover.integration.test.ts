import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import { freePort } from '../util/ports.js';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';
import { REPO_ROOT, httpGet } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { routerModule, startRouterProcess, stopRouterProcess } from '../../test/support/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-handover-'));
const stateDir = join(dir, 'state');
let router: RouterClient;
let port = 0;

/** Another ferry build: a copy of this one's dist (its files have other times, so another build id). */
function anotherBuild(): string {
  const root = join(dir, 'ferry-next');
  mkdirSync(root);
  cpSync(join(REPO_ROOT, 'dist'), join(root, 'dist'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

beforeAll(async () => {
  router = await startRouterProcess(stateDir, { workers: 2 });
  const instancePort = await freePort();
  await router.startInstance({ id: 'a', env: 'web', release: 'r1', port: instancePort, cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(dir, 'a.log') });
  for (let i = 0; i < 100 && !(await probeHttp(instancePort, '/health', 500)).ok; i++) await sleep(50);
  port = await freePort();
  await router.setRoute({ env: 'web', port, upstreams: ['a'], release: 'r1' });
});
afterAll(async () => {
  await stopRouterProcess(router);
  rmSync(dir, { recursive: true, force: true });
});

describe('a router of another ferry build takes over', () => {
  it('hands the listening sockets over under load: no connection refused, no request failed, the instance not restarted', async () => {
    const before = await router.state();
    const next = anotherBuild();
    const keepAlive = new KeepAliveLoad({ port, connections: 10 });
    const fresh = new KeepAliveLoad({ port, connections: 4, keepAlive: false });
    keepAlive.start();
    fresh.start();
    await sleep(1000);
    const { ensureRouter } = await routerModule(next);
    const started = performance.now();
    const { handover } = await ensureRouter(stateDir);
    const tookMs = performance.now() - started;
    await sleep(3000);
    await Promise.all([keepAlive.stop(), fresh.stop()]);
    const samples = [...keepAlive.samples, ...fresh.samples];
    const failed = samples.filter((s) => s.status !== 200);
    console.log(`handover from pid ${handover?.from} to ${handover?.to} in ${tookMs.toFixed(0)} ms under load: ${samples.length} requests, failed ${failed.length} (${[...new Set(failed.map((s) => s.error ?? s.status))].join(', ') || 'none'})`);
    expect(handover).toMatchObject({ from: before.pid, previousBuild: before.build });
    expect(handover?.failed).toBeUndefined();
    expect(failed.filter((s) => s.error === 'ECONNREFUSED')).toEqual([]);
    expect(failed).toEqual([]);
    expect(fresh.samples.length).toBeGreaterThan(50);

    const after = await router.state();
    expect(after.pid).toBe(handover?.to);
    expect(after.build).not.toBe(before.build);
    expect(after.workers).toHaveLength(2);
    expect(after.instances.a).toMatchObject({ pid: before.instances.a.pid, state: 'running' });
    for (let i = 0; i < 100 && isProcessAlive(before.pid); i++) await sleep(100);
    expect(isProcessAlive(before.pid)).toBe(false);
    expect(JSON.parse((await httpGet(port, '/')).body).release).toBe('r1');
  });
});
