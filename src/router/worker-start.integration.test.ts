import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../test/support/project.js';
import { rawRequest } from '../../test/support/raw-http.js';
import { sleep } from '../util/sleep.js';
import { DEFAULT_CLIENT_TIMEOUTS } from './client-connection.js';
import type { WorkerPool as Pool } from './worker-pool.js';

/** The built pool: it forks the built worker entry beside it (dist/router/worker-main.js). */
const { WorkerPool } = (await import(join(REPO_ROOT, 'dist/router/worker-pool.js'))) as { WorkerPool: typeof Pool };

/** This process's children that run the router's worker entry. */
function workerChildren(): number[] {
  return spawnSync('pgrep', ['-P', String(process.pid), '-f', 'worker-main.js'], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await sleep(20);
  return condition();
}

/** A listener that hands each connection to the pool, as the router's master does. */
async function frontOf(pool: Pool): Promise<{ port: number; close: () => void }> {
  const server = net.createServer({ pauseOnConnect: true }, (socket) => pool.dispatch('web', socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

const opened: Pool[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((pool) => pool.close()));
});

function newPool(startTimeoutMs?: number, log: (message: string) => void = () => undefined): Pool {
  const pool = new WorkerPool({ count: 1, host: { pendingTimeoutMs: 200, timeouts: DEFAULT_CLIENT_TIMEOUTS, maxHeadBytes: 16 * 1024 }, view: () => ({ routes: {}, instances: {} }), log, startTimeoutMs });
  opened.push(pool);
  return pool;
}

/**
 * A worker that boots slowly (a loaded machine; here, stopped for 3 s right after its fork) used to miss the
 * 2 s a reply may take, and was then never made ready: the router held every connection for good.
 */
describe("a router worker's start", () => {
  it('a worker that takes the routing table late (3 s, past the 2 s any reply may take) still gets the connections', async () => {
    const pool = newPool();
    const started = pool.start();
    const [worker] = workerChildren();
    expect(worker).toBeDefined();
    process.kill(worker!, 'SIGSTOP');
    const front = await frontOf(pool);
    try {
      // A client that came while the worker was stopped waits in the master, and is answered once the worker runs.
      const waiting = rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { done: (text) => text.includes('\r\n\r\n'), timeoutMs: 15_000 });
      await sleep(3000);
      process.kill(worker!, 'SIGCONT');
      await started;
      expect(await until(() => pool.pids().length === 1, 10_000)).toBe(true);
      expect(pool.pids()).toEqual([worker]);
      expect((await waiting).text).toMatch(/^HTTP\/1\.1 \d{3} /);
    } finally {
      front.close();
    }
  });

  it('a socket shared before any worker is ready listens once one is; a port another process holds is refused then', async () => {
    const { bindShared } = (await import(join(REPO_ROOT, 'dist/router/shared-listener.js'))) as typeof import('./shared-listener.js');
    const pool = newPool();
    const started = pool.start();
    const [worker] = workerChildren();
    process.kill(worker!, 'SIGSTOP');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const takenPort = (taken.address() as net.AddressInfo).port;
    const free = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    try {
      const sharedFree = pool.share('web', free, bindShared('127.0.0.1', free));
      const sharedTaken = pool.share('web:https', takenPort, bindShared('127.0.0.1', takenPort));
      await sleep(500);
      process.kill(worker!, 'SIGCONT');
      await started;
      await sharedFree;
      await expect(sharedTaken).rejects.toThrow('EADDRINUSE');
      expect((await rawRequest(free, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { done: (text) => text.includes('\r\n\r\n') })).text).toMatch(/^HTTP\/1\.1 \d{3} /);
    } finally {
      taken.close();
    }
  });

  it('a worker that has not taken it within the start timeout is killed and replaced', async () => {
    const said: string[] = [];
    const pool = newPool(1000, (message) => said.push(message));
    void pool.start();
    const [stuck] = workerChildren();
    process.kill(stuck!, 'SIGSTOP');
    expect(await until(() => pool.pids().length === 1, 15_000)).toBe(true);
    expect(pool.pids()[0]).not.toBe(stuck);
    expect(said).toContain('router worker did not take the routing table in time; replacing it');
    const front = await frontOf(pool);
    try {
      expect((await rawRequest(front.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { done: (text) => text.includes('\r\n\r\n') })).text).toMatch(/^HTTP\/1\.1 \d{3} /);
    } finally {
      front.close();
    }
  });
});
