import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Router } from './router.js';
import type { InstanceSpec } from './state.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';
import { dechunk, rawRequest, responses, statuses } from '../../test/support/raw-http.js';

/** The upstream: echoes what reached it, and answers the framings a proxy must carry. */
const UPSTREAM = `
import http from 'node:http';
const seen = [];
const server = http.createServer((req, res) => {
  seen.push(req.url);
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/seen') return void res.end(JSON.stringify(seen));
  if (url.pathname === '/chunked') { res.write('a'.repeat(10)); return void setTimeout(() => res.end('b'.repeat(10)), 20); }
  if (url.pathname === '/trailers') { res.writeHead(200, { trailer: 'x-checksum' }); res.write('abc'); res.addTrailers({ 'x-checksum': 'c1' }); return void res.end('def'); }
  if (url.pathname === '/conn-framing') return void res.writeHead(200, { connection: 'content-length', 'content-length': 5 }).end('hello');
  if (url.pathname === '/no-content') return void res.writeHead(204).end();
  if (url.pathname === '/not-modified') return void res.writeHead(304, { etag: '"x"' }).end();
  if (url.pathname === '/reject') return void res.writeHead(413, { 'content-length': 4 }).end('nope');
  if (url.pathname === '/slow') return void setTimeout(() => res.end('slow'), Number(url.searchParams.get('ms')));
  let bytes = 0;
  const body = [];
  req.on('data', (chunk) => { bytes += chunk.length; if (bytes <= 1024) body.push(chunk); });
  req.on('end', () => {
    const headers = { ...req.headers };
    const payload = JSON.stringify({ method: req.method, url: req.url, httpVersion: req.httpVersion, headers, bytes, body: Buffer.concat(body).toString('latin1') });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), 'x-upstream-only': 'kept' });
    res.end(payload);
  });
});
server.on('upgrade', (req, socket, head) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nupgrade: echo\\r\\nconnection: upgrade\\r\\n\\r\\n');
  if (head.length) socket.write(head);
  socket.pipe(socket);
});
server.keepAliveTimeout = 2000;
server.listen(Number(process.env.PORT), '127.0.0.1');
`;

const stateDir = mkdtempSync(join(tmpdir(), 'ferry-conformance-'));
const TIMEOUTS = { idleMs: 1500, headMs: 800, bodyIdleMs: 800 };
let router: Router;
let port = 0;

beforeAll(async () => {
  writeFileSync(join(stateDir, 'upstream.mjs'), UPSTREAM);
  router = new Router({ stateDir, pendingTimeoutMs: 1000, clientTimeouts: TIMEOUTS });
  await router.start();
  const upstream: InstanceSpec = { id: 'up', env: 'web', release: 'r1', port: await freePort(), cwd: stateDir, command: 'node upstream.mjs', vars: {}, logFile: join(stateDir, 'up.log') };
  router.startInstance(upstream);
  for (let i = 0; i < 100 && (await probeHttp(upstream.port, '/', 500)).status === null; i++) await sleep(50);
  port = await freePort();
  await router.setRoute({ env: 'web', port, upstreams: ['up'], timeouts: { connectMs: 1000, responseHeaderMs: 1500 } });
});
afterAll(async () => {
  await router.close({ stopInstances: true, graceMs: 2000 });
  rmSync(stateDir, { recursive: true, force: true });
});

const seen = async (): Promise<string[]> => JSON.parse((await rawRequest(port, 'GET /seen HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text.split('\r\n\r\n')[1]);
const json = (text: string) => JSON.parse(responses(text)[0].body);

describe('the proxy core refuses request smuggling', () => {
  const cases: Record<string, string> = {
    'Content-Length with Transfer-Encoding': 'POST /cl-te HTTP/1.1\r\nHost: a\r\nContent-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-1 HTTP/1.1\r\nHost: a\r\n\r\n',
    'Transfer-Encoding with Content-Length': 'POST /te-cl HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /smuggled-2 HTTP/1.1\r\nHost: a\r\n\r\n0\r\n\r\n',
    'two Content-Lengths': 'POST /cl-cl HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 44\r\n\r\nGET /smuggled-3 HTTP/1.1\r\nHost: a\r\n\r\n',
    'an unknown Transfer-Encoding': 'POST /te-x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\nGET /smuggled-4 HTTP/1.1\r\nHost: a\r\n\r\n',
    // Found by an outside probe: Connection made the router drop Content-Length while it still sent the body.
    'Connection naming Content-Length': 'POST /cl-conn HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 57\r\n\r\nGET /smuggled-6 HTTP/1.1\r\nHost: smug\r\nX-Smuggled: yes\r\n\r\n',
    'Connection naming Transfer-Encoding': 'POST /te-conn HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-7 HTTP/1.1\r\nHost: a\r\n\r\n',
    'Connection naming Host': 'GET /host-conn HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n',
    'an obfuscated Transfer-Encoding': 'POST /te-space HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled-5 HTTP/1.1\r\nHost: a\r\n\r\n',
  };
  for (const [name, bytes] of Object.entries(cases)) {
    it(`${name}: one 400, the connection closed, nothing reaches the upstream`, async () => {
      const reply = await rawRequest(port, bytes);
      expect(statuses(reply.text)).toEqual([400]);
      expect(reply.closed).toBe(true);
    });
  }
  it("the probe's repro (Connection: Content-Length): refused; the next client gets its own answer, and the app saw exactly that one request", async () => {
    const before = (await seen()).length; // counting that /seen request itself
    const repro = 'POST /echo HTTP/1.1\r\nHost: a\r\nConnection: Content-Length\r\nContent-Length: 62\r\n\r\nGET /echo?SMUGGLED=1 HTTP/1.1\r\nHost: smug\r\nX-Smuggled: yes\r\n\r\n';
    expect(statuses((await rawRequest(port, repro)).text)).toEqual([400]);
    const next = await rawRequest(port, 'GET /next-client HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(json(next.text)).toMatchObject({ url: '/next-client' });
    expect((await seen()).slice(before)).toEqual(['/next-client', '/seen']);
  });
  it('a request head with bare LFs (which never ends in CRLF CRLF) is answered 400 at once, not 408 after the head timeout', async () => {
    const started = Date.now();
    const reply = await rawRequest(port, 'GET /bare-lf HTTP/1.1\nHost: a\n\n');
    expect(statuses(reply.text)).toEqual([400]);
    expect(Date.now() - started).toBeLessThan(TIMEOUTS.headMs / 2);
  });
  it("a response whose Connection names its own framing (Content-Length) is a 502, not a response the client cannot delimit", async () => {
    expect(statuses((await rawRequest(port, 'GET /conn-framing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text)).toEqual([502]);
  });
  it('no refused request, nor what followed it, reached the upstream', async () => {
    expect((await seen()).filter((url) => /smuggled|^\/(cl|te|host)-/.test(url))).toEqual([]);
  });
});

describe('the proxy core carries HTTP/1.1', () => {
  it('answers pipelined requests in order on one connection', async () => {
    const reply = await rawRequest(port, ['GET /p1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /p2 HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET /p3', ' HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n']);
    const answers = responses(reply.text).map((r) => JSON.parse(r.body));
    expect(answers.map((a) => [a.method, a.url, a.body])).toEqual([['GET', '/p1', ''], ['POST', '/p2', 'abc'], ['GET', '/p3', '']]);
    expect(reply.closed).toBe(true);
  });

  it('streams chunked request bodies and re-frames unframed responses', async () => {
    const reply = await rawRequest(port, 'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: x\r\n\r\n', { done: (t) => t.includes('}') });
    expect(json(reply.text)).toMatchObject({ bytes: 5, body: 'abcde', headers: { 'transfer-encoding': 'chunked' } });
    const chunked = await rawRequest(port, 'GET /chunked HTTP/1.1\r\nHost: a\r\n\r\n', { done: (t) => t.endsWith('0\r\n\r\n') });
    expect(chunked.text).toMatch(/transfer-encoding: chunked\r\n/i);
    expect(chunked.text.split('\r\n\r\n').slice(1).join('\r\n\r\n').replace(/\r\n[0-9a-f]+\r\n|^[0-9a-f]+\r\n/g, '')).toContain('a'.repeat(10));
    // An HTTP/1.1 client gets the body chunked, trailers included (chunk sizes are the proxy's: RFC 9112 lets it re-chunk); an HTTP/1.0 client gets the body decoded.
    const trailers = await rawRequest(port, 'GET /trailers HTTP/1.1\r\nHost: a\r\n\r\n', { done: (t) => t.endsWith('\r\n\r\n') && t.includes('c1') });
    const [head, ...rest] = trailers.text.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*trailer: x-checksum(\r\n|$)/i);
    expect(head).toMatch(/transfer-encoding: chunked/i);
    expect(dechunk(rest.join('\r\n\r\n'))).toEqual({ data: 'abcdef', trailers: 'x-checksum: c1\r\n\r\n' });
    const decoded = await rawRequest(port, 'GET /trailers HTTP/1.0\r\n\r\n');
    expect(decoded.text).toMatch(/\r\n\r\nabcdef$/);
    expect(decoded.text).not.toMatch(/trailer|x-checksum/i);
  });

  it('sends 100 Continue when the upstream asks for the body of an Expect request', async () => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (c) => (text += c.toString('latin1')));
    socket.write('PUT /expect HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n');
    for (let i = 0; i < 40 && !text.includes('100 Continue'); i++) await sleep(25);
    expect(text).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('hello');
    for (let i = 0; i < 40 && !text.includes('}'); i++) await sleep(25);
    socket.destroy();
    expect(JSON.parse(text.split('\r\n\r\n')[2])).toMatchObject({ method: 'PUT', body: 'hello' });
  });

  it('answers HEAD, 204 and 304 without a body and keeps the connection for the next request', async () => {
    const reply = await rawRequest(port, 'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /no-content HTTP/1.1\r\nHost: a\r\n\r\nGET /not-modified HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
    expect(statuses(reply.text)).toEqual([200, 204, 304, 200]);
    const parts = reply.text.split(/(?=HTTP\/1\.1 )/);
    expect(parts[0]).toMatch(/content-length: \d+\r\n/i);
    expect(parts[0].endsWith('\r\n\r\n')).toBe(true);
    expect(parts[1].endsWith('\r\n\r\n')).toBe(true);
    expect(parts[2].endsWith('\r\n\r\n')).toBe(true);
    expect(JSON.parse(parts[3].split('\r\n\r\n')[1]).url).toBe('/after');
  });

  it('sets X-Forwarded-*, drops hop-by-hop fields and the fields Connection names', async () => {
    const reply = await rawRequest(port, 'GET /fwd HTTP/1.1\r\nHost: shop.example\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n\r\n', { done: (t) => t.includes('}') });
    const { headers } = json(reply.text);
    expect(headers).toMatchObject({ host: 'shop.example', 'x-forwarded-for': '203.0.113.7, 127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'shop.example', 'x-kept': 'yes' });
    for (const dropped of ['x-secret', 'keep-alive', 'te', 'proxy-connection']) expect(headers).not.toHaveProperty(dropped);
    expect(reply.text).toMatch(/x-upstream-only: kept/i);
  });

  it('speaks HTTP/1.0: closes after the response unless asked to keep it, and sends an unframed body until close', async () => {
    const plain = await rawRequest(port, 'GET /ten HTTP/1.0\r\n\r\n');
    expect(plain.closed).toBe(true);
    expect(plain.text).toMatch(/^HTTP\/1\.1 200 .*connection: close\r\n/is);
    const kept = await rawRequest(port, 'GET /ten HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { done: (t) => t.endsWith('}') });
    expect(kept.text).toMatch(/connection: keep-alive\r\n/i);
    expect(kept.closed).toBe(false);
    const unframed = await rawRequest(port, 'GET /chunked HTTP/1.0\r\n\r\n');
    expect(unframed.closed).toBe(true);
    expect(unframed.text.split('\r\n\r\n')[1]).toBe('a'.repeat(10) + 'b'.repeat(10));
  });

  it('turns an Upgrade into a byte pipe', async () => {
    const reply = await rawRequest(port, ['GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\nping', 'pong'], { gapMs: 100, done: (t) => t.endsWith('pingpong') });
    expect(reply.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(reply.text.endsWith('\r\n\r\npingpong')).toBe(true);
  });

  it('answers an early upstream response (413 before the body) and closes rather than reading the rest', async () => {
    const reply = await rawRequest(port, 'POST /reject HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nabc');
    expect(statuses(reply.text)).toEqual([413]);
    expect(reply.text).toMatch(/connection: close/i);
    expect(reply.closed).toBe(true);
  });

  it('refuses a head over 16 KiB with 431, CONNECT with 405', async () => {
    expect(statuses((await rawRequest(port, `GET / HTTP/1.1\r\nHost: a\r\nX-Big: ${'x'.repeat(17_000)}\r\n\r\n`)).text)).toEqual([431]);
    expect(statuses((await rawRequest(port, 'CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n')).text)).toEqual([405]);
  });
});

describe('the proxy core against slow clients and slow upstreams', () => {
  it('answers a head that trickles in 408 after the head timeout; closes an idle keep-alive connection', async () => {
    const started = Date.now();
    const slow = await rawRequest(port, ['GET / HTTP/1.1\r\n', 'Host: a\r\n', 'X-A: 1\r\n', 'X-B: 1\r\n', 'X-C: 1\r\n', 'X-D: 1\r\n'], { gapMs: 300 });
    expect(statuses(slow.text)).toEqual([408]);
    expect(Date.now() - started).toBeLessThan(TIMEOUTS.headMs + 1000);
    const idle = await rawRequest(port, 'GET /idle HTTP/1.1\r\nHost: a\r\n\r\n', { timeoutMs: 5000 });
    expect(idle.closed).toBe(true);
    expect(statuses(idle.text)).toEqual([200]);
  });

  it('answers a body that stalls 408', async () => {
    const reply = await rawRequest(port, 'POST /stall HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc');
    expect(statuses(reply.text)).toEqual([408]);
  });

  it('200 slowloris connections do not starve normal clients', async () => {
    const closed = new Set<net.Socket>();
    const answered: string[] = [];
    const sockets = await Promise.all(Array.from({ length: 200 }, () => new Promise<net.Socket>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
      socket.on('data', (chunk) => answered.push(chunk.toString('latin1').slice(0, 12)));
      socket.on('close', () => closed.add(socket));
      socket.on('error', () => undefined);
    })));
    for (const socket of sockets) socket.write('GET / HTTP/1.1\r\nHost: a\r\n');
    const trickle = setInterval(() => { for (const socket of sockets) if (!socket.destroyed) socket.write('X'); }, 100);
    try {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
      const started = performance.now();
      const results = await Promise.all(Array.from({ length: 200 }, () => fetchStatus(agent)));
      const elapsedMs = performance.now() - started;
      agent.destroy();
      expect(results.every((status) => status === 200)).toBe(true);
      expect(elapsedMs).toBeLessThan(3000);
      await sleep(TIMEOUTS.headMs + 500);
      // Each slow head was answered 408 and its connection closed, once the head timeout passed.
      expect(closed.size).toBe(200);
      expect(new Set(answered)).toEqual(new Set(['HTTP/1.1 408']));
    } finally {
      clearInterval(trickle);
      for (const socket of sockets) socket.destroy();
    }
  });

  it('answers 504 when the upstream sends no head within the response timeout', async () => {
    const reply = await rawRequest(port, 'GET /slow?ms=3000 HTTP/1.1\r\nHost: a\r\n\r\n', { done: (t) => t.includes('\r\n\r\nferry') && t.endsWith('\n') });
    expect(statuses(reply.text)).toEqual([504]);
    expect(reply.text).toMatch(/sent no response head within 1500ms/);
  });
});

function fetchStatus(agent: http.Agent): Promise<number> {
  return new Promise((resolve) => {
    http.get({ host: '127.0.0.1', port, path: '/normal', agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    }).on('error', () => resolve(0));
  });
}
