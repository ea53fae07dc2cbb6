import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';
import { REPO_ROOT, httpGet } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { rawRequest } from '../../test/support/raw-http.js';
import { startRouterProcess, stopRouterProcess } from '../../test/support/router-process.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-workers-'));
let router: RouterClient;
let port = 0;

async function startInstance(id: string, release: string): Promise<void> {
  const instancePort = await freePort();
  await router.startInstance({ id, env: 'web', release, port: instancePort, cwd: join(REPO_ROOT, 'example'), command: 'node server.js', vars: {}, logFile: join(dir, `${id}.log`) });
  for (let i = 0; i < 100 && !(await probeHttp(instancePort, '/health', 500)).ok; i++) await sleep(50);
}

beforeAll(async () => {
  // A master and two workers.
  router = await startRouterProcess(join(dir, 'state'), { workers: 2 });
  await startInstance('a', 'r1');
  port = await freePort();
  await router.setRoute({ env: 'web', port, upstreams: ['a'] });
});
afterAll(async () => {
  await stopRouterProcess(router);
  rmSync(dir, { recursive: true, force: true });
});

describe('the router as a master and workers', () => {
  it('runs two workers and sums their request counters', async () => {
    const { workers } = await router.state();
    expect(workers).toHaveLength(2);
    const before = (await router.requests()).series.find((s) => s.release === 'r1')?.count ?? 0;
    // New connections each time, so both workers get some.
    for (let i = 0; i < 40; i++) expect((await httpGet(port, '/')).status).toBe(200);
    const after = (await router.requests()).series.find((s) => s.release === 'r1')!;
    expect(after.count - before).toBe(40);
    expect(after.codes['2xx']).toBeGreaterThanOrEqual(40);
  });

  it('answers a client that half-closes after its request (on a socket a worker accepted)', async () => {
    const reply = await rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { halfClose: true });
    expect(reply.text).toMatch(/^HTTP\/1\.1 200 /);
    expect(reply.closed).toBe(true);
  });

  it('the workers accept new connections themselves: with the master stopped (SIGSTOP), new connections are answered', async () => {
    const { pid } = await router.state();
    process.kill(pid, 'SIGSTOP');
    try {
      // Through the master, each new connection would wait for it to hand the socket over.
      const answers = await Promise.all(Array.from({ length: 20 }, () => rawRequest(port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { timeoutMs: 3000 })));
      expect(answers.map((answer) => answer.text.slice(0, 15))).toEqual(Array(20).fill('HTTP/1.1 200 OK'));
    } finally {
      process.kill(pid, 'SIGCONT');
    }
  });

  it('a port move reaches every worker: the new port answers, the old one is closed everywhere; a taken port is refused and the environment stays', async () => {
    const moved = await freePort();
    await router.setRoute({ env: 'web', port: moved, upstreams: ['a'] });
    for (let i = 0; i < 20; i++) expect((await httpGet(moved, '/')).status).toBe(200);
    expect(await probeHttp(port, '/health', 500)).toMatchObject({ ok: false, error: expect.stringContaining('ECONNREFUSED') });
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      await expect(router.setRoute({ env: 'web', port: (taken.address() as AddressInfo).port, upstreams: ['a'] })).rejects.toThrow(/cannot listen on 127\.0\.0\.1:\d+ for environment "web": EADDRINUSE/);
      for (let i = 0; i < 10; i++) expect((await httpGet(moved, '/')).status).toBe(200);
    } finally {
      taken.close();
    }
    await router.setRoute({ env: 'web', port, upstreams: ['a'] });
    expect((await httpGet(port, '/')).status).toBe(200);
  });

  it('a routing change reaches every worker before the switch returns', async () => {
    await startInstance('b', 'r2');
    const switched = await router.setRoute({ env: 'web', port, upstreams: ['b'], release: 'r2' });
    console.log(`switch propagated to 2 workers in ${switched.propagatedMs.toFixed(2)} ms`);
    const releases = await Promise.all(Array.from({ length: 40 }, async () => JSON.parse((await httpGet(port, '/')).body).release));
    expect(new Set(releases)).toEqual(new Set(['r2']));
  });

  it('a worker SIGKILLed every 500 ms under load: no connection refused, only requests in flight fail, and it is replaced', async () => {
    const keepAlive = new KeepAliveLoad({ port, connections: 10 });
    const fresh = new KeepAliveLoad({ port, connections: 4, keepAlive: false });
    keepAlive.start();
    fresh.start();
    // Eight kills, 500 ms apart. When both workers are down (a replacement waits out its backoff),
    // the round waits for one: a loaded machine must not make the test kill fewer.
    const killed: number[] = [];
    const deadline = Date.now() + 30_000;
    while (killed.length < 8 && Date.now() < deadline) {
      await sleep(500);
      const victim = (await router.state()).workers.find((pid) => !killed.includes(pid));
      if (victim) {
        process.kill(victim, 'SIGKILL');
        killed.push(victim);
      }
    }
    await sleep(1500);
    const [kept, opened] = [await keepAlive.stop(), await fresh.stop()];
    const failed = [...keepAlive.samples, ...fresh.samples].filter((s) => s.status !== 200);
    const tally = (samples: typeof failed) => JSON.stringify(Object.fromEntries([...new Set(samples.map((s) => String(s.error ?? s.status)))].map((k) => [k, samples.filter((s) => String(s.error ?? s.status) === k).length])));
    console.log(`by load: keep-alive ${tally(keepAlive.samples.filter((s) => s.status !== 200))} fresh ${tally(fresh.samples.filter((s) => s.status !== 200))}`);
    console.log(`workers killed: ${killed.length}; keep-alive: ${kept.requests} requests, new connections: ${opened.requests} requests; failed ${failed.length} (${[...new Set(failed.map((s) => s.error ?? s.status))].join(', ') || 'none'})`);
    expect(killed.length).toBeGreaterThanOrEqual(6);
    expect(failed.filter((s) => s.error === 'ECONNREFUSED')).toEqual([]);
    // At most the requests in flight on each killed worker (one per connection it held).
    expect(failed.length).toBeLessThanOrEqual(killed.length * 14);
    expect(opened.requests).toBeGreaterThan(100);
    // A worker killed within a second of its start is replaced after a second's backoff.
    let { workers } = await router.state();
    for (let i = 0; i < 50 && workers.length < 2; i++) {
      await sleep(100);
      ({ workers } = await router.state());
    }
    expect(workers).toHaveLength(2);
    expect(workers.filter((pid) => killed.includes(pid))).toEqual([]);
    expect((await httpGet(port, '/')).status).toBe(200);
  });
});
