import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, readAgentInfo, type TestProject } from '../../test/support/project.js';

let project: TestProject;
let config: string;
beforeAll(async () => {
  project = await createTestProject();
  config = readFileSync(join(project.dir, 'ferry.yml'), 'utf8');
  expect((await project.ferry(['agent', '--detach'])).code).toBe(0);
});
afterAll(() => project.cleanup());

/** Runs a command with another ferry.yml in place, then puts the real one back. */
async function withConfig(write: (file: string) => void, args: string[]) {
  const file = join(project.dir, 'ferry.yml');
  renameSync(file, `${file}.real`);
  try {
    write(file);
    return await project.ferry(args);
  } finally {
    rmSync(file, { recursive: true, force: true });
    renameSync(`${file}.real`, file);
  }
}

function request(options: { method?: string; path: string; host?: string; authorization?: string; body?: string | Buffer }): Promise<{ status: number; body: any }> {
  const agent = readAgentInfo(project);
  const url = new URL(agent.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: options.host ?? `127.0.0.1:${url.port}` };
    headers.authorization = options.authorization ?? `Bearer ${agent.token}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    const req = http.request({ host: '127.0.0.1', port: Number(url.port), method: options.method ?? 'GET', path: options.path, headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('bad input is a usage error: exit 2 or HTTP 4xx, with what was wrong', () => {
  it('ferry.yml that is a folder, over 1 MB, or an alias bomb: exit 2 at once', async () => {
    const folder = await withConfig((file) => mkdirSync(file), ['status']);
    expect([folder.code, folder.stderr]).toEqual([2, expect.stringMatching(/ferry\.yml is not a file \(it is a folder\)/)]);

    const started = Date.now();
    const huge = await withConfig((file) => writeFileSync(file, config + `# ${'x'.repeat(1_100_000)}\n`), ['status']);
    expect([huge.code, huge.stderr]).toEqual([2, expect.stringMatching(/is 1100\d+ bytes; ferry\.yml may be at most 1000000 bytes/)]);
    expect(Date.now() - started).toBeLessThan(10_000);

    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`)].join('\n');
    const alias = await withConfig((file) => writeFileSync(file, `${config}\n${bomb}\n`), ['status', '--json']);
    expect(alias.code).toBe(2);
    expect(JSON.parse(alias.stdout).error).toMatchObject({ code: 'CONFIG_INVALID', exitCode: 2 });
  });

  it('history -n abc and logs -n abc: exit 2, not a database error or a silently ignored option', async () => {
    for (const args of [['history', '-n', 'abc'], ['logs', 'production', '-n', 'abc'], ['history', '-n', '0'], ['agent', '--port', 'x']]) {
      const result = await project.ferry(args);
      expect([args.join(' '), result.code, result.stderr]).toEqual([args.join(' '), 2, expect.stringMatching(/expected a (whole number|port)/)]);
    }
  });

  it('the API answers invalid JSON 400, an oversized body 413, limit=abc 400, never 500', async () => {
    const invalid = await request({ method: 'POST', path: '/api/deployments', body: '{"env": ' });
    expect([invalid.status, invalid.body.error.code, invalid.body.error.exitCode]).toEqual([400, 'INVALID_JSON', 2]);
    const large = await request({ method: 'POST', path: '/api/deployments', body: `{"env":"${'x'.repeat(1_100_000)}"}` }).catch((error: Error) => ({ status: 0, body: error.message }));
    expect(large.status).toBe(413);
    const limit = await request({ path: '/api/deployments?limit=abc' });
    expect([limit.status, limit.body.error.code]).toEqual([400, 'USAGE']);
    const missing = await request({ path: '/api/deployments/9999' });
    expect([missing.status, missing.body.error.code]).toEqual([404, 'NOT_FOUND']);
  });

  it('the agent answers only loopback Host names (DNS rebinding), and only a Bearer token', async () => {
    for (const path of ['/', '/api/status', '/api/health']) {
      const evil = await request({ path, host: 'evil.example' });
      expect([path, evil.status, evil.body.error?.code]).toEqual([path, 421, 'HOST_REFUSED']);
    }
    for (const host of ['localhost', `localhost:1`, '[::1]:7070']) expect((await request({ path: '/api/health', host })).status).toBe(200);
    const token = readAgentInfo(project).token;
    const bare = await request({ path: '/api/status', authorization: token });
    expect([bare.status, bare.body.error.code]).toEqual([401, 'UNAUTHORIZED']);
    expect((await request({ path: '/api/status', authorization: `Basic ${token}` })).status).toBe(401);
    expect((await request({ path: '/api/status' })).status).toBe(200);
  });

  it("the agent's exit code crosses the HTTP hop", async () => {
    const unknown = await project.ferry(['rollback', 'production', '--to', 'r99', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'UNKNOWN_RELEASE', exitCode: 2 });
  });
});
