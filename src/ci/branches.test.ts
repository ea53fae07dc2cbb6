import { describe, expect, it } from 'vitest';
import { branchDecision } from './branches.js';

const policy = { develop: 'staging', main: 'production', 'hotfix/*': { through: 'main' }, 'release/*': 'staging' };
const envs = ['staging', 'production'];

describe('branch policy', () => {
  it('develop deploys to staging', () => expect(branchDecision('develop', policy, envs)).toEqual({ action: 'deploy', env: 'staging', rule: 'develop' }));
  it('main deploys to production', () => expect(branchDecision('main', policy, envs)).toEqual({ action: 'deploy', env: 'production', rule: 'main' }));
  it('a hotfix reaches production through main, deploying nothing itself', () =>
    expect(branchDecision('hotfix/login-500', policy, envs)).toEqual({ action: 'through', branch: 'main', env: 'production', rule: 'hotfix/*' }));
  it('a feature branch deploys nothing', () => expect(branchDecision('feature/cart', policy, envs)).toEqual({ action: 'none' }));
  it('globs match one level: hotfix/a/b is not hotfix/*', () => expect(branchDecision('hotfix/a/b', policy, envs)).toEqual({ action: 'none' }));
  it('an exact name wins over a glob', () => expect(branchDecision('release/*', { 'release/*': 'staging', '**': 'production' }, envs).action).toBe('deploy'));
  it('refuses a branch mapped to an environment that does not exist', () =>
    expect(() => branchDecision('main', { main: 'prod' }, envs)).toThrow(/"main" maps to environment "prod", which ferry.yml does not define/));
});
