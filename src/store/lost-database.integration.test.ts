import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, httpGet, readAgentInfo, type TestProject } from '../../test/support/project.js';
import { isProcessAlive, sleep } from '../util/sleep.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  for (const version of ['1.0.0', '2.0.0']) {
    project.commit({ 'package.json': `{"name":"hello","version":"${version}","type":"module"}\n` }, version);
    const result = await project.ferry(['deploy', 'production']);
    expect(result.code, result.stdout + result.stderr).toBe(0);
  }
});
afterAll(() => project.cleanup());

describe('a deleted state database', () => {
  it('stops the agent at once (the router keeps serving); the next agent knows the releases again and never reuses an id', async () => {
    const agent = readAgentInfo(project);
    const db = join(project.stateDir, 'ferry.db');
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
    const deadline = Date.now() + 5000;
    while (isProcessAlive(agent.pid) && Date.now() < deadline) await sleep(50);
    expect(isProcessAlive(agent.pid)).toBe(false);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r2');

    const status = await project.ferry(['status', 'production']);
    expect(status.stdout).toMatch(/serving: r2 /);
    expect(status.stdout).toMatch(/ferry\.db did not know r2, r1/);
    const r2Manifest = readFileSync(join(project.stateDir, 'releases/production/r2/release.json'), 'utf8');

    project.commit({ 'package.json': '{"name":"hello","version":"3.0.0","type":"module"}\n' }, '3.0.0');
    const next = await project.ferry(['deploy', 'production', '--json']);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    const result = JSON.parse(next.stdout);
    expect(result.release).toBe('r3');
    expect(result.deploymentId).toBeGreaterThan(2);
    expect(readFileSync(join(project.stateDir, 'releases/production/r2/release.json'), 'utf8')).toBe(r2Manifest);
    expect(existsSync(join(project.stateDir, 'releases/production/r3/app'))).toBe(true);
    // A recovered release is a rollback target again.
    const back = await project.ferry(['rollback', 'production', '--to', 'r2']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r2');
  });
});
