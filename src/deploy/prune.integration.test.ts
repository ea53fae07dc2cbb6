import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, type TestProject } from '../../test/support/project.js';

let project: TestProject;
const dirs = (path: string) => readdirSync(join(project.stateDir, path)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));

beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.environments.production.retain = 2;
    config.environments.production.watch = '200ms';
  });
});
afterAll(() => project.cleanup());

describe('prune', () => {
  it('keeps `retain` releases and backups per environment, never another environment\'s, never the rollback target', async () => {
    expect((await project.ferry(['deploy', 'staging'])).code).toBe(0);
    for (let i = 0; i < 5; i++) {
      const result = await project.ferry(['deploy', 'production']);
      expect(result.code, result.stderr).toBe(0);
    }
    // r2..r6 are production releases; the newest two stay, and so does r5 as the previous (rollback target) release.
    expect(dirs('releases/production')).toEqual(['r5', 'r6']);
    expect(dirs('releases/staging')).toEqual(['r1']);
    expect(dirs('backups/production')).toEqual(['d5', 'd6']);
    expect(readdirSync(join(project.stateDir, 'logs/production')).every((name) => /-r[56]-/.test(name))).toBe(true);
    const rollback = await project.ferry(['rollback', 'production', '--json']);
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(JSON.parse(rollback.stdout)).toMatchObject({ release: 'r5', outcome: 'succeeded' });
    expect(dirs('releases/production')).toEqual(['r5', 'r6']);
    const pruned = await project.ferry(['rollback', 'production', '--to', 'r2']);
    expect(pruned.code).toBe(2);
    expect(pruned.stderr).toMatch(/release r2 was pruned/);
  });
});
