import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { environmentNamed, loadConfig } from '../config/load.js';
import type { DatabaseConfig, FerryConfig } from '../config/schema.js';
import { FerryError } from '../util/errors.js';
import { ExitCode } from '../errors/exit-codes.js';
import { formatMs } from '../util/duration.js';
import type { MigrationDatabase } from '../migrate/database.js';
import { describeFinding, findDestructive } from '../migrate/destructive.js';
import { listMigrationFiles, loadMigration } from '../migrate/files.js';
import { lockOwner, openMigrationDatabase } from '../migrate/open.js';
import { migrationStatus, type MigrationStatus } from '../migrate/plan.js';
import { migrate, resolveMigration, type MigrateResult } from '../migrate/runner.js';
import { migrationFileName, migrationTemplate } from '../migrate/template.js';
import type { RunContext } from '../migrate/types.js';
import { progress, type Io } from './output.js';

interface Target {
  config: FerryConfig;
  env: string;
  database: DatabaseConfig;
  dir: string;
}

/** The environment whose database to migrate: --env, or the only one that has a database. */
function target(projectDir: string, env: string | undefined): Target {
  const config = loadConfig(projectDir);
  const withDatabase = Object.entries(config.environments).filter(([, e]) => e.database);
  const usage = (message: string, hint?: string) => new FerryError({ code: 'MIGRATE_TARGET', message, hint });
  if (withDatabase.length === 0) throw usage('no environment in ferry.yml has a database', 'Add `database: { kind: postgres, url_secret: DATABASE_URL }` to an environment.');
  let name = env;
  if (!name) {
    if (withDatabase.length > 1) throw usage(`several environments have a database (${withDatabase.map(([n]) => n).join(', ')}); say which with --env`);
    name = withDatabase[0][0];
  }
  const environment = environmentNamed(config, name);
  if (!environment) throw usage(`no environment "${name}" in ferry.yml (known: ${Object.keys(config.environments).join(', ')})`);
  if (!environment.database) throw usage(`environment "${name}" has no database in ferry.yml`);
  return { config, env: name, database: environment.database, dir: resolve(projectDir, config.migrations.dir) };
}

function open(t: Target): Promise<MigrationDatabase> {
  const url = process.env[t.database.url_secret];
  if (!url) {
    throw new FerryError({ code: 'SECRET_MISSING', message: `${t.database.url_secret} is not set in this shell: it holds the ${t.database.kind} URL of ${t.env}`, hint: `export ${t.database.url_secret}=${t.database.kind === 'postgres' ? 'postgres://user:password@host:5432/db' : 'mongodb://host:27017/db'}` });
  }
  return openMigrationDatabase(t.database, url, t.config.migrations.changelog);
}

const runContext = (env: string): RunContext => ({ env, release: null, deployment: null, owner: lockOwner() });

async function withDatabase<T>(t: Target, body: (db: MigrationDatabase) => Promise<T>): Promise<T> {
  const db = await open(t);
  try {
    return await body(db);
  } catch (error) {
    if (error instanceof FerryError) throw error;
    throw new FerryError({ code: 'DATABASE_ERROR', message: `${t.database.kind} at ${db.address}: ${(error as Error).message}`, hint: 'Check that the database is up and the URL and credentials are right.', cause: error });
  } finally {
    await db.close();
  }
}

export async function migrateCreate(io: Io, projectDir: string, name: string, env: string | undefined): Promise<number> {
  const t = target(projectDir, env);
  let fileName: string;
  try {
    fileName = migrationFileName(name);
  } catch (error) {
    throw new FerryError({ code: 'MIGRATE_NAME', message: (error as Error).message });
  }
  mkdirSync(t.dir, { recursive: true });
  const path = join(t.dir, fileName);
  if (existsSync(path)) throw new FerryError({ code: 'MIGRATE_EXISTS', message: `${path} already exists` });
  writeFileSync(path, migrationTemplate(t.database.kind));
  if (io.json) io.out(JSON.stringify({ path, name: fileName.replace(/\.ts$/, ''), kind: t.database.kind }, null, 2));
  else io.out(`wrote ${relative(process.cwd(), path) || path} (${t.database.kind})`);
  return 0;
}

const STATE_WIDTH = 12;

function printStatus(io: Io, t: Target, address: string, status: MigrationStatus): void {
  io.out(`migrations of ${t.env}: ${address}, changelog "${t.config.migrations.changelog}", folder ${t.config.migrations.dir}/`);
  const width = Math.max(10, ...status.rows.map((r) => r.name.length));
  for (const row of status.rows) {
    const entry = row.entry;
    const when = entry?.finishedAt ?? entry?.startedAt;
    const facts = entry && row.state !== 'pending' ? `${when?.toISOString().replace('T', ' ').slice(0, 19)}  ${entry.durationMs !== null ? formatMs(entry.durationMs) : ''}  ${[entry.release, entry.deployment ? `#${entry.deployment}` : null, entry.host].filter(Boolean).join(' ')}` : '';
    io.out(`  ${row.name.padEnd(width)}  ${row.state.padEnd(STATE_WIDTH)}${facts}${row.detail ? `  (${row.detail})` : ''}${entry?.error && row.state === 'failed' ? `\n      error: ${entry.error}` : ''}`);
  }
  if (status.rows.length === 0) io.out('  (no migrations)');
  for (const problem of [...status.drift.map((d) => d.message), ...status.blocked.map((b) => b.message)]) io.err(`  ${problem}`);
}

function statusCode(status: MigrationStatus): number {
  if (status.drift.length) return ExitCode.migrationsDrift;
  if (status.blocked.length) return ExitCode.migrationsBlocked;
  if (status.pending.length) return ExitCode.migrationsPending;
  return ExitCode.succeeded;
}

/** Exit 0 up to date, 10 pending, 11 drift, 12 blocked by a failed or interrupted migration, 2 error. */
export async function migrateStatus(io: Io, projectDir: string, env: string | undefined): Promise<number> {
  const t = target(projectDir, env);
  const files = listMigrationFiles(t.dir);
  return withDatabase(t, async (db) => {
    const holder = await db.lockHolder();
    const status = migrationStatus(files, await db.entries(), { lockHeldByOther: holder !== undefined });
    const code = statusCode(status);
    if (io.json) {
      io.out(JSON.stringify({ env: t.env, database: db.address, kind: db.kind, exitCode: code, lock: holder ?? null, pending: status.pending.map((f) => f.name), drift: status.drift, blocked: status.blocked, migrations: status.rows.map(({ name, state, entry, detail }) => ({ name, state, detail, entry })) }, null, 2));
    } else {
      printStatus(io, t, db.address, status);
      if (holder) io.out(`lock: held by ${holder.host} pid ${holder.pid} since ${holder.acquiredAt.toISOString()}`);
      io.out(`${status.rows.filter((r) => r.state === 'applied').length} applied, ${status.pending.length} pending, ${status.drift.length} drift, ${status.blocked.length} blocked (exit ${code})`);
    }
    return code;
  });
}

export async function migrateRun(io: Io, projectDir: string, options: { env?: string; direction: 'up' | 'down'; to?: string; dryRun?: boolean }): Promise<number> {
  const t = target(projectDir, options.env);
  const say = progress(io);
  const result: MigrateResult = await withDatabase(t, (db) =>
    migrate(db, { direction: options.direction, to: options.to, dryRun: options.dryRun, dir: t.dir, config: t.config.migrations, context: runContext(t.env), log: say }),
  );
  if (io.json) io.out(JSON.stringify(result, null, 2));
  else if (!result.dryRun) io.out(result.done.length ? `${options.direction === 'up' ? 'applied' : 'undid'} ${result.done.length}: ${result.done.map((d) => d.name).join(', ')}` : 'nothing to do: up to date');
  return 0;
}

/** Checks every applied migration's declared `verify`, and that the files match the changelog. */
export async function migrateVerify(io: Io, projectDir: string, env: string | undefined): Promise<number> {
  const t = target(projectDir, env);
  const files = listMigrationFiles(t.dir);
  return withDatabase(t, async (db) => {
    const status = migrationStatus(files, await db.entries(), { lockHeldByOther: (await db.lockHolder()) !== undefined });
    const results: Array<{ name: string; checked: boolean; problems: string[] }> = [];
    for (const row of status.rows.filter((r) => r.state === 'applied')) {
      const file = files.find((f) => f.name === row.name)!;
      const module = await loadMigration(file);
      results.push({ name: row.name, checked: Boolean(module.verify), problems: module.verify ? await db.verify(module.verify) : [] });
    }
    const failed = results.filter((r) => r.problems.length);
    const code = failed.length ? ExitCode.failedPreviousServing : statusCode({ ...status, pending: [] });
    if (io.json) io.out(JSON.stringify({ env: t.env, database: db.address, exitCode: code, migrations: results, drift: status.drift, blocked: status.blocked }, null, 2));
    else {
      for (const r of results) io.out(`  ${r.problems.length ? '✗' : r.checked ? '✓' : '·'} ${r.name}${r.checked ? '' : ' (declares no verify)'}${r.problems.map((p) => `\n      ${p}`).join('')}`);
      for (const problem of [...status.drift.map((d) => d.message), ...status.blocked.map((b) => b.message)]) io.err(`  ${problem}`);
      io.out(failed.length ? `verify failed: ${failed.length} migration(s) do not hold (exit ${code})` : `verified ${results.filter((r) => r.checked).length} migration(s)${code ? ` (exit ${code}: see above)` : ''}`);
    }
    return code;
  });
}

export async function migrateResolve(io: Io, projectDir: string, name: string, state: 'applied' | 'rolled_back', env: string | undefined): Promise<number> {
  const t = target(projectDir, env);
  const resolved = await withDatabase(t, (db) => resolveMigration(db, { dir: t.dir, name, state, config: t.config.migrations, context: runContext(t.env), log: progress(io) }));
  if (io.json) io.out(JSON.stringify(resolved, null, 2));
  else io.out(`${name}: ${resolved.before.state} → ${resolved.after?.state}${resolved.before.checksum !== resolved.after?.checksum ? ` (checksum now ${resolved.after?.checksum.slice(0, 12)})` : ''}`);
  return 0;
}

/** What looks destructive for the serving release, in every migration file; needs no database. Exit 1 when strict mode would refuse. */
export async function migrateCheck(io: Io, projectDir: string, env: string | undefined): Promise<number> {
  const t = target(projectDir, env);
  const findings = [];
  for (const file of listMigrationFiles(t.dir)) {
    const accepted = (await loadMigration(file)).destructive;
    findings.push(...findDestructive(file.name, file.source, t.database.kind).map((f) => ({ ...f, accepted })));
  }
  const refused = findings.filter((f) => !f.accepted);
  const code = t.config.migrations.strict && refused.length ? ExitCode.failedPreviousServing : ExitCode.succeeded;
  if (io.json) io.out(JSON.stringify({ env: t.env, kind: t.database.kind, strict: t.config.migrations.strict, exitCode: code, findings }, null, 2));
  else {
    for (const f of findings) io.out(`${f.accepted ? 'accepted' : t.config.migrations.strict ? 'refused' : 'warning'}: ${describeFinding(f)}${f.accepted ? ` Reason given: ${f.accepted}` : ''}`);
    io.out(`${findings.length} finding(s), ${refused.length} not marked as a contract step${t.config.migrations.strict ? ' (strict: deploys refuse them)' : ''}`);
  }
  return code;
}
