import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createMigrateProject, type MigrateProject } from '../../test/support/migrate-project.js';

let project: MigrateProject | undefined;
afterEach(() => project?.cleanup());

describe('ferry migrate create, and errors that need no database', () => {
  it('writes a template for the database kind, named to sort after every other', async () => {
    project = createMigrateProject('postgres', 'postgres://unused');
    const first = await project.ferry(['create', 'Add users email', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const { path, name, kind } = JSON.parse(first.stdout);
    expect(name).toMatch(/^\d{8}T\d{6}-add-users-email$/);
    expect(kind).toBe('postgres');
    expect(readFileSync(path, 'utf8')).toMatch(/export async function up\(db: Client, ctx: MigrationContext\)[\s\S]*export async function down/);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await project.ferry(['create', 'second'])).code).toBe(0);
    const files = readdirSync(join(project.dir, 'migrations'));
    expect(files).toHaveLength(2);
    expect(files.sort()[1]).toMatch(/-second\.ts$/);
    // The templates themselves pass the destructive check: `up` only adds.
    expect((await project.ferry(['check'])).stdout).toMatch(/^0 finding\(s\)/m);
  });

  it('says when the database cannot be reached (exit 2, password hidden), and refuses resolve without a verdict', async () => {
    project = createMigrateProject('postgres', 'postgres://ferry:secret-password@127.0.0.1:1/nowhere');
    const unreachable = await project.ferry(['status']);
    expect(unreachable.code).toBe(2);
    expect(unreachable.stderr).toMatch(/postgres at postgres:\/\/ferry:\*\*\*@127\.0\.0\.1:1\/nowhere: .*ECONNREFUSED/);
    expect(unreachable.stderr).not.toContain('secret-password');
    const usage = await project.ferry(['resolve', 'x']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/say exactly one of --applied or --rolled-back/);
  });
});
