// The reference service's own tests (`npm test`, Node's test runner): it serves, reports health, and on SIGTERM
// finishes what is in flight before it exits 0. They start the real server on a free loopback port.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';

const SERVER = new URL('../server.js', import.meta.url).pathname;

async function startServer() {
  const child = spawn(process.execPath, [SERVER], { env: { ...process.env, PORT: '0', HOST: '127.0.0.1', FERRY_RELEASE: 'r-test' }, stdio: ['ignore', 'pipe', 'inherit'] });
  let output = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      output += chunk;
      const listening = /listening on 127\.0\.0\.1:(\d+)/.exec(output);
      if (listening) resolve(Number(listening[1]));
    });
    child.once('exit', (code) => reject(new Error(`server.js exited with ${code} before it listened: ${output}`)));
  });
  return { child, url: `http://127.0.0.1:${port}`, output: () => output };
}

test('GET /health answers 200 with the release', async (t) => {
  const server = await startServer();
  t.after(() => server.child.kill());
  const res = await fetch(`${server.url}/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { status: 'ok', release: 'r-test' });
});

test('GET / names the app, its version and release', async (t) => {
  const server = await startServer();
  t.after(() => server.child.kill());
  const body = await (await fetch(`${server.url}/`)).json();
  assert.equal(body.app, 'hello');
  assert.equal(body.release, 'r-test');
  assert.match(body.version, /^\d+\.\d+\.\d+$/);
});

test('GET /metrics: Prometheus text with the process metrics and the requests it answered', async (t) => {
  const server = await startServer();
  t.after(() => server.child.kill());
  await fetch(`${server.url}/`);
  await fetch(`${server.url}/health`);
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  const text = await res.text();
  assert.match(text, /^process_resident_memory_bytes\{release="r-test"\} \d+$/m);
  assert.match(text, /^nodejs_heap_size_used_bytes\{release="r-test"\} \d+$/m);
  assert.match(text, /^app_requests_total\{release="r-test",route="\/",code="2xx"\} 1$/m);
  assert.match(text, /^app_requests_total\{release="r-test",route="\/health",code="2xx"\} 1$/m);
});

test('on SIGTERM it finishes the request in flight, then exits 0', async () => {
  const server = await startServer();
  const inFlight = fetch(`${server.url}/?delay=800`);
  await new Promise((resolve) => setTimeout(resolve, 200));
  const exited = once(server.child, 'exit');
  server.child.kill('SIGTERM');
  const res = await inFlight;
  assert.equal(res.status, 200);
  assert.equal((await res.json()).release, 'r-test');
  const [code] = await exited;
  assert.equal(code, 0);
  assert.match(server.output(), /SIGTERM: finishing in-flight requests[\s\S]*stopped/);
});
