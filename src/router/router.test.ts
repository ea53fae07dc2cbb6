import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from './router.js';
import { loadRouterState, type InstanceSpec } from './state.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { REPO_ROOT, httpGet } from '../../test/support/project.js';
import { probeHttp } from '../health/probe.js';
import { KeepAliveLoad } from '../../test/support/load.js';

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
    expect(saved.routes.web).toEqual({ env: 'web', port, release: null, upstreams: ['b'] });
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

  it("counts a 503 for a routed release whose instances are all down against that release, not against 'none'", async () => {
    await router.setRoute({ env: 'web', port, release: 'r2', upstreams: ['b'] });
    await router.stopInstance('b', 0, 2000);
    // The route still names r2 (as while its instance restarts), but nothing of it may get traffic.
    await router.setRoute({ env: 'web', port, release: 'r2', upstreams: ['b'] });
    const count = async (release: string) => (await router.requestCounts()).series.find((s) => s.env === 'web' && s.release === release)?.codes['5xx'] ?? 0;
    const [r2, none] = [await count('r2'), await count('none')];
    expect((await httpGet(port)).status).toBe(503);
    expect(await count('r2')).toBe(r2 + 1);
    expect(await count('none')).toBe(none);
  });

  it('refuses a route to an instance it does not know', async () => {
    await expect(router.setRoute({ env: 'web', port, upstreams: ['nope'] })).rejects.toThrow(/unknown instances: nope/);
  });
});

describe('router proxying, end to end through a real upstream', () => {
  const ECHO_SERVER = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  if (req.url === '/chunked') {
    res.write('a'.repeat(10));
    setTimeout(() => res.end('b'.repeat(10)), 20);
    return;
  }
  if (req.url === '/big') return void res.end(Buffer.alloc(5 * 1024 * 1024, 120));
  if (req.url === '/close') return void res.writeHead(200, { connection: 'close' }).end('bye');
  if (req.url === '/no-content') return void res.writeHead(204).end();
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: req.method, body, forwardedFor: req.headers['x-forwarded-for'], host: req.headers.host })));
});
server.keepAliveTimeout = 200;
server.listen(Number(process.env.PORT), '127.0.0.1');
`;
  let proxyPort = 0;

  beforeAll(async () => {
    writeFileSync(join(stateDir, 'echo-server.mjs'), ECHO_SERVER);
    const echo: InstanceSpec = { id: 'echo', env: 'echo', release: 'r0', port: await freePort(), cwd: stateDir, command: 'node echo-server.mjs', vars: {}, logFile: join(stateDir, 'echo.log') };
    router.startInstance(echo);
    for (let i = 0; i < 100 && (await probeHttp(echo.port, '/', 500)).status === null; i++) await sleep(50);
    proxyPort = await freePort();
    await router.setRoute({ env: 'echo', port: proxyPort, upstreams: ['echo'] });
  });

  const call = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${proxyPort}${path}`, init);

  it('forwards request bodies with content-length and chunked framing', async () => {
    expect(await (await call('/', { method: 'POST', body: 'x'.repeat(100_000) })).json()).toMatchObject({ method: 'POST', body: 'x'.repeat(100_000) });
    const stream = new ReadableStream({ start: (c) => { c.enqueue(new TextEncoder().encode('part1-')); c.enqueue(new TextEncoder().encode('part2')); c.close(); } });
    expect(await (await call('/', { method: 'PUT', body: stream, duplex: 'half' } as RequestInit)).json()).toMatchObject({ method: 'PUT', body: 'part1-part2' });
  });

  it('passes the Host header through and sets X-Forwarded-For', async () => {
    const body = await (await call('/')).json();
    expect(body.host).toBe(`127.0.0.1:${proxyPort}`);
    expect(body.forwardedFor).toBe('127.0.0.1');
  });

  it('streams chunked and large responses, and answers HEAD, 204 and Connection: close responses', async () => {
    expect(await (await call('/chunked')).text()).toBe('a'.repeat(10) + 'b'.repeat(10));
    expect((await (await call('/big')).arrayBuffer()).byteLength).toBe(5 * 1024 * 1024);
    const head = await call('/', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await call('/no-content')).status).toBe(204);
    expect(await (await call('/close')).text()).toBe('bye');
    expect(await (await call('/')).json()).toMatchObject({ method: 'GET' });
  });

  it('retries a GET when a pooled connection was closed by the upstream meanwhile', async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call('/')).status).toBe(200);
      await sleep(190 + i * 5);
    }
  });
});
