import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

  it('the API checks each body against its route: a missing, mistyped or unknown field is a 400 naming it, and nothing starts', async () => {
    const cases: Array<[string, string, unknown, RegExp]> = [
      ['POST', '/api/deployments', { enviroment: 'production' }, /env: Invalid input: expected string, received undefined.*Unrecognized key: "enviroment"/],
      ['POST', '/api/deployments', { env: 5 }, /^POST \/api\/deployments: env: Invalid input: expected string, received number$/],
      ['POST', '/api/deployments', { env: 'production', secrets: { API_KEY: 1 } }, /secrets\.API_KEY: Invalid input: expected string/],
      ['POST', '/api/rollbacks', { env: 'production', to: 3 }, /to: Invalid input: expected string/],
      ['POST', '/api/promotions', { from: 'staging' }, /to: Invalid input/],
      ['POST', '/api/tokens/rotate', { role: 'root' }, /role: Invalid option: expected one of "admin"\|"read"/],
      ['POST', '/api/incidents', { env: 'production', deploymentId: 'x' }, /deploymentId: Invalid input: expected number/],
      ['POST', '/api/tls/check', { renew: 'yes' }, /renew: Invalid input: expected boolean/],
      ['POST', '/api/shutdown', { stopRouter: 'no' }, /stopRouter: Invalid input: expected boolean/],
      ['POST', '/api/deployments', [], /body: Invalid input: expected object, received array/],
      ['POST', '/api/deployments', null, /body: Invalid input: expected object, received null/],
      ['POST', '/api/rollbacks', null, /body: Invalid input: expected object, received null/],
      ['POST', '/api/promotions', null, /body: Invalid input: expected object, received null/],
    ];
    for (const [method, path, body, message] of cases) {
      const reply = await request({ method, path, body: JSON.stringify(body) });
      expect([path, reply.status, reply.body.error.code, reply.body.error.message]).toEqual([path, 400, 'USAGE', expect.stringMatching(message)]);
      expect(reply.body.error.details.length).toBeGreaterThan(0);
    }
    // None of them started anything, shut the agent down or rotated a token.
    expect((await request({ path: '/api/deployments' })).body.deployments).toEqual([]);
    expect((await request({ path: '/api/health' })).body.pid).toBe(readAgentInfo(project).pid);
    expect((await request({ path: '/api/status' })).status).toBe(200);
  });

  it('environment names that are properties of every object (__proto__, constructor, toString) are unknown environments: exit 2, 400', async () => {
    for (const name of ['__proto__', 'constructor', 'toString']) {
      const deploy = await project.ferry(['deploy', name]);
      expect([name, deploy.code, deploy.stderr]).toEqual([name, 2, expect.stringContaining(`unknown environment "${name}"`)]);
      const reply = await request({ method: 'POST', path: '/api/deployments', body: JSON.stringify({ env: name }) });
      expect([name, reply.status, reply.body.error.code]).toEqual([name, 400, 'UNKNOWN_ENVIRONMENT']);
      expect((await request({ path: `/api/status?env=${name}` })).status).toBe(400);
    }
  });

  it('signing out ends the session on the agent: a copy of its cookie is refused afterwards, another sign-in is not', async () => {
    const { url, token } = readAgentInfo(project);
    const signIn = async () => {
      const response = await fetch(`${url}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json', origin: url, 'x-ferry-csrf': '1' }, body: JSON.stringify({ token }) });
      expect(response.status).toBe(200);
      return /ferry_session=([^;]+)/.exec(response.headers.get('set-cookie') ?? '')![1]!;
    };
    const asSession = (value: string, method = 'GET') => fetch(`${url}/api/session`, { method, headers: { cookie: `ferry_session=${value}`, origin: url, 'x-ferry-csrf': '1' } });
    const [kept, ended] = [await signIn(), await signIn()];
    expect(kept).not.toBe(ended);
    expect((await asSession(ended)).status).toBe(200);
    expect((await asSession(ended, 'DELETE')).status).toBe(204);
    // The cookie a browser just dropped, kept by someone else: refused, not valid for 30 days more.
    const replayed = await asSession(ended);
    expect(replayed.status).toBe(401);
    expect(((await replayed.json()) as { error: { message: string } }).error.message).toMatch(/signed out, expired, or its token was rotated/);
    expect((await asSession(kept)).status).toBe(200);
    // Kept by the agent across restarts, in a file only its owner reads.
    const sessionsFile = join(project.stateDir, 'sessions.json');
    expect((statSync(sessionsFile).mode & 0o777).toString(8)).toBe('600');
    expect(readFileSync(sessionsFile, 'utf8')).not.toContain(token);
  });

  it('the API is a route table: a known path with another method is 405 naming the ones it takes; each route says who may call it', async () => {
    const put = await request({ method: 'PUT', path: '/api/status' });
    expect([put.status, put.body.error.code, put.body.error.message]).toEqual([405, 'METHOD_NOT_ALLOWED', '/api/status takes GET, not PUT']);
    const session = await request({ method: 'PUT', path: '/api/session' });
    expect(session.body.error.message).toBe('/api/session takes POST, DELETE, GET, not PUT');
    // Who asks is checked first: without a token an unknown path is 401, not 404.
    expect((await request({ path: '/api/nothing', authorization: '' })).status).toBe(401);
    expect((await request({ path: '/api/nothing' })).status).toBe(404);
    const readOnly = (await project.ferry(['token', '--read-only'])).stdout.trim();
    const asReader = (method: string, path: string, body?: unknown) => request({ method, path, authorization: `Bearer ${readOnly}`, body: body === undefined ? undefined : JSON.stringify(body) });
    expect((await asReader('GET', '/api/status')).status).toBe(200);
    expect((await asReader('GET', '/api/logs?env=production')).body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/does not read logs/) });
    expect((await asReader('POST', '/api/deployments', { env: 'production' })).body.error).toMatchObject({ code: 'FORBIDDEN', message: expect.stringMatching(/may look, not change/) });
    expect((await asReader('POST', '/api/shutdown', {})).status).toBe(403);
  });

  it("the agent's exit code crosses the HTTP hop", async () => {
    const unknown = await project.ferry(['rollback', 'production', '--to', 'r99', '--json']);
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stdout).error).toMatchObject({ code: 'UNKNOWN_RELEASE', exitCode: 2 });
  });
});
