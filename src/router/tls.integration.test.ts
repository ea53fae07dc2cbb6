import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import https from 'node:https';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import { startRouterProcess, stopRouterProcess } from '../../test/support/router-process.js';
import { testAuthority, testCertificate } from '../../test/support/certificates.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';

/** An upstream that says which scheme and host the router told it. */
const UPSTREAM = `
import http from 'node:http';
http.createServer((req, res) => res.end(JSON.stringify({ proto: req.headers['x-forwarded-proto'], host: req.headers['x-forwarded-host'] ?? req.headers.host, path: req.url }))).listen(Number(process.env.PORT), '127.0.0.1');
`;

const dir = mkdtempSync(join(tmpdir(), 'ferry-tls-'));
let router: RouterClient;
let ca: Buffer;
let httpPort = 0;
let httpsPort = 0;

/** One HTTPS request to the router, asking for `name` (SNI and Host); the answer and the certificate it got. */
function get(name: string, agent?: https.Agent): Promise<{ status: number; body: string; serial: string }> {
  return new Promise((resolve, reject) => {
    const request = https.get({ host: '127.0.0.1', port: httpsPort, path: '/x?y=1', servername: name, headers: { host: name }, ca, agent: agent ?? false }, (res) => {
      const serial = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().serialNumber;
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body, serial }));
    });
    request.on('error', reject);
  });
}

/** Plain HTTP to the router's HTTP port, naming a host (fetch would not let the Host header through). */
function httpGet(path: string, host?: string): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: httpPort, path, headers: host ? { host } : {}, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, body }));
    }).on('error', reject);
  });
}

const serialOf = (file: string) => new X509Certificate(readFileSync(file)).serialNumber;

beforeAll(async () => {
  const { caFile } = testAuthority(dir);
  ca = readFileSync(caFile);
  const shop = testCertificate(dir, 'shop', ['shop.ferry.test']);
  const api = testCertificate(dir, 'api', ['api.ferry.test', '*.api.ferry.test']);
  writeFileSync(join(dir, 'upstream.mjs'), UPSTREAM);
  router = await startRouterProcess(join(dir, 'state'), { workers: 2 });
  const upstreamPort = await freePort();
  await router.startInstance({ id: 'web-1', env: 'web', release: 'r1', port: upstreamPort, cwd: dir, command: 'node upstream.mjs', vars: {}, logFile: join(dir, 'web.log') });
  for (let i = 0; i < 100 && (await probeHttp(upstreamPort, '/', 500)).status === null; i++) await sleep(50);
  [httpPort, httpsPort] = [await freePort(), await freePort()];
  await router.setRoute({ env: 'web', port: httpPort, upstreams: ['web-1'] });
  await router.setTls('web', httpPort, { port: httpsPort, certificates: [{ domains: ['shop.ferry.test'], ...shop }, { domains: ['api.ferry.test', '*.api.ferry.test'], ...api }], redirect: true, challenges: { 'token-1': 'token-1.thumbprint' } });
});
afterAll(async () => {
  await stopRouterProcess(router);
  rmSync(dir, { recursive: true, force: true });
});

describe('HTTPS in the router', () => {
  it('terminates TLS with the certificate of the name asked for (SNI), and tells the app it was https', async () => {
    const shop = await get('shop.ferry.test');
    expect(shop.status).toBe(200);
    expect(JSON.parse(shop.body)).toEqual({ proto: 'https', host: 'shop.ferry.test', path: '/x?y=1' });
    expect(shop.serial).toBe(serialOf(join(dir, 'shop.pem')));
    expect((await get('api.ferry.test')).serial).toBe(serialOf(join(dir, 'api.pem')));
    expect((await get('v2.api.ferry.test')).serial).toBe(serialOf(join(dir, 'api.pem')));
  });

  it('on the HTTP port: redirects its domains to https, answers ACME challenges, and proxies anything else (a probe to 127.0.0.1)', async () => {
    expect(await httpGet('/a/b?c=d', 'shop.ferry.test')).toMatchObject({ status: 308, location: `https://shop.ferry.test:${httpsPort}/a/b?c=d` });
    expect(await httpGet('/.well-known/acme-challenge/token-1', 'shop.ferry.test')).toMatchObject({ status: 200, body: 'token-1.thumbprint' });
    expect((await httpGet('/.well-known/acme-challenge/other')).status).toBe(404);
    const probe = await httpGet('/health');
    expect(probe.status).toBe(200);
    expect(JSON.parse(probe.body).proto).toBe('http');
  });

  it('renews under load: new connections get the new certificate, open ones keep theirs, no request fails', async () => {
    const renewed = testCertificate(dir, 'shop-renewed', ['shop.ferry.test']);
    const agents = Array.from({ length: 4 }, () => new https.Agent({ keepAlive: true, maxSockets: 1 }));
    const held = new https.Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get('shop.ferry.test', held)).serial).toBe(serialOf(join(dir, 'shop.pem')));
    let ok = 0;
    const failures: string[] = [];
    let running = true;
    const loops = agents.map(async (agent, i) => {
      while (running) {
        try {
          // Half the loops keep their connection; the other half open one per request (they see the renewal).
          const answer = await get('shop.ferry.test', i % 2 === 0 ? agent : undefined);
          if (answer.status === 200) ok++;
          else failures.push(String(answer.status));
        } catch (error) {
          failures.push((error as Error).message);
        }
      }
    });
    await sleep(700);
    await router.setTls('web', httpPort, { port: httpsPort, certificates: [{ domains: ['shop.ferry.test'], ...renewed }], redirect: true });
    await sleep(700);
    running = false;
    await Promise.all(loops);
    console.log(`router TLS: certificate renewed under load: ${ok} requests, ${failures.length} failed`);
    expect(failures).toEqual([]);
    expect(ok).toBeGreaterThan(50);
    expect((await get('shop.ferry.test')).serial).toBe(serialOf(renewed.certFile));
    // A connection opened before the renewal keeps its certificate (it was never dropped).
    expect((await get('shop.ferry.test', held)).serial).toBe(serialOf(join(dir, 'shop.pem')));
    for (const agent of [...agents, held]) agent.destroy();
  });
});
