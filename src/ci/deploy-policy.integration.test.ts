import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';

let project: TestProject;
beforeAll(async () => {
  project = await createTestProject();
  project.writeConfig((config) => {
    config.pipeline = { stages: { test: { run: 'test -f server.js' } } };
  });
  project.commit({}, 'pipeline');
});
afterAll(async () => {
  await project.ferry(['agent', 'stop']);
  await project.cleanup();
});

const ci = (branch: string) => project.ferry(['ci', '--deploy', '--branch', branch]);

describe('ferry ci --deploy: the branch policy', () => {
  it('main → production, after a green pipeline', async () => {
    const result = await ci('main');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/main → production \(branches: "main"\): deploying/);
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r1');
  });

  it('develop → staging', async () => {
    const result = await ci('develop');
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse((await httpGet(project.ports.staging)).body).release).toBe('r2');
  });

  it('hotfix/* deploys nothing itself: it reaches production through main', async () => {
    const result = await ci('hotfix/login-500');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/hotfix\/login-500 deploys nothing itself: it reaches production by merging into main \(branches: "hotfix\/\*"\)/);
  });

  it('a branch the policy does not name deploys nothing', async () => {
    const result = await ci('feature/cart');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/feature\/cart maps to no environment in ferry.yml's branches: nothing to deploy/);
  });

  it('a red pipeline deploys nothing, whatever the branch', async () => {
    project.writeConfig((config) => {
      config.pipeline = { stages: { check: { run: 'exit 3' } } };
    });
    const result = await ci('main');
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/not deploying: the pipeline failed/);
    const history = JSON.parse((await project.ferry(['history', '--json'])).stdout).deployments;
    expect(history).toHaveLength(2);
  });
});
