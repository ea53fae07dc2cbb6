import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestProject, httpGet, type TestProject } from '../../../test/support/project.js';

let project: TestProject;
const secrets = { API_KEY: 'sup3r-secret-value' };

beforeAll(async () => {
  project = await createTestProject();
});
afterAll(() => project.cleanup());

describe('the build step', () => {
  it('runs in the release directory, streams its output, and never prints secret values', async () => {
    project.writeConfig((config) => {
      config.environments.production.secrets = ['API_KEY'];
      config.environments.production.build = 'echo "building with key $API_KEY" && echo built > BUILT';
    });
    const result = await project.ferry(['deploy', 'production'], secrets);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('building with key ***');
    expect(result.stdout + result.stderr).not.toContain(secrets.API_KEY);
    expect(existsSync(join(project.stateDir, 'releases/production/r1/app/BUILT'))).toBe(true);
    expect(readFileSync(join(project.stateDir, 'releases/production/r1/build.log'), 'utf8')).not.toContain(secrets.API_KEY);
  });

  it('halts on a failed build, shows its last lines, and keeps the previous release serving', async () => {
    project.writeConfig((config) => {
      config.environments.production.secrets = ['API_KEY'];
      config.environments.production.build = 'echo compiling && echo "error TS2322: broken" >&2 && exit 4';
    });
    const result = await project.ferry(['deploy', 'production', '--json'], secrets);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'build', serving: 'r1' });
    expect(result.stderr).toMatch(/build `echo compiling.*` exited with code 4; last lines:\ncompiling\nerror TS2322: broken/);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r1');
  });
});
