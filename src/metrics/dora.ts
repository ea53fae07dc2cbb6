/**
 * DORA's four keys, computed exactly from ferry's own deploy log (no matching of incidents to deploys by time):
 * which release served when, which deploy brought which commits, what was rolled back and what an incident
 * names. Pure: the caller reads the store and git and passes the facts in.
 *
 * Performance levels: the thresholds of the Accelerate State of DevOps Report 2023 (DORA, Google Cloud), as
 * listed in docs/metrics.md.
 */

export type DoraLevel = 'elite' | 'high' | 'medium' | 'low';

/** A value, or why there is none: "no data" is its own outcome, never 0. */
export type Measured<T> = ({ value: T } & Record<string, unknown>) | { noData: string };

export interface DoraDeployment {
  id: number;
  kind: 'deploy' | 'rollback';
  outcome: 'succeeded' | 'rolled_back' | 'halted' | 'failed' | null;
  releaseId: string | null;
  /** The release that served before (what a rollback went away from). */
  previousReleaseId: string | null;
  startedAt: number;
  finishedAt: number | null;
  /** When traffic moved to its release (the switch step finished); null when it never did. */
  switchedAt: number | null;
}

export interface DoraIncident {
  id: number;
  /** The deployment the incident names: linked explicitly, never by time. */
  deploymentId: number;
  openedAt: number;
  closedAt: number | null;
}

export interface DoraInput {
  /** One environment's deployments (any order). */
  deployments: DoraDeployment[];
  incidents: DoraIncident[];
  /** The author times (ms) of the commits a deploy brought; undefined when git cannot tell. */
  commitTimes: (deployment: DoraDeployment) => number[] | undefined;
  window: { since: number; until: number };
}

export interface DoraReport {
  deploymentFrequency: Measured<number> & { perDay?: number; deploys?: number; days?: number; level?: DoraLevel };
  leadTime: Measured<number> & { commits?: number; level?: DoraLevel };
  changeFailureRate: Measured<number> & { failed?: number; deploys?: number; failures?: FailedChange[]; level?: DoraLevel };
  recoveryTime: Measured<number> & { recoveries?: number; unrecovered?: number; level?: DoraLevel };
}

export interface FailedChange {
  deploymentId: number;
  releaseId: string | null;
  why: 'rolled back by its own deploy' | 'halted after the switch' | 'rolled back afterwards' | 'linked to an incident';
  failedAt: number;
  restoredAt: number | null;
  /** The deployment that restored service (a rollback, a fix deployed forward, or the failing deploy's own rollback). */
  restoredBy: number | null;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export const LEVELS = {
  /** Production deploys per day: elite on demand (several a day), high daily to weekly, medium weekly to monthly. */
  deploymentFrequency: (perDay: number): DoraLevel => (perDay >= 1 ? 'elite' : perDay >= 1 / 7 ? 'high' : perDay >= 1 / 30 ? 'medium' : 'low'),
  /** Commit to production: elite under a day, high under a week, medium under a month. */
  leadTime: (ms: number): DoraLevel => (ms < DAY ? 'elite' : ms < 7 * DAY ? 'high' : ms < 30 * DAY ? 'medium' : 'low'),
  /** Share of production deploys that failed: elite up to 5%, high 10%, medium 15%. */
  changeFailureRate: (ratio: number): DoraLevel => (ratio <= 0.05 ? 'elite' : ratio <= 0.1 ? 'high' : ratio <= 0.15 ? 'medium' : 'low'),
  /** Failed deployment recovery time: elite under an hour, high under a day, medium under a week. */
  recoveryTime: (ms: number): DoraLevel => (ms < HOUR ? 'elite' : ms < DAY ? 'high' : ms < 7 * DAY ? 'medium' : 'low'),
};

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const inWindow = (at: number | null, window: DoraInput['window']) => at !== null && at >= window.since && at < window.until;

/** The production deploys of the period: deploys whose release took traffic (one halted before its switch never reached users). */
function productionDeploys(input: DoraInput): DoraDeployment[] {
  return input.deployments.filter((d) => d.kind === 'deploy' && inWindow(d.switchedAt, input.window)).sort((a, b) => a.switchedAt! - b.switchedAt!);
}

/** Which production deploys failed, and when service came back. */
export function failedChanges(input: DoraInput): FailedChange[] {
  const byTime = [...input.deployments].filter((d) => d.switchedAt !== null).sort((a, b) => a.switchedAt! - b.switchedAt!);
  // The first deployment after `at` that put a good release in front of users: a rollback or a deploy that succeeded.
  const restorer = (after: number, notId: number) => byTime.find((d) => d.id !== notId && d.switchedAt! > after && d.outcome === 'succeeded');
  const failures: FailedChange[] = [];
  for (const deploy of productionDeploys(input)) {
    const base = { deploymentId: deploy.id, releaseId: deploy.releaseId, failedAt: deploy.switchedAt! };
    if (deploy.outcome === 'rolled_back') {
      failures.push({ ...base, why: 'rolled back by its own deploy', restoredAt: deploy.finishedAt, restoredBy: deploy.id });
      continue;
    }
    if (deploy.outcome === 'halted' || deploy.outcome === 'failed') {
      const next = restorer(deploy.switchedAt!, deploy.id);
      failures.push({ ...base, why: 'halted after the switch', restoredAt: next?.switchedAt ?? null, restoredBy: next?.id ?? null });
      continue;
    }
    // Succeeded, then a rollback went away from its release while it still served.
    const nextChange = byTime.find((d) => d.switchedAt! > deploy.switchedAt! && d.id !== deploy.id);
    if (nextChange?.kind === 'rollback' && nextChange.previousReleaseId === deploy.releaseId && nextChange.outcome === 'succeeded') {
      failures.push({ ...base, why: 'rolled back afterwards', restoredAt: nextChange.switchedAt, restoredBy: nextChange.id });
      continue;
    }
    const incident = input.incidents.filter((i) => i.deploymentId === deploy.id).sort((a, b) => a.openedAt - b.openedAt)[0];
    if (incident) {
      // Service is back with the first good deployment after the incident opened, else when the incident closed.
      const next = restorer(incident.openedAt, deploy.id);
      const restoredAt = next?.switchedAt ?? incident.closedAt;
      failures.push({ ...base, why: 'linked to an incident', restoredAt, restoredBy: next?.id ?? null });
    }
  }
  return failures;
}

export function computeDora(input: DoraInput): DoraReport {
  const deploys = productionDeploys(input);
  const days = (input.window.until - input.window.since) / DAY;
  const succeeded = deploys.filter((d) => d.outcome === 'succeeded');
  const anyEver = input.deployments.some((d) => d.kind === 'deploy' && d.switchedAt !== null);

  const deploymentFrequency: DoraReport['deploymentFrequency'] = anyEver
    ? { value: succeeded.length / days, perDay: succeeded.length / days, deploys: succeeded.length, days, level: LEVELS.deploymentFrequency(succeeded.length / days) }
    : { noData: 'no deploy has reached this environment yet' };

  const leadTimes: number[] = [];
  let unknownCommits = false;
  for (const deploy of succeeded) {
    const times = input.commitTimes(deploy);
    if (!times) unknownCommits = true;
    else for (const at of times) leadTimes.push(Math.max(0, deploy.switchedAt! - at));
  }
  const leadTime: DoraReport['leadTime'] = leadTimes.length
    ? { value: median(leadTimes), commits: leadTimes.length, level: LEVELS.leadTime(median(leadTimes)) }
    : { noData: succeeded.length === 0 ? 'no successful deploy in the period' : unknownCommits ? 'git cannot tell which commits the deploys brought (not a git repository, or the commits are gone)' : 'the deploys brought no new commits' };

  const failures = failedChanges(input);
  const changeFailureRate: DoraReport['changeFailureRate'] = deploys.length
    ? { value: failures.length / deploys.length, failed: failures.length, deploys: deploys.length, failures, level: LEVELS.changeFailureRate(failures.length / deploys.length) }
    : { noData: 'no deploy reached this environment in the period' };

  const recovered = failures.filter((f) => f.restoredAt !== null).map((f) => f.restoredAt! - f.failedAt);
  const recoveryTime: DoraReport['recoveryTime'] = recovered.length
    ? { value: median(recovered), recoveries: recovered.length, unrecovered: failures.length - recovered.length, level: LEVELS.recoveryTime(median(recovered)) }
    : { noData: failures.length ? `${failures.length} failed deploy(s) not recovered yet` : 'no failed deploy in the period: nothing to recover from' };

  return { deploymentFrequency, leadTime, changeFailureRate, recoveryTime };
}
