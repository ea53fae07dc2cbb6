// ferry's reference service. GET / answers with its version and release; GET /health answers 200 while healthy.
// On SIGTERM it stops accepting connections, lets in-flight requests finish, then exits 0.
import http from 'node:http';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { countRequest, metricsText } from './metrics.js';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));
const port = Number(process.env.PORT ?? 3000);
const release = process.env.FERRY_RELEASE ?? 'dev';
const startedAt = Date.now();

// Simulated faults, for ferry's own tests and benchmarks: a committed fault.json makes a bad release.
//   {"exitAtStart": true} | {"healthStatus": 500} | {"unhealthyAfterMs": 3000, "unhealthyStatus": 503}
//   {"errorEvery": 20}: every 20th answer on / is a 500 (5% errors while /health stays healthy)
const faultFile = new URL('./fault.json', import.meta.url);
const fault = existsSync(faultFile) ? JSON.parse(readFileSync(faultFile, 'utf8')) : {};
if (fault.exitAtStart) {
  console.error('fault.json: exiting at start');
  process.exit(1);
}

function healthStatus() {
  if (fault.healthStatus) return fault.healthStatus;
  if (fault.unhealthyAfterMs && Date.now() - startedAt > fault.unhealthyAfterMs) return fault.unhealthyStatus ?? 503;
  return 200;
}

let shuttingDown = false;
let answered = 0;

function reply(res, status, body) {
  // While shutting down, a keep-alive connection would hold server.close() open until keepAliveTimeout: close it.
  if (shuttingDown) res.setHeader('connection', 'close');
  countRequest(res.req.url === '/health' || res.req.url === '/notes' ? res.req.url : '/', status);
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
const server = http.createServer((req, res) => {
  // Prometheus metrics of this process (CPU, memory, heap, event-loop lag) and of the requests it answered.
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText({ release }));
    return;
  }
  if (req.url === '/health') {
    const status = shuttingDown ? 503 : healthStatus();
    reply(res, status, { status: status === 200 ? 'ok' : 'unhealthy', release });
    return;
  }
  // Data on disk, kept across releases by ferry (shared: for the process runtime, volumes: for containers):
  // POST /notes appends the body to notes.txt in DATA_DIR (default ./data), GET /notes reads it back.
  if (req.url === '/notes') {
    const file = join(process.env.DATA_DIR ?? 'data', 'notes.txt');
    if (req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        try {
          mkdirSync(dirname(file), { recursive: true });
          appendFileSync(file, `${body}\n`);
          reply(res, 201, { saved: body, release });
        } catch (error) {
          reply(res, 500, { error: error.message, release });
        }
      });
      return;
    }
    reply(res, 200, { notes: existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [], release });
    return;
  }
  const delayMs = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
  if (fault.errorEvery && ++answered % fault.errorEvery === 0) return reply(res, 500, { error: 'fault.json: errorEvery', release });
  setTimeout(() => {
    reply(res, 200, { app: pkg.name, version: pkg.version, release, instance: process.env.FERRY_INSTANCE_ID ?? null, pid: process.pid });
  }, Math.min(delayMs, 30_000));
});

server.keepAliveTimeout = 65_000;
// Loopback by default (ferry's router is in front); the container image sets HOST=0.0.0.0.
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => console.log(`hello ${pkg.version} (${release}) listening on ${host}:${server.address().port}`));

process.on('SIGTERM', () => {
  shuttingDown = true;
  console.log('SIGTERM: finishing in-flight requests');
  server.close(() => {
    console.log('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
});
