import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouterClient } from './client.js';
import { startRouterProcess, stopRouterProcess } from '../../test/support/router-process.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';
import { probeHttp } from '../health/probe.js';

/** An upstream that sends and swallows 200 MB, each side pausing for a while so the router must hold back. */
const UPSTREAM = `
import http from 'node:http';
const MB = Buffer.alloc(1024 * 1024, 120);
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  if (url.pathname === '/download') {
    let left = Number(url.searchParams.get('mb'));
    res.writeHead(200, { 'content-length': left * MB.length });
    const send = () => { while (left > 0) { left--; if (!res.write(MB)) return void res.once('drain', send); } res.end(); };
    return send();
  }
  let bytes = 0;
  req.pause();
  setTimeout(() => { req.on('data', (c) => (bytes += c.length)); req.resume(); }, Number(url.searchParams.get('pauseMs') ?? 0));
  req.on('end', () => res.end(String(bytes)));
}).listen(Number(process.env.PORT), '127.0.0.1');
`;

const MB = 1024 * 1024;
// 200 MB, and a bound of 100 MB: V8's young generation alone keeps 30-65 MB of read buffers between
// collections (Node 20 and 24), while a router that buffered the body would grow by about its size.
const dir = mkdtempSync(join(tmpdir(), 'ferry-streaming-'));
let router: RouterClient;
let routerPid = 0;
let port = 0;

let workerPids: number[] = [];
/** The router's resident memory now, master and workers, in MB. */
const residentMb = () => [routerPid, ...workerPids].reduce((sum, pid) => sum + Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024, 0);

/** Runs a transfer while sampling the router's memory every 20 ms; returns how far it rose above where it began. */
async function growthMb(transfer: () => Promise<unknown>): Promise<number> {
  const before = residentMb();
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, residentMb())), 20);
  try {
    await transfer();
  } finally {
    clearInterval(sampler);
  }
  return peak - before;
}

beforeAll(async () => {
  writeFileSync(join(dir, 'upstream.mjs'), UPSTREAM);
  router = await startRouterProcess(join(dir, 'state'));
  ({ pid: routerPid, workers: workerPids } = await router.state());
  const upstreamPort = await freePort();
  await router.startInstance({ id: 'big', env: 'big', release: 'r1', port: upstreamPort, cwd: dir, command: 'node upstream.mjs', vars: {}, logFile: join(dir, 'big.log') });
  for (let i = 0; i < 100 && (await probeHttp(upstreamPort, '/upload', 500)).status === null; i++) await sleep(50);
  port = await freePort();
  await router.setRoute({ env: 'big', port, upstreams: ['big'] });
});
afterAll(async () => {
  await stopRouterProcess(router);
  rmSync(dir, { recursive: true, force: true });
});

describe('the router streams 200 MB bodies with bounded memory', () => {
  it('a 200 MB download to a client that stops reading for 1.5 s', async () => {
    let received = 0;
    const grew = await growthMb(async () => (received = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port, path: '/download?mb=200' }, (res) => {
        let bytes = 0;
        res.once('data', (chunk: Buffer) => {
          bytes += chunk.length;
          res.pause();
          setTimeout(() => {
            res.on('data', (c: Buffer) => (bytes += c.length));
            res.resume();
          }, 1500);
        });
        res.on('end', () => resolve(bytes));
        res.on('error', reject);
      }).on('error', reject);
    })));
    console.log(`200 MB download through the router: its peak memory grew ${grew.toFixed(1)} MB`);
    expect(received).toBe(200 * MB);
    expect(grew).toBeLessThan(100);
  });

  it('a 200 MB upload to an upstream that does not read for 1.5 s', async () => {
    let answer = '';
    const grew = await growthMb(async () => (answer = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/upload?pauseMs=1500', headers: { 'content-length': 200 * MB } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      const chunk = Buffer.alloc(MB, 121);
      let left = 200;
      const send = () => {
        while (left > 0) {
          left--;
          if (!req.write(chunk)) return void req.once('drain', send);
        }
        req.end();
      };
      send();
    })));
    console.log(`200 MB upload through the router: its peak memory grew ${grew.toFixed(1)} MB`);
    expect(Number(answer)).toBe(200 * MB);
    expect(grew).toBeLessThan(100);
  });
});
