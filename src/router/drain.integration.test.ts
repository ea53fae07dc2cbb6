import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, type TestProject } from '../../test/support/project.js';

/** An app with WebSocket-style upgrades that, on SIGTERM, sends each a close frame (1001 going away), as graceful servers do. */
const SERVER = `import http from 'node:http';
const upgraded = new Set();
const server = http.createServer((req, res) => {
  if (req.url === '/slow') return void setTimeout(() => res.end('slow'), 15000);
  res.end(process.env.FERRY_RELEASE);
});
server.on('upgrade', (req, socket) => {
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nupgrade: websocket\\r\\nconnection: upgrade\\r\\n\\r\\n');
  upgraded.add(socket);
  socket.on('close', () => upgraded.delete(socket));
});
server.listen(Number(process.env.PORT), process.env.HOST);
process.on('SIGTERM', () => {
  for (const socket of upgraded) socket.end(Buffer.from([0x88, 0x02, 0x03, 0xe9]));
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
});
`;

/** A WebSocket handshake through the router; resolves once the 101 arrived, then collects what the app sends until the close. */
function openUpgraded(port: number): Promise<{ received: () => Buffer; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('error', reject);
    socket.write('GET /ws HTTP/1.1\r\nhost: app\r\nupgrade: websocket\r\nconnection: upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n');
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('latin1');
      if (text.includes('\r\n\r\n') && text.startsWith('HTTP/1.1 101')) {
        const head = text.indexOf('\r\n\r\n') + 4;
        resolve({ received: () => Buffer.concat(chunks).subarray(head), closed });
      }
    });
  });
}

describe('draining the old release', () => {
  let project: TestProject;
  beforeAll(async () => {
    project = await createTestProject();
    project.commit({ 'server.js': SERVER }, 'an app with upgrades');
    project.writeConfig((config) => {
      Object.assign(config.environments.production, { health: { ...config.environments.production.health, path: '/' }, drain: '10s' });
    });
    const first = await project.ferry(['deploy', 'production']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
  });
  afterAll(() => project.cleanup());

  it('does not wait out the drain for an open WebSocket: the app closes it with its own close frame, and the report says so', async () => {
    const ws = await openUpgraded(project.ports.production);
    project.commit({ VERSION: '2' }, 'v2');
    const startedAt = Date.now();
    const second = await project.ferry(['deploy', 'production']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    const drainLine = (second.stdout + second.stderr).split('\n').find((line) => /✓ drain/.test(line))!;
    expect(drainLine).toMatch(/drained in \d+ms; 1 upgraded connection\(s\) \(WebSocket\) left to the app's own shutdown, stopped in \d+ms/);
    await ws.closed;
    // The client got the app's close frame (1001, going away), not a bare cut.
    expect([...ws.received()]).toEqual([0x88, 0x02, 0x03, 0xe9]);
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  });

  it('a drain that times out with requests open says so, with how many, never "drained"', async () => {
    project.writeConfig((config) => {
      Object.assign(config.environments.production, { health: { ...config.environments.production.health, path: '/' }, drain: '500ms' });
    });
    const slow = fetch(`http://127.0.0.1:${project.ports.production}/slow`).then((r) => r.status, () => 'cut');
    await new Promise((r) => setTimeout(r, 200));
    project.commit({ VERSION: '3' }, 'v3');
    const third = await project.ferry(['deploy', 'production']);
    expect(third.code, third.stdout + third.stderr).toBe(0);
    expect(third.stdout + third.stderr).toMatch(/drain timed out after \d+ms with 1 request\(s\) open \(cut by the stop\)/);
    expect(await Promise.race([slow, new Promise((r) => setTimeout(() => r('still open'), 3000))])).not.toBe(200);
  });
});
