import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import { freePort } from '../util/ports.js';
import { isProcessAlive, sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';
import { REPO_ROOT, httpGet } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { routerModule, stopRouterProcess } from '../../test/support/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-handover-'));
const started: RouterClient[] = [];
afterAll(async () => {
  await Promise.all(started.map(stopRouterProcess));
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The last ferry whose router master accepted every connection and handed it to a worker over IPC; its
 * successors' workers accept on the listening sockets themselves. A user's running router of that ferry
 * hands its sockets, as servers that accept, to the router of the ferry they upgrade to.
 */
const MASTER_ACCEPTS_COMMIT = 'ac8ecb52c9eaf4e3cffd31a8db222cb2cad17031';

/** Another ferry build: a copy of this one's dist (its files have other times, so another build id). */
function anotherBuild(name: string): string {
  const root = join(dir, name);
  mkdirSync(root);
  cpSync(join(REPO_ROOT, 'dist'), join(root, 'dist'), { recursive: true, filter: (source) => !source.endsWith('.map') });
  cpSync(join(REPO_ROOT, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  return root;
}

/** The ferry of a commit, built from git's copy of it (undefined when this clone lacks that commit). */
function buildOf(commit: string): string | undefined {
  if (spawnSync('git', ['-C', REPO_ROOT, 'cat-file', '-e', `${commit}^{commit}`]).status !== 0) return undefined;
  const root = join(dir, `ferry-${commit.slice(0, 7)}`);
  mkdirSync(root);
  expect(spawnSync('sh', ['-c', `git -C '${REPO_ROOT}' archive ${commit} | tar -x -C '${root}'`]).status).toBe(0);
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
  const built = spawnSync(process.execPath, ['scripts/build.js'], { cwd: root, encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
  return root;
}

/** A router of the ferry at `root` with two workers, serving one instance on a port. */
async function servingRouter(root: string, stateDir: string): Promise<{ router: RouterClient; port: number }> {
  const router = (await (await routerModule(root)).ensureRouter(stateDir, { workers: 2 })).client;
  started.push(router);
  for (let i = 0; i < 600 && (await router.state()).workers.length < 2; i++) await sleep(50);
  const instancePort = await freePort();
  await router.startInstance({ id: 'a', env: 'web', release: 'r1', port: instancePort, cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(stateDir, 'a.log') });
  for (let i = 0; i < 100 && !(await probeHttp(instancePort, '/health', 500)).ok; i++) await sleep(50);
  const port = await freePort();
  await router.setRoute({ env: 'web', port, upstreams: ['a'], release: 'r1' });
  return { router, port };
}

/** Has a router of the ferry at `next` take over under load: no connection refused, no request failed, the instance not restarted. */
async function handOverUnderLoad(router: RouterClient, stateDir: string, port: number, next: string): Promise<void> {
  const before = await router.state();
  const keepAlive = new KeepAliveLoad({ port, connections: 10 });
  const fresh = new KeepAliveLoad({ port, connections: 4, keepAlive: false });
  keepAlive.start();
  fresh.start();
  await sleep(1000);
  const { ensureRouter } = await routerModule(next);
  const startedAt = performance.now();
  const { handover } = await ensureRouter(stateDir);
  const tookMs = performance.now() - startedAt;
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
}

describe('a router of another ferry build takes over', () => {
  it('hands the listening sockets over under load: no connection refused, no request failed, the instance not restarted', async () => {
    const stateDir = join(dir, 'state');
    const { router, port } = await servingRouter(REPO_ROOT, stateDir);
    await handOverUnderLoad(router, stateDir, port, anotherBuild('ferry-next'));
  });

  const older = buildOf(MASTER_ACCEPTS_COMMIT);
  if (!older) console.warn(`\n  SKIPPED: the handover from a router whose master accepts (ferry ${MASTER_ACCEPTS_COMMIT.slice(0, 7)}): this clone lacks that commit (a shallow clone?)\n`);
  it.skipIf(!older)('from a ferry whose router master accepted and handed connections over (an upgrade): the same, and that router hands over again', async () => {
    const stateDir = join(dir, 'state-upgrade');
    const { router, port } = await servingRouter(older!, stateDir);
    await handOverUnderLoad(router, stateDir, port, REPO_ROOT);
    // The socket it got from the old router accepts in its master (as that one did); it passes it on all the same.
    await handOverUnderLoad(router, stateDir, port, anotherBuild('ferry-after-upgrade'));
  });
});
