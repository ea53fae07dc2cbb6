import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, type TestProject } from '../../../test/support/project.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.shared = ['data'];
  });
  project.commit({}, 'shared data folder');
});
afterAll(() => project.cleanup());

const url = (path: string) => `http://127.0.0.1:${project.ports.production}${path}`;
const notes = async () => (await (await fetch(url('/notes'))).json()) as { notes: string[]; release: string };

describe('shared folders (process runtime)', () => {
  it('data written by one release is there for the next one and after a rollback; status shows where it lives', async () => {
    expect((await project.ferry(['deploy', 'production'])).code).toBe(0);
    expect((await fetch(url('/notes'), { method: 'POST', body: 'written by r1' })).status).toBe(201);
    project.commit({ VERSION: '2\n' }, 'r2');
    const second = await project.ferry(['deploy', 'production']);
    expect(second.code, second.stdout).toBe(0);
    expect(second.stdout).toMatch(/✓ build .*shared: data → .*\/shared\/production\/data/);
    expect(await notes()).toEqual({ notes: ['written by r1'], release: 'r2' });
    expect(lstatSync(join(project.stateDir, 'releases/production/r2/app/data')).isSymbolicLink()).toBe(true);
    expect((await project.ferry(['status', 'production'])).stdout).toContain(`data: shared data → ${join(project.stateDir, 'shared/production')}/data`);
    const back = await project.ferry(['rollback', 'production', '--to', 'r1']);
    expect(back.code, back.stdout).toBe(0);
    expect(await notes()).toEqual({ notes: ['written by r1'], release: 'r1' });
  });
});
