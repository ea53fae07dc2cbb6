import { describe, expect, it } from 'vitest';
import { exitCodeOf, outcomeOfFailure, planSteps } from './plan.js';
import { planBackupPrune, planReleasePrune } from './prune-plan.js';
import { parseDurationMs } from '../util/duration.js';

describe('planSteps', () => {
  it('plans the blue-green production flow in the documented order', () => {
    expect(planSteps('blue-green', 'deploy', { hasBuild: true, hasPrevious: true })).toEqual([
      'lock', 'release', 'secrets', 'backup', 'build', 'start', 'health-gate', 'switch', 'watch', 'drain', 'final-health', 'prune', 'notify',
    ]);
  });

  it('has nothing to drain on a first deploy and no build without a build command', () => {
    expect(planSteps('blue-green', 'deploy', { hasBuild: false, hasPrevious: false })).toEqual([
      'lock', 'release', 'secrets', 'backup', 'start', 'health-gate', 'switch', 'watch', 'final-health', 'prune', 'notify',
    ]);
  });

  it('stops the old release first with recreate', () => {
    const steps = planSteps('recreate', 'deploy', { hasBuild: false, hasPrevious: true });
    expect(steps.indexOf('stop-old')).toBeLessThan(steps.indexOf('start'));
    expect(steps).not.toContain('watch');
  });

  it('a rollback neither checks out nor builds', () => {
    expect(planSteps('blue-green', 'rollback', { hasBuild: true, hasPrevious: true })).toEqual(['lock', 'backup', 'start', 'health-gate', 'switch', 'watch', 'drain', 'final-health', 'prune', 'notify']);
  });
});

describe('outcomes and exit codes', () => {
  it('halts when traffic never moved, rolls back when it moved and came back, fails otherwise', () => {
    expect(outcomeOfFailure({ trafficChanged: false, previousServing: true })).toBe('halted');
    expect(outcomeOfFailure({ trafficChanged: true, previousServing: true })).toBe('rolled_back');
    expect(outcomeOfFailure({ trafficChanged: true, previousServing: false })).toBe('failed');
    expect([exitCodeOf('succeeded'), exitCodeOf('halted'), exitCodeOf('rolled_back'), exitCodeOf('failed')]).toEqual([0, 1, 1, 3]);
  });
});

describe('prune plans', () => {
  it('keeps the newest `retain` releases and anything still needed', () => {
    expect(planReleasePrune(['r9', 'r8', 'r7', 'r6', 'r5'], 2, new Set(['r5']))).toEqual(['r7', 'r6']);
    expect(planReleasePrune(['r2', 'r1'], 5, new Set())).toEqual([]);
  });

  it('keeps the newest backups by deployment number, not by name order', () => {
    expect(planBackupPrune(['d9', 'd10', 'd8', 'd11'], 2)).toEqual(['d9', 'd8']);
  });
});

describe('durations', () => {
  it('parses units and refuses what is not a duration', () => {
    expect([parseDurationMs('250ms'), parseDurationMs('2s'), parseDurationMs('1.5m'), parseDurationMs('1h')]).toEqual([250, 2000, 90_000, 3_600_000]);
    expect(parseDurationMs('10')).toBeUndefined();
    expect(parseDurationMs('soon')).toBeUndefined();
  });
});

describe('the metrics gate in the plan', () => {
  it('replaces watch for a deploy with analysis: checks (blue-green and recreate); a rollback only watches', () => {
    expect(planSteps('blue-green', 'deploy', { hasBuild: false, hasPrevious: true, hasAnalysis: true })).toEqual(['lock', 'release', 'secrets', 'backup', 'start', 'health-gate', 'switch', 'analysis', 'drain', 'final-health', 'prune', 'notify']);
    expect(planSteps('recreate', 'deploy', { hasBuild: false, hasPrevious: true, hasAnalysis: true })).toContain('analysis');
    expect(planSteps('blue-green', 'rollback', { hasBuild: false, hasPrevious: true, hasAnalysis: true })).toContain('watch');
  });
});
