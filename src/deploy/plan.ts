import type { DeploymentKind } from '../store/records.js';

/** Named steps of a deployment, in the order they run. Planning is pure: no I/O here. */
export type StepName =
  | 'lock'
  | 'release'
  | 'secrets'
  | 'backup'
  | 'build'
  | 'migrate'
  | 'stop-old'
  | 'start'
  | 'health-gate'
  | 'switch'
  | 'watch'
  | 'analysis'
  | 'drain'
  | 'final-health'
  | 'prune'
  | 'notify';

export type Strategy = 'blue-green' | 'recreate';

/**
 * Migrations run after the build and before anything new starts (and before a recreate stops the old
 * release): a failed migration halts the deploy with the previous release still serving. A rollback runs
 * no migrations: schema changes are made expand/contract, so the previous release works with the new schema.
 */
export function planSteps(strategy: Strategy, kind: DeploymentKind, options: { hasBuild: boolean; hasPrevious: boolean; hasMigrations?: boolean; hasAnalysis?: boolean }): StepName[] {
  // A deploy with `analysis:` checks watches with the metrics gate (health through the router, and the checks); a rollback just watches.
  const gate: StepName = options.hasAnalysis && kind === 'deploy' ? 'analysis' : 'watch';
  const prepare: StepName[] =
    kind === 'deploy' ? ['release', 'secrets', 'backup', ...(options.hasBuild ? (['build'] as const) : []), ...(options.hasMigrations ? (['migrate'] as const) : [])] : ['backup'];
  if (strategy === 'recreate') {
    return ['lock', ...prepare, ...(options.hasPrevious ? (['stop-old'] as const) : []), 'start', 'health-gate', 'switch', ...(gate === 'analysis' ? [gate] : []), 'final-health', 'prune', 'notify'];
  }
  const afterSwitch: StepName[] = options.hasPrevious ? [gate, 'drain'] : [gate];
  return ['lock', ...prepare, 'start', 'health-gate', 'switch', ...afterSwitch, 'final-health', 'prune', 'notify'];
}

/** Pure: how a failed deployment ends. Before traffic moved, the old release never stopped serving. */
export function outcomeOfFailure(facts: { trafficChanged: boolean; previousServing: boolean }): 'halted' | 'rolled_back' | 'failed' {
  if (!facts.trafficChanged) return 'halted';
  return facts.previousServing ? 'rolled_back' : 'failed';
}

export function exitCodeOf(state: 'succeeded' | 'halted' | 'rolled_back' | 'failed'): 0 | 1 | 3 {
  return state === 'succeeded' ? 0 : state === 'failed' ? 3 : 1;
}
