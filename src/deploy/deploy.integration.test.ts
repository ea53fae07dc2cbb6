import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';
import { KeepAliveLoad } from '../../test/support/load.js';
import { startWebhook } from '../../test/support/webhook.js';

let project: TestProject;
let hook: Awaited<ReturnType<typeof startWebhook>>;

beforeAll(async () => {
  hook = await startWebhook();
  project = await createTestProject();
  const hookUrl = `${hook.url}/ferry`;
  project.writeConfig((config) => {
    config.environments.production.health.deadline = '3s';
    config.environments.production.watch = '2s';
    config.environments.production.secrets = ['API_KEY'];
    config.environments.production.notify = { webhook: hookUrl, webhook_secret_env: 'HOOK_SECRET' };
  });
  project.commit({}, 'config');
});
afterAll(async () => {
  await project.cleanup();
  hook?.close();
});

const secrets = { API_KEY: 'key-that-must-not-leak', HOOK_SECRET: 'hook-secret' };
const deploy = (extra: string[] = []) => project.ferry(['deploy', 'production', '--json', ...extra], secrets);
const release = async () => JSON.parse((await httpGet(project.ports.production)).body).release as string;

describe('blue-green deploys of the process runtime', () => {
  it('refuses a deploy whose secrets are missing, with exit 2 and nothing changed', async () => {
    const result = await project.ferry(['deploy', 'production']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/secrets of production are not set in this shell: API_KEY, HOOK_SECRET/);
    // The webhook's signing secret counts as one: a deploy without it would have sent the webhook unsigned.
    const unsigned = await project.ferry(['deploy', 'production'], { API_KEY: 'x' });
    expect(unsigned.code).toBe(2);
    expect(unsigned.stderr).toMatch(/secrets of production are not set in this shell: HOOK_SECRET/);
  });

  it('runs five deploys under keep-alive load without a failed request', async () => {
    const first = await deploy();
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ outcome: 'succeeded', exitCode: 0, release: 'r1' });
    expect(first.stdout + first.stderr).not.toContain(secrets.API_KEY);

    const load = new KeepAliveLoad({ port: project.ports.production, connections: 20 });
    load.start();
    project.commit({ 'package.json': readFileSync(join(project.dir, 'package.json'), 'utf8').replace('"1.0.0"', '"1.1.0"') }, 'v1.1');
    const second = await deploy();
    expect(second.code, second.stderr).toBe(0);
    expect(await release()).toBe('r2');

    project.commit({ 'fault.json': '{"exitAtStart": true}' }, 'exits at start');
    const third = await deploy();
    expect(third.code).toBe(1);
    expect(JSON.parse(third.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'health-gate', serving: 'r2' });
    expect(third.stderr).toMatch(/last log lines of production-r3-d\d+-1:\n\s+\| fault.json: exiting at start/);
    expect(third.stderr).toMatch(/instance exited with code 1 before it became healthy/);

    project.commit({ 'fault.json': '{"healthStatus": 500}' }, 'health 500');
    const fourth = await deploy();
    expect(fourth.code).toBe(1);
    expect(JSON.parse(fourth.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'health-gate', serving: 'r2' });
    expect(fourth.stderr).toMatch(/health checks of production-r4-d\d+-1:\n\s+\S+ FAIL 500/);

    project.commit({ 'fault.json': '{"unhealthyAfterMs": 700}' }, 'unhealthy after the switch');
    const fifth = await deploy();
    expect(fifth.code).toBe(1);
    const fifthResult = JSON.parse(fifth.stdout);
    expect(fifthResult).toMatchObject({ outcome: 'rolled_back', failedStep: 'watch', serving: 'r2' });
    expect(fifthResult.timings.failureToRestoredMs).toBeGreaterThanOrEqual(0);

    const summary = await load.stop();
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    expect(await release()).toBe('r2');
  });

  it('writes secrets to the release .env with mode 0600 and nowhere else', async () => {
    const envFile = join(project.stateDir, 'releases/production/r2/.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain('API_KEY="key-that-must-not-leak"');
    const history = await project.ferry(['history', 'production', '--json']);
    const status = await project.ferry(['status', '--json']);
    expect(history.stdout + status.stdout).not.toContain(secrets.API_KEY);
  });

  it('shows status and history with steps, timings and outcomes', async () => {
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout);
    const production = status.environments[0];
    expect(production.serving).toMatchObject({ id: 'r2', ref: 'HEAD', branch: 'main', subject: expect.any(String), commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
    expect((await project.ferry(['status', 'production'])).stdout).toMatch(/serving: r2 {2}[0-9a-f]{12} {2}main {2}"[^"]+"/);
    expect(production.lastDeployment).toMatchObject({ outcome: 'rolled_back' });
    expect(production.instances).toEqual([expect.objectContaining({ release: 'r2', state: 'serving', healthy: true })]);
    expect(production.lastDeployment).toMatchObject({ state: 'rolled_back' });
    const history = JSON.parse((await project.ferry(['history', 'production', '--json'])).stdout).deployments;
    expect(history.map((d: any) => d.outcome)).toEqual(['rolled_back', 'halted', 'halted', 'succeeded', 'succeeded']);
    const rolledBack = history[0];
    // Each undo is recorded after the failure that caused it, newest step first.
    expect(rolledBack.steps.map((s: any) => [s.name, s.phase, s.state])).toEqual([
      ['lock', 'run', 'succeeded'], ['release', 'run', 'succeeded'], ['secrets', 'run', 'succeeded'], ['backup', 'run', 'succeeded'], ['build', 'run', 'succeeded'], ['start', 'run', 'succeeded'],
      ['health-gate', 'run', 'succeeded'], ['switch', 'run', 'succeeded'], ['watch', 'run', 'failed'],
      ['switch', 'undo', 'compensated'], ['start', 'undo', 'compensated'], ['notify', 'run', 'succeeded'],
    ]);
    expect(rolledBack.steps.find((s: any) => s.phase === 'undo' && s.name === 'switch').detail).toMatch(/^switched back to r2 \(production-r2-d\d+-1\)$/);
    expect(rolledBack.steps.every((s: any) => typeof s.durationMs === 'number')).toBe(true);
    const human = await project.ferry(['history', 'production']);
    expect(human.stdout).toMatch(/#\d+\s+production\s+deploy\s+r5\s+rolled_back .* [0-9a-f]{8} main "[^"]+"$/m);
    expect(human.stdout).toMatch(/✗ watch .*turned unhealthy after the switch[\s\S]*↺ undo switch\s+\S+\s+switched back to r2[\s\S]*↺ undo start\s+\S+\s+stopped production-r5/);
  });

  it('sent a signed notification for every outcome to the local receiver', () => {
    expect(hook.received.map((r) => r.json.outcome)).toEqual(['succeeded', 'succeeded', 'halted', 'halted', 'rolled_back']);
    expect(hook.received.every((r) => String(r.headers['x-ferry-signature']).startsWith('sha256='))).toBe(true);
  });

  it('prints instance logs', async () => {
    const logs = await project.ferry(['logs', 'production']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toMatch(/==> production-r2-d\d+-1 \(running\) <==\nhello 1.1.0 \(r2\) listening/);
    const failed = await project.ferry(['logs', 'production', '--release', 'r3']);
    expect(failed.stdout).toContain('fault.json: exiting at start');
  });

  it('rolls back to the previous good release, and to a named one', async () => {
    const delivered = hook.received.length;
    const back = await project.ferry(['rollback', 'production', '--json']);
    expect(back.code, back.stderr).toBe(0);
    // Rolled back from a shell without HOOK_SECRET: no webhook went out unsigned, and the rollback said so.
    expect(back.stderr).toMatch(/warning: the webhook was not sent: HOOK_SECRET \(notify\.webhook_secret_env, its signing secret\) was not given to this rollback/);
    expect(hook.received.length).toBe(delivered);
    expect(JSON.parse(back.stdout)).toMatchObject({ kind: 'rollback', outcome: 'succeeded', release: 'r1' });
    expect(await release()).toBe('r1');
    const named = await project.ferry(['rollback', 'production', '--to', 'r2']);
    expect(named.code, named.stderr).toBe(0);
    expect(await release()).toBe('r2');
    const unknown = await project.ferry(['rollback', 'production', '--to', 'r99']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/release r99 is not a release of production/);
  });
});
