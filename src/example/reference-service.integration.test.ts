import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/support/project.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';

// The reference service (example/) as the architecture's app: an orders API with a real Redis (Debian's
// redis-server) as its cache; MongoDB and Kafka when MONGODB_URL / KAFKA_BROKERS name servers to use.
const REDIS = '/usr/bin/redis-server';
const children: ChildProcess[] = [];

async function startRedis(port: number): Promise<ChildProcess> {
  const redis = spawn(REDIS, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  for (let i = 0; i < 100; i++) {
    if (await fetch(`http://127.0.0.1:${port}/`).then(() => true, (e: { cause?: { code?: string } }) => e.cause?.code !== 'ECONNREFUSED')) break;
    await sleep(50);
  }
  return redis;
}

async function startService(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server.js'], { cwd: dir, env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', FERRY_RELEASE: 'r-test', ...env }, stdio: 'ignore' });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100 && !(await fetch(`${url}/live`).then((r) => r.ok, () => false)); i++) await sleep(50);
  return url;
}

const json = async (response: Response) => ({ status: response.status, cache: response.headers.get('x-cache'), body: (await response.json()) as Record<string, any> });
const order = (url: string) => fetch(`${url}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ item: 'tea', quantity: 2 }) }).then(json);

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
});

describe('the reference service: orders, cached in Redis', () => {
  let url: string;
  let redis: ChildProcess;
  beforeAll(async () => {
    if (!existsSync(REDIS)) throw new Error('the reference service test needs Redis: apt-get install redis-server');
    const redisPort = await freePort();
    redis = await startRedis(redisPort);
    url = await startService(join(REPO_ROOT, 'example'), { REDIS_URL: `redis://127.0.0.1:${redisPort}` });
  });

  it('is ready with its Redis up, caches what it reads, and says so in /health and /metrics', async () => {
    expect(await fetch(`${url}/health`).then(json)).toMatchObject({ status: 200, body: { status: 'ok', dependencies: { redis: { status: 'up' }, mongo: { status: 'not configured' }, kafka: { status: 'not configured' } } } });
    const created = await order(url);
    expect(created).toMatchObject({ status: 201, body: { item: 'tea', quantity: 2, id: expect.any(String) } });
    expect(await fetch(`${url}/orders/${created.body.id}`).then(json)).toMatchObject({ status: 200, cache: 'miss', body: { item: 'tea' } });
    expect(await fetch(`${url}/orders/${created.body.id}`).then(json)).toMatchObject({ status: 200, cache: 'hit', body: { item: 'tea' } });
    expect(await fetch(`${url}/orders/nope`).then(json)).toMatchObject({ status: 404 });
    expect(await fetch(`${url}/orders`, { method: 'POST', body: '{"item":""}' }).then(json)).toMatchObject({ status: 400 });
    expect(await fetch(`${url}/metrics`).then((r) => r.text())).toMatch(/^app_dependency_up\{release="r-test",dependency="redis"\} 1$/m);
  });

  it('with Redis down: not ready (503, naming it), still alive, and still serving orders without the cache', async () => {
    const created = await order(url);
    redis.kill('SIGKILL');
    await sleep(200);
    const health = await fetch(`${url}/health`).then(json);
    expect(health).toMatchObject({ status: 503, body: { status: 'unhealthy', dependencies: { redis: { status: 'down', error: expect.any(String) } } } });
    expect((await fetch(`${url}/live`)).status).toBe(200);
    expect(await fetch(`${url}/orders/${created.body.id}`).then(json)).toMatchObject({ status: 200, body: { item: 'tea' } });
    expect(await fetch(`${url}/metrics`).then((r) => r.text())).toMatch(/^app_dependency_up\{release="r-test",dependency="redis"\} 0$/m);
  });
});

/** A copy of the service with a client package installed (what a team using that service does: npm install it). */
function withPackage(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ferry-example-${name}-`));
  cpSync(join(REPO_ROOT, 'example'), dir, { recursive: true });
  execFileSync('npm', ['install', '--no-audit', '--no-fund', name], { cwd: dir, stdio: 'ignore' });
  return dir;
}

const { MONGODB_URL, KAFKA_BROKERS } = process.env;
for (const [variable, value] of [['MONGODB_URL', MONGODB_URL], ['KAFKA_BROKERS', KAFKA_BROKERS]] as const) {
  if (!value) console.warn(`\n**********\n* SKIPPED: the reference service with ${variable === 'MONGODB_URL' ? 'MongoDB' : 'Kafka'}: set ${variable} to a server to test against (none can be had here)\n**********\n`);
}

describe.skipIf(!MONGODB_URL)('the reference service: orders stored in MongoDB', () => {
  it('stores an order and reads it back; MongoDB is up in /health', async () => {
    const dir = withPackage('mongodb');
    try {
      const url = await startService(dir, { MONGODB_URL });
      expect(await fetch(`${url}/health`).then(json)).toMatchObject({ status: 200, body: { dependencies: { mongo: { status: 'up' } } } });
      const created = await order(url);
      expect(created.status).toBe(201);
      expect(await fetch(`${url}/orders/${created.body.id}`).then(json)).toMatchObject({ status: 200, body: { item: 'tea', quantity: 2 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

describe.skipIf(!KAFKA_BROKERS)('the reference service: an event per order on Kafka', () => {
  it('publishes order.created for a new order; Kafka is up in /health', async () => {
    const dir = withPackage('kafkajs');
    try {
      const url = await startService(dir, { KAFKA_BROKERS });
      expect(await fetch(`${url}/health`).then(json)).toMatchObject({ status: 200, body: { dependencies: { kafka: { status: 'up' } } } });
      const created = await order(url);
      expect(created.status).toBe(201);
      const script = `const { Kafka } = require('kafkajs'); const kafka = new Kafka({ brokers: process.env.KAFKA_BROKERS.split(',') }); const c = kafka.consumer({ groupId: 'ferry-test-' + Date.now() });
        (async () => { await c.connect(); await c.subscribe({ topic: 'orders', fromBeginning: true }); await c.run({ eachMessage: async ({ message }) => { const e = JSON.parse(message.value.toString()); if (e.id === process.argv[1]) { console.log(e.type); await c.disconnect(); process.exit(0); } } }); })();`;
      const seen = execFileSync(process.execPath, ['-e', script, created.body.id], { cwd: dir, env: { ...process.env, KAFKA_BROKERS }, encoding: 'utf8', timeout: 60_000 });
      expect(seen.trim()).toBe('order.created');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
