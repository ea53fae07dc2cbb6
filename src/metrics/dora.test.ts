import { describe, expect, it } from 'vitest';
import { computeDora, type DoraDeployment } from './dora.js';

const H = 3_600_000;
const D = 24 * H;
const T0 = Date.UTC(2026, 10, 1);

/** A scripted production history, every value worked out by hand below. */
const deploy = (id: number, release: string, previous: string | null, switchedAt: number | null, outcome: DoraDeployment['outcome'], finishedAfterMs = 60_000): DoraDeployment => ({
  id,
  kind: 'deploy',
  outcome,
  releaseId: release,
  previousReleaseId: previous,
  startedAt: (switchedAt ?? T0) - 30_000,
  finishedAt: (switchedAt ?? T0) + finishedAfterMs,
  switchedAt,
});
const deployments: DoraDeployment[] = [
  deploy(1, 'r1', null, T0, 'succeeded'),
  deploy(2, 'r2', 'r1', T0 + D, 'succeeded'),
  deploy(3, 'r3', 'r2', T0 + 3 * D + H, 'rolled_back', 5 * 60_000), // its own watch rolled it back: 5 minutes
  deploy(4, 'r4', 'r2', T0 + 5 * D + 2 * H, 'succeeded'),
  { id: 5, kind: 'rollback', outcome: 'succeeded', releaseId: 'r2', previousReleaseId: 'r4', startedAt: T0 + 5 * D + 3 * H - 30_000, finishedAt: T0 + 5 * D + 3 * H + 60_000, switchedAt: T0 + 5 * D + 3 * H }, // away from r4: 1 h
  deploy(6, 'r6', 'r2', T0 + 6 * D, 'succeeded'),
  deploy(7, 'r7', 'r6', T0 + 6 * D + 4 * H, 'succeeded'), // the fix for D6's incident: 4 h after D6
  deploy(8, 'r8', 'r7', null, 'halted'), // halted before its switch: never reached users
];
// Author times of the commits each deploy brought (a squash merge is one commit; D2 brought two).
const commits: Record<number, number[]> = {
  1: [T0 - 2 * H],
  2: [T0 + D - 3 * H, T0 + D - H],
  3: [T0 + 3 * D],
  4: [T0 + 5 * D],
  6: [T0 + 5 * D + 20 * H],
  7: [T0 + 6 * D + 2 * H],
};

describe('DORA four keys from the deploy log', () => {
  const report = computeDora({
    deployments,
    incidents: [{ id: 1, deploymentId: 6, openedAt: T0 + 6 * D + H, closedAt: T0 + 6 * D + 5 * H }],
    commitTimes: (d) => commits[d.id],
    window: { since: T0 - H, until: T0 - H + 10 * D },
  });

  it('deployment frequency: the successful production deploys per day (5 in 10 days: high)', () => {
    expect(report.deploymentFrequency).toMatchObject({ value: 0.5, deploys: 5, days: 10, level: 'high' });
  });

  it('lead time: the median over every commit each successful deploy brought (1, 2, 2, 2, 3, 4 h → 2 h: elite)', () => {
    expect(report.leadTime).toMatchObject({ value: 2 * H, commits: 6, level: 'elite' });
  });

  it('change failure rate: rolled back by itself, rolled back afterwards, or named by an incident (3 of 6: low)', () => {
    expect(report.changeFailureRate).toMatchObject({ value: 0.5, failed: 3, deploys: 6, level: 'low' });
    expect((report.changeFailureRate as { failures: unknown[] }).failures).toEqual([
      { deploymentId: 3, releaseId: 'r3', why: 'rolled back by its own deploy', failedAt: T0 + 3 * D + H, restoredAt: T0 + 3 * D + H + 5 * 60_000, restoredBy: 3 },
      { deploymentId: 4, releaseId: 'r4', why: 'rolled back afterwards', failedAt: T0 + 5 * D + 2 * H, restoredAt: T0 + 5 * D + 3 * H, restoredBy: 5 },
      { deploymentId: 6, releaseId: 'r6', why: 'linked to an incident', failedAt: T0 + 6 * D, restoredAt: T0 + 6 * D + 4 * H, restoredBy: 7 },
    ]);
  });

  it('recovery time: the median from the failing deploy to the deployment that restored service (5 min, 1 h, 4 h → 1 h: high)', () => {
    expect(report.recoveryTime).toMatchObject({ value: H, recoveries: 3, unrecovered: 0, level: 'high' });
  });

  it('says "no data" and why, never 0', () => {
    const empty = computeDora({ deployments: [], incidents: [], commitTimes: () => [], window: { since: T0, until: T0 + 30 * D } });
    expect(empty.deploymentFrequency).toEqual({ noData: 'no deploy has reached this environment yet' });
    expect(empty.leadTime).toEqual({ noData: 'no successful deploy in the period' });
    expect(empty.changeFailureRate).toEqual({ noData: 'no deploy reached this environment in the period' });
    expect(empty.recoveryTime).toEqual({ noData: 'no failed deploy in the period: nothing to recover from' });
    const noGit = computeDora({ deployments: deployments.slice(0, 2), incidents: [], commitTimes: () => undefined, window: { since: T0 - H, until: T0 + 2 * D } });
    expect(noGit.leadTime).toMatchObject({ noData: expect.stringContaining('git cannot tell') });
    // Deploys before the period, none in it: a frequency of 0 is a fact, the lead time has no data.
    const quiet = computeDora({ deployments, incidents: [], commitTimes: (d) => commits[d.id], window: { since: T0 + 20 * D, until: T0 + 30 * D } });
    expect(quiet.deploymentFrequency).toMatchObject({ value: 0, level: 'low' });
    expect(quiet.leadTime).toEqual({ noData: 'no successful deploy in the period' });
  });
});
