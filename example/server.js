// ferry's reference service. GET / answers with its version and release; GET /health (readiness) answers 200
// while it and every backing service it is configured with answer; GET /live (liveness) while the process runs.
// POST /orders and GET /orders/:id store in MongoDB (or memory), cache in Redis and publish to Kafka, each only
// when its variable is set (MONGODB_URL, REDIS_URL, KAFKA_BROKERS; see dependencies.js).
// On SIGTERM it stops accepting connections, lets in-flight requests finish, then exits 0.
import http from 'node:http';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { countRequest, metricsText } from './metrics.js';
import { connectDependencies, readiness } from './dependencies.js';

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

const deps = connectDependencies(process.env, { app: pkg.name });
const configured = Object.keys(deps).length > 0;
/** Orders when no MongoDB is configured. */
const memory = new Map();
const CACHE_SECONDS = 60;

let shuttingDown = false;
let answered = 0;

function reply(res, status, body) {
  // While shutting down, a keep-alive connection would hold server.close() open until keepAliveTimeout: close it.
  if (shuttingDown) res.setHeader('connection', 'close');
  const path = (res.req.url ?? '/').split('?')[0];
  countRequest(['/health', '/live', '/notes'].includes(path) ? path : path.startsWith('/orders') ? '/orders' : '/', status);
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}
const server = http.createServer((req, res) => {
  // Prometheus metrics of this process (CPU, memory, heap, event-loop lag) and of the requests it answered.
  if (req.url === '/metrics') {
    void (configured ? readiness(deps) : Promise.resolve(undefined)).then((state) => res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText({ release }, state?.checks)));
    return;
  }
  // Liveness: the process runs and answers, whatever its dependencies do (restarting it would not bring them back).
  if (req.url === '/live') return reply(res, 200, { status: 'alive', release });
  // Readiness: this instance should get traffic: it is not stopping, and every configured dependency answers.
  if (req.url === '/health') {
    const status = shuttingDown ? 503 : healthStatus();
    if (!configured || status !== 200) return reply(res, status, { status: status === 200 ? 'ok' : 'unhealthy', release });
    void readiness(deps).then(({ ready, checks }) => reply(res, ready ? 200 : 503, { status: ready ? 'ok' : 'unhealthy', release, dependencies: checks }));
    return;
  }
  if (req.url === '/orders' && req.method === 'POST') return void createOrder(req, res);
  const orderId = /^\/orders\/([\w-]{1,64})$/.exec(req.url ?? '')?.[1];
  if (orderId && req.method === 'GET') return void readOrder(orderId, res);
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

/** POST /orders {item, quantity}: stored (MongoDB, else memory), then an `order.created` event (Kafka, if configured). */
async function createOrder(req, res) {
  let body = '';
  for await (const chunk of req) body += chunk;
  let input;
  try {
    input = JSON.parse(body || '{}');
  } catch {
    return reply(res, 400, { error: 'the body is not JSON', release });
  }
  if (typeof input.item !== 'string' || !input.item || !Number.isInteger(input.quantity) || input.quantity < 1) return reply(res, 400, { error: 'expected {"item": "<name>", "quantity": <a whole number from 1>}', release });
  const order = { id: randomUUID(), item: input.item, quantity: input.quantity, createdAt: new Date().toISOString() };
  try {
    if (deps.mongo) await deps.mongo.insert(order);
    else memory.set(order.id, order);
    if (deps.kafka) await deps.kafka.publish('orders', { type: 'order.created', ...order });
  } catch (error) {
    return reply(res, 503, { error: `the order could not be saved or announced: ${error.message}`, release });
  }
  reply(res, 201, { ...order, release });
}

/** GET /orders/:id: from Redis when cached (x-cache: hit), else from the store (then cached); a Redis that is down is skipped. */
async function readOrder(id, res) {
  const key = `${pkg.name}:order:${id}`;
  if (deps.redis) {
    const cached = await deps.redis.get(key).catch(() => null);
    if (cached) {
      res.setHeader('x-cache', 'hit');
      return reply(res, 200, { ...JSON.parse(cached), release });
    }
  }
  let order;
  try {
    order = deps.mongo ? await deps.mongo.find(id) : memory.get(id);
  } catch (error) {
    return reply(res, 503, { error: `the store did not answer: ${error.message}`, release });
  }
  if (!order) return reply(res, 404, { error: `no order ${id}`, release });
  if (deps.redis) {
    res.setHeader('x-cache', 'miss');
    await deps.redis.set(key, JSON.stringify(order), CACHE_SECONDS).catch(() => undefined);
  }
  reply(res, 200, { ...order, release });
}

server.keepAliveTimeout = 65_000;
// Loopback by default (ferry's router is in front); the container image sets HOST=0.0.0.0.
const host = process.env.HOST ?? '127.0.0.1';
server.listen(port, host, () => console.log(`hello ${pkg.version} (${release}) listening on ${host}:${server.address().port}`));

process.on('SIGTERM', () => {
  shuttingDown = true;
  console.log('SIGTERM: finishing in-flight requests');
  server.close(async () => {
    for (const dep of Object.values(deps)) await Promise.resolve(dep.close()).catch(() => undefined);
    console.log('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
});
