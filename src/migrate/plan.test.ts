import { describe, expect, it } from 'vitest';
import { migrationStatus, planDown, planUp } from './plan.js';
import type { ChangelogEntry, MigrationFile } from './types.js';

const file = (name: string, checksum = `sum-${name}`): MigrationFile => ({ name, path: `/m/${name}.ts`, checksum, source: '' });
const entry = (name: string, state: ChangelogEntry['state'], checksum = `sum-${name}`): ChangelogEntry => ({
  name, checksum, state, direction: 'up', startedAt: new Date(0), finishedAt: new Date(1), durationMs: 1, release: null, deployment: null, host: 'h', pid: 1, error: state === 'failed' ? 'boom' : null,
});

describe('migration status', () => {
  it('lists applied and pending in name order; rolled-back ones are pending again', () => {
    const status = migrationStatus([file('a'), file('b'), file('c')], [entry('a', 'applied'), entry('b', 'rolled_back')]);
    expect(status.rows.map((r) => [r.name, r.state])).toEqual([['a', 'applied'], ['b', 'pending'], ['c', 'pending']]);
    expect(planUp(status).map((f) => f.name)).toEqual(['b', 'c']);
    expect(planUp(status, 'b').map((f) => f.name)).toEqual(['b']);
    expect(() => planUp(status, 'a')).toThrow(/a is not pending/);
  });

  it('finds drift: a modified, a missing and an out-of-order file', () => {
    const status = migrationStatus([file('a', 'edited'), file('b'), file('d')], [entry('a', 'applied'), entry('c', 'applied'), entry('d', 'applied')]);
    expect(status.drift.map((d) => [d.name, d.kind])).toEqual([['a', 'modified'], ['b', 'out-of-order'], ['c', 'missing']]);
    expect(status.pending).toEqual([]);
  });

  it('is blocked by a failed entry and by a running one nobody holds the lock for', () => {
    expect(migrationStatus([file('a')], [entry('a', 'failed')]).blocked.map((b) => b.state)).toEqual(['failed']);
    expect(migrationStatus([file('a')], [entry('a', 'running')]).blocked.map((b) => b.state)).toEqual(['running']);
    expect(migrationStatus([file('a')], [entry('a', 'running')], { lockHeldByOther: true }).blocked).toEqual([]);
    expect(migrationStatus([], [entry('gone', 'failed')]).blocked[0].message).toMatch(/gone failed .*ferry migrate resolve gone --rolled-back/);
  });

  it('plans down from the newest applied, down to (not including) --to', () => {
    const status = migrationStatus([file('a'), file('b'), file('c')], [entry('a', 'applied'), entry('b', 'applied'), entry('c', 'applied')]);
    expect(planDown(status)).toEqual(['c']);
    expect(planDown(status, 'a')).toEqual(['c', 'b']);
    expect(() => planDown(status, 'x')).toThrow(/x is not applied/);
  });
});
