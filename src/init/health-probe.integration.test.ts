import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findHealthPath } from './health-probe.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A project whose server.js is `handler` (the body of a request listener that has `req` and `res`). */
function project(handler: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-health-probe-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'server.js'), `require('node:http').createServer((req, res) => {\n${handler}\n}).listen(Number(process.env.PORT), process.env.HOST);\n`);
  return dir;
}

describe("init's trial start: the health path", () => {
  it('is the usual path that answers 2xx when other paths do not', async () => {
    const dir = project(`res.statusCode = req.url === '/healthz' ? 200 : 404; res.end();`);
    const found = await findHealthPath(dir, 'node server.js', { needsInstall: false });
    expect(found.path, found.reason).toBe('/healthz');
    expect(found.reason).toMatch(/answered 200 on \/healthz$/);
  });

  it('of an app that answers 2xx on any path is the one its source names, not the first usual one that answered', async () => {
    const dir = project(`if (req.url === '/status') return res.end(JSON.stringify({ ok: true }));\nres.end('page for ' + req.url);`);
    const found = await findHealthPath(dir, 'node server.js', { needsInstall: false });
    expect(found.path, found.reason).toBe('/status');
    expect(found.reason).toMatch(/answered 200 on any path \(\/health, and \/ferry-init-no-such-path-[0-9a-f]{8} too\); \/status is the health path the source names$/);
  });

  it('of an app that answers 2xx on any path and names none is /, said to be a guess', async () => {
    const dir = project(`res.end('page for ' + req.url);`);
    const found = await findHealthPath(dir, 'node server.js', { needsInstall: false });
    expect(found.path, found.reason).toBe('/');
    expect(found.reason).toMatch(/on any path .*and the source names none of \/health, .*: \/ assumed; set health.path to a route that checks what the app needs$/);
  });
});
