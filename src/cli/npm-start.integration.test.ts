import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FERRY_BIN, REPO_ROOT, httpGet } from '../../test/support/project.js';
import { sleep } from '../util/sleep.js';
import { statePaths } from '../state/paths.js';

const dir = mkdtempSync(join(tmpdir(), 'ferry-start-'));
/** The agent's record: gone once the agent has stopped. */
const readAgentInfoOrUndefined = () => (existsSync(statePaths(dir).agentInfo) ? readFileSync(statePaths(dir).agentInfo, 'utf8') : undefined);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `ferry up` commands a failed test left running: stopped (as Ctrl-C does), so the next test starts clean. */
const running = new Set<ChildProcess>();
afterEach(async () => {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child.once('close', resolve));
      child.kill('SIGINT');
      await Promise.race([gone, sleep(30_000)]);
      child.kill('SIGKILL');
    }
    running.delete(child);
  }
});

/** `ferry up` on the copy, until its output shows `text` (or it exits, or a minute passes). */
async function ferryUpUntil(text: string) {
  const child = spawn(process.execPath, [FERRY_BIN, 'up', '--project', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  child.stdout.on('data', (c) => (output += c));
  child.stderr.on('data', (c) => (output += c));
  const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  const deadline = Date.now() + 60_000;
  while (!output.includes(text) && Date.now() < deadline && child.exitCode === null) await sleep(50);
  return { child, output: () => output, exited };
}

describe('npm start', () => {
  it('runs `ferry up --project example`', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8'));
    expect(pkg.scripts.start).toBe('node bin/ferry.js up --project example');
  });

  it('deploys the bundled example as configured: production on :3000, staging on :3001, dashboard and API printed', async () => {
    cpSync(join(REPO_ROOT, 'example'), dir, { recursive: true, filter: (from) => !from.includes('.ferry') });
    for (const args of [['init', '-q'], ['add', '-A'], ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'example']]) execFileSync('git', args, { cwd: dir });
    const { child, output: said, exited } = await ferryUpUntil('ferry is running');
    const output = said();
    try {
      expect(output).toContain('ferry is running');
      expect(output).toMatch(/production\s+http:\/\/127\.0\.0\.1:3000/);
      expect(output).toMatch(/staging\s+http:\/\/127\.0\.0\.1:3001/);
      expect(output).toMatch(/dashboard\s+http:\/\/127\.0\.0\.1:7070\//);
      expect(output).toMatch(/API\s+http:\/\/127\.0\.0\.1:7070\/api/);
      const production = await httpGet(3000);
      expect(production.status).toBe(200);
      expect(JSON.parse(production.body)).toMatchObject({ app: 'hello', version: '1.0.0', release: 'r1' });
      expect(JSON.parse((await httpGet(3001)).body)).toMatchObject({ app: 'hello', release: 'r2' });
      expect((await httpGet(3000, '/health')).status).toBe(200);
      // The dashboard's page, and what it shows once signed in with the token `ferry token` prints.
      expect((await httpGet(7070, '/')).body).toContain('<title>ferry</title>');
      const token = execFileSync(process.execPath, [FERRY_BIN, 'token', '--project', dir], { encoding: 'utf8' }).trim();
      const status = (await (await fetch('http://127.0.0.1:7070/api/status', { headers: { authorization: `Bearer ${token}` } })).json()) as { app: string; environments: Array<{ env: string; serving: { id: string } }> };
      expect(status.app).toBe('hello');
      expect(status.environments.find((each) => each.env === 'production')?.serving.id).toBe('r1');
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(0);
    await expect(httpGet(3000)).rejects.toThrow();
    // ferry's releases (copies of the project, tests included) live outside it: the project's own test run finds its tests once.
    expect(existsSync(join(dir, '.ferry'))).toBe(false);
    const tests = execFileSync('npm', ['test', '--silent'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
    expect(tests).toMatch(/^(#|ℹ) pass 4$/m);
  });

  it('Ctrl-C during the first deploys stops everything it started (exit 130), not leaving an agent behind', async () => {
    const { child, output: said, exited } = await ferryUpUntil('→ watch');
    child.kill('SIGINT');
    expect(await exited, said()).toBe(130);
    const output = said();
    expect(output).toContain('stopping: the agent, the router and the instances');
    expect(output).not.toContain('lost the connection to the agent');
    await expect(httpGet(3000)).rejects.toThrow();
    expect(readAgentInfoOrUndefined()).toBeUndefined();
  }, 90_000);

  it("the reference service's own tests pass (what its pipeline's test stage runs)", () => {
    const output = execFileSync('npm', ['test', '--silent'], { cwd: join(REPO_ROOT, 'example'), encoding: 'utf8', timeout: 60_000 });
    expect(output).toMatch(/^(#|ℹ) pass 4$/m);
    expect(output).toMatch(/^(#|ℹ) fail 0$/m);
  });
});
