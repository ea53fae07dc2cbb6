import picomatch from 'picomatch';

export type BranchTarget = string | { through: string };

export type BranchDecision =
  | { action: 'deploy'; env: string; rule: string }
  | { action: 'through'; branch: string; env?: string; rule: string }
  | { action: 'none' };

/**
 * The branch policy as a decision tree, pure: an exact branch name first, then globs in the order written.
 * `{ through: main }` (hotfix/*) deploys nothing itself and names the branch it must be merged into.
 */
export function branchDecision(branch: string, branches: Record<string, BranchTarget>, environments: string[]): BranchDecision {
  const entries = Object.entries(branches);
  const hit = entries.find(([rule]) => rule === branch) ?? entries.find(([rule]) => rule !== branch && picomatch.isMatch(branch, rule));
  if (!hit) return { action: 'none' };
  const [rule, target] = hit;
  if (typeof target !== 'string') {
    const onward = branchDecision(target.through, branches, environments);
    return { action: 'through', branch: target.through, env: onward.action === 'deploy' ? onward.env : undefined, rule };
  }
  if (!environments.includes(target)) throw new Error(`branches: "${rule}" maps to environment "${target}", which ferry.yml does not define (environments: ${environments.join(', ')})`);
  return { action: 'deploy', env: target, rule };
}
