import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMigrateProject, type MigrateProject } from '../../test/support/migrate-project.js';
import { REPO_ROOT } from '../../test/support/project.js';

const fixtures = (kind: string) => join(REPO_ROOT, 'test/fixtures/migrations', kind);
let project: MigrateProject | undefined;
afterEach(() => project?.cleanup());

/** `ferry migrate check` reads the files only: it runs for both databases with no server. */
describe('the destructive-change check on example migrations', () => {
  it('PostgreSQL: names each risky change, the expand/contract way, and accepts the marked contract step', async () => {
    project = createMigrateProject('postgres', 'postgres://unused', { dir: fixtures('postgres') });
    const warn = await project.ferry(['check']);
    expect(warn.code).toBe(0);
    expect(warn.stdout.trim().split('\n')).toEqual([
      'warning: 20260302T090000-rename-email:2: rename (RENAME COLUMN email TO): the serving release still uses the old name. Instead, expand/contract: add the new column or table, write to both and backfill, switch reads to the new one, then drop the old one in a later release.',
      'warning: 20260303T090000-unique-email:2: unique-index (CREATE UNIQUE INDEX): the serving release may write duplicates that the new index rejects (its writes start failing), and building it locks the table. Instead, expand/contract: release code that avoids duplicates first, clean up existing ones, then add the index (CREATE UNIQUE INDEX CONCURRENTLY, in a migration with no transaction).',
      'warning: 20260303T090000-unique-email:3: not-null (SET NOT NULL): the serving release inserts rows without this column, and they will be rejected. Instead, expand/contract: add the column as nullable (or with a DEFAULT), release code that always writes it, backfill, then add NOT NULL later.',
      'accepted: 20260304T090000-drop-legacy-name:4: drop-column (DROP COLUMN): the serving release may still select or insert this column. Instead, expand/contract: stop reading and writing the column in one release, drop it in a later one (mark that migration `export const destructive`). Reason given: releases since r40 neither read nor write users.legacy_name',
      '4 finding(s), 3 not marked as a contract step',
    ]);
    project.cleanup();
    project = createMigrateProject('postgres', 'postgres://unused', { dir: fixtures('postgres'), strict: true });
    const strict = await project.ferry(['check', '--json']);
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({ strict: true, exitCode: 1 });
  });

  it('MongoDB: $rename, a unique index, a stricter validator and a dropped collection', async () => {
    project = createMigrateProject('mongodb', 'mongodb://unused', { dir: fixtures('mongodb') });
    const result = await project.ferry(['check', '--json']);
    expect(result.code).toBe(0);
    const findings = JSON.parse(result.stdout).findings.map((f: any) => `${f.migration}:${f.line} ${f.rule}`);
    expect(findings).toEqual([
      '20260302T090000-rename-nick:2 unset-rename-field',
      '20260303T090000-unique-email-and-validator:3 unique-index',
      '20260303T090000-unique-email-and-validator:4 stricter-validator',
      '20260304T090000-drop-sessions:3 drop-collection',
    ]);
    const text = await project.ferry(['check']);
    expect(text.stdout).toMatch(/warning: 20260303T090000-unique-email-and-validator:4: stricter-validator \(collMod: 'users', validator\): the serving release may write documents the new validator rejects\. Instead, expand\/contract: add the validator with validationAction: 'warn'/);
  });
});
