import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { createTestProject, ferryUntil, type TestProject } from '../../test/support/project.js';
import { freePort } from '../util/ports.js';
import { sleep } from '../util/sleep.js';

// `ferry dev` with a real Redis (Debian's redis-server, as a dev service run as a command) and an app that
// says which version of itself runs and what it was given.
const REDIS = '/usr/bin/redis-server';
let project: TestProject;
let port = 0;

const app = (version: number) => `import http from 'node:http';
http.createServer((req, res) => res.end(JSON.stringify({ version: ${version}, redis: process.env.REDIS_URL, nodeEnv: process.env.NODE_ENV }))).listen(Number(process.env.PORT), '127.0.0.1');
`;

async function answer(): Promise<{ version: number; redis: string; nodeEnv: string } | undefined> {
  return fetch(`http://127.0.0.1:${port}/`).then((r) => r.json() as Promise<{ version: number; redis: string; nodeEnv: string }>, () => undefined);
}

function redisPing(redisPort: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(redisPort, '127.0.0.1', () => socket.write('PING\r\n'));
    socket.once('data', (data) => (socket.destroy(), resolve(data.toString().trim())));
    socket.once('error', (error) => resolve(`error: ${(error as NodeJS.ErrnoException).code}`));
  });
}

beforeAll(async () => {
  if (!existsSync(REDIS)) throw new Error('the ferry dev test needs Redis: apt-get install redis-server');
  project = await createTestProject();
  port = await freePort();
  writeFileSync(join(project.dir, 'app.js'), app(1));
  project.writeConfig((config) => {
    config.dev = { port, start: 'node app.js', services: { redis: { command: `${REDIS} --port {port} --bind 127.0.0.1 --save "" --appendonly no`, env: { REDIS_URL: 'redis://127.0.0.1:{port}' } } } };
  });
});
afterAll(() => project?.cleanup());

describe('ferry dev', () => {
  it('starts the services, gives the app their addresses under the production names, restarts it when a file changes, and stops everything on Ctrl-C', async () => {
    const running = ferryUntil(project, ['dev'], /ferry dev: `node app\.js` on http:\/\/127\.0\.0\.1:\d+\//);
    await running.matched;
    let first: Awaited<ReturnType<typeof answer>>;
    for (let i = 0; i < 100 && !(first = await answer()); i++) await sleep(50);
    expect(first).toMatchObject({ version: 1, nodeEnv: 'development', redis: expect.stringMatching(/^redis:\/\/127\.0\.0\.1:\d+$/) });
    const redisPort = Number(first!.redis.split(':').at(-1));
    expect(await redisPing(redisPort)).toBe('+PONG');
    const started = Date.now();
    writeFileSync(join(project.dir, 'app.js'), app(2));
    let second: Awaited<ReturnType<typeof answer>>;
    for (let i = 0; i < 200 && (second = await answer())?.version !== 2; i++) await sleep(50);
    console.log(`ferry dev: a change to app.js served ${Date.now() - started} ms after the write`);
    expect(second?.version).toBe(2);
    running.child.kill('SIGINT');
    const result = await running.exited;
    expect(result.code, result.output).toBe(0);
    expect(result.output).toMatch(/changed: app\.js; restarting/);
    expect(result.output).toMatch(/redis: pid \d+ on 127\.0\.0\.1:\d+ \(REDIS_URL=redis:\/\/127\.0\.0\.1:\d+\)/);
    expect(await answer()).toBeUndefined();
    expect(await redisPing(redisPort)).toMatch(/^error: ECONNREFUSED/);
  }, 60_000);

  it('says what to add when nothing tells it how the app runs', async () => {
    project.writeConfig((config) => {
      delete config.environments.production.start;
      delete config.environments.staging.start;
      config.environments = {};
      config.dev = { port };
    });
    const result = await project.ferry(['dev']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ferry dev needs a command that runs the app/);
  });
});
