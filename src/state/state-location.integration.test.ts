import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, renameSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
});
afterAll(() => project.cleanup());

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

describe("ferry's state", () => {
  it('lives outside the project tree, in private folders and files, and status says where', async () => {
    const deployed = await project.ferry(['deploy', 'production']);
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0);
    expect(existsSync(join(project.dir, '.ferry'))).toBe(false);
    const stateDir = project.stateDir;
    expect(relative(project.dir, stateDir).startsWith('..')).toBe(true);
    expect(stateDir).toMatch(/\/ferry\/hello-[0-9a-f]{8}$/);
    const status = await project.ferry(['status']);
    expect(status.stdout).toContain(`state: ${stateDir}`);
    expect(JSON.parse((await project.ferry(['status', '--json'])).stdout).state).toMatchObject({ dir: stateDir, source: 'default' });

    expect(mode(stateDir)).toBe('700');
    const logs = readdirSync(join(stateDir, 'logs/production')).map((name) => join('logs/production', name));
    for (const file of ['ferry.db', 'ferry.db-wal', 'agent.json', 'agent.log', 'router/state.json', 'router/router.log', 'router/router.pid', 'releases/production/r1/.env', ...logs]) {
      expect([file, mode(join(stateDir, file))]).toEqual([file, '600']);
    }
  });

  it('an older in-project .ferry is moved out when nothing of it runs, its history and releases kept', async () => {
    const stateDir = project.stateDir;
    expect((await project.ferry(['agent', 'stop'])).code).toBe(0);
    renameSync(stateDir, join(project.dir, '.ferry'));
    const status = await project.ferry(['status', 'production']);
    expect(status.stdout + status.stderr).toContain(`moved ferry's state from ${join(project.dir, '.ferry')}`);
    expect(existsSync(join(project.dir, '.ferry'))).toBe(false);
    expect(status.stdout).toMatch(/last deployment: #1 deploy r1 succeeded/);
    // Paths recorded inside (release directories) follow the move: a rollback target's directory is found.
    project.commit({ 'package.json': '{"name":"hello","version":"2.0.0","type":"module"}\n' }, 'v2');
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    const back = await project.ferry(['rollback', 'production']);
    expect(back.code, back.stdout + back.stderr).toBe(0);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r1');
  });
});
