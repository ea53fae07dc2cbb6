import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { createTestProject, ferryUntil, httpGet, type TestProject } from '../../test/support/project.js';

let project: TestProject;

beforeAll(async () => {
  project = await createTestProject();
});
afterAll(() => project.cleanup());

const stagingRelease = async () => JSON.parse((await httpGet(project.ports.staging)).body).release as string;

describe('recreate (staging)', () => {
  it('replaces the old instance, and restores the old release when the new one fails its health gate', async () => {
    expect((await project.ferry(['deploy', 'staging'])).code).toBe(0);
    const second = await project.ferry(['deploy', 'staging']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/✓ stop-old[\s\S]*✓ start/);
    expect(await stagingRelease()).toBe('r2');

    project.commit({ 'fault.json': '{"healthStatus": 500}' }, 'bad');
    const bad = await project.ferry(['deploy', 'staging', '--json']);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({ outcome: 'rolled_back', failedStep: 'health-gate', serving: 'r2' });
    expect(bad.stderr).toMatch(/restoring r2[\s\S]*↺ undo stop-old .*r2 started again \(staging-r2-d3-1\) and serving/);
    expect(await stagingRelease()).toBe('r2');
    project.commit({ 'fault.json': null }, 'fixed');
  });
});

describe('the deploy lock', () => {
  it('makes a second concurrent deploy wait with a message; the two never interleave', async () => {
    project.writeConfig((config) => {
      config.environments.production.watch = '6s';
    });
    const first = ferryUntil(project, ['deploy', 'production'], /^→ watch$/m);
    await first.matched;
    const second = await project.ferry(['deploy', 'production', '--json']);
    const firstEnded = await first.exited;
    expect(firstEnded.code).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/waiting for the production lock, held by deployment \d+/);
    const history = JSON.parse((await project.ferry(['history', 'production', '--json'])).stdout).deployments;
    const [later, earlier] = history;
    expect(later.startedAt).toBeGreaterThanOrEqual(earlier.startedAt);
    const lockOfLater = later.steps.find((s: any) => s.name === 'lock');
    expect(lockOfLater.finishedAt).toBeGreaterThanOrEqual(earlier.finishedAt);
    // The first deploy of production had nothing to drain; the second, planned again after the wait, drained it.
    expect(later.steps.map((s: any) => s.name)).toContain('drain');
    const status = JSON.parse((await project.ferry(['status', 'production', '--json'])).stdout).environments[0];
    expect(status.instances).toHaveLength(1);
    project.writeConfig();
  });
});

describe('bad input changes nothing', () => {
  const snapshot = () => ({
    releases: existsSync(join(project.stateDir, 'releases/production')) ? readdirSync(join(project.stateDir, 'releases/production')).sort() : [],
  });

  it.each([
    ['a ref with shell metacharacters', ['--ref', 'main; touch /tmp/ferry-pwned'], /is not a git revision ferry accepts/],
    ['a ref that starts with a dash', ['--ref', '--output=/tmp/x'], /is not a git revision ferry accepts/],
    ['a ref that does not exist', ['--ref', 'no-such-branch'], /does not name a commit/],
  ])('%s → exit 2', async (_name, args, message) => {
    const before = snapshot();
    const historyBefore = JSON.parse((await project.ferry(['history', '--json'])).stdout).deployments.length;
    const result = await project.ferry(['deploy', 'production', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(snapshot()).toEqual(before);
    expect(JSON.parse((await project.ferry(['history', '--json'])).stdout).deployments.length).toBe(historyBefore);
    expect(existsSync('/tmp/ferry-pwned')).toBe(false);
  });

  it('a port taken by another program stops the deploy before anything starts', async () => {
    const squatter = net.createServer();
    const port = await new Promise<number>((r) => squatter.listen(0, '127.0.0.1', () => r((squatter.address() as { port: number }).port)));
    project.writeConfig((config) => {
      config.environments.staging.port = port;
    });
    const result = await project.ferry(['deploy', 'staging', '--json']);
    squatter.close();
    project.writeConfig();
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'lock' });
    expect(result.stderr).toMatch(new RegExp(`cannot listen on 127.0.0.1:${port} for environment "staging": EADDRINUSE`));
    expect(JSON.parse((await httpGet(project.ports.staging)).body).release).toBe('r2');
  });

  it('an unknown environment → exit 2 with the names that exist', async () => {
    for (const args of [['deploy', 'prod'], ['status', 'prod'], ['rollback', 'prod'], ['logs', 'prod'], ['history', 'prod']]) {
      const result = await project.ferry(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/unknown environment "prod"[\s\S]*production, staging/);
    }
  });

  it('an invalid ferry.yml → exit 2, one line per problem, nothing started', async () => {
    project.writeConfig((config) => {
      config.environments.production.health.interval = 'often';
      config.environments.staging.port = config.environments.production.port;
      config.environments.production.colour = 'blue';
    });
    const result = await project.ferry(['deploy', 'production']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/ferry.yml is invalid \(3 problems\)/);
    expect(result.stderr).toMatch(/environments\.production\.health\.interval: expected a duration/);
    expect(result.stderr).toMatch(/environments\.production: unknown key "colour"/);
    expect(result.stderr).toMatch(/environments\.staging\.port: port \d+ is also used by environment "production"/);
    project.writeConfig();
  });

  it('a usage error → exit 2', async () => {
    expect((await project.ferry(['deploy'])).code).toBe(2);
    expect((await project.ferry(['frobnicate'])).code).toBe(2);
  });
});
