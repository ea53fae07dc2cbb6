import type { MigrationsConfig } from '../config/schema.js';
import { FerryError, errorMessage } from '../util/errors.js';
import { parseDurationMs } from '../util/duration.js';
import { sleep } from '../util/sleep.js';
import type { MigrationDatabase, MigrationRun } from './database.js';
import { describeFinding, findDestructive, type DestructiveFinding } from './destructive.js';
import { listMigrationFiles, loadMigration } from './files.js';
import { migrationStatus, planDown, planUp, type MigrationStatus } from './plan.js';
import type { Direction, LockHolder, LockOwner, MigrationFile, RunContext } from './types.js';

export interface MigrateRequest {
  direction: Direction;
  to?: string;
  dryRun?: boolean;
  dir: string;
  config: MigrationsConfig;
  context: RunContext;
  log: (line: string) => void;
}

export interface MigrateResult {
  direction: Direction;
  dryRun: boolean;
  database: string;
  planned: string[];
  done: Array<{ name: string; durationMs: number; transactional: boolean }>;
  failed?: { name: string; error: string };
  remaining: string[];
  findings: Array<DestructiveFinding & { accepted?: string }>;
}

/** A migration run that stopped; carries what was done, what failed and what remains. */
export class MigrateError extends FerryError {
  constructor(options: ConstructorParameters<typeof FerryError>[0], readonly result?: MigrateResult) {
    super(options);
  }

  override toJSON() {
    return { ...super.toJSON(), result: this.result };
  }
}

const ms = (duration: string) => parseDurationMs(duration)!;
const describeHolder = (h: LockHolder) => `${h.host} pid ${h.pid} (since ${h.acquiredAt.toISOString()}, heartbeat ${Math.max(0, Math.round((Date.now() - h.heartbeatAt.getTime()) / 1000))}s ago)`;

/** Drift and blocking entries stop everything before anything runs. */
export function assertRunnable(status: MigrationStatus): void {
  if (status.drift.length) {
    throw new MigrateError({ code: 'MIGRATIONS_DRIFT', message: `the migration files do not match the changelog (${status.drift.length} problem${status.drift.length > 1 ? 's' : ''}); nothing was run`, details: status.drift.map((d) => d.message) });
  }
  if (status.blocked.length) {
    throw new MigrateError({ code: 'MIGRATIONS_BLOCKED', message: `a migration needs a person before any other runs; nothing was run`, details: status.blocked.map((b) => b.message) });
  }
}

/** Waits (bounded) for the migration lock, saying who holds it; takes over a lock whose heartbeat stopped. */
async function acquireLock(db: MigrationDatabase, owner: LockOwner, config: MigrationsConfig, log: (line: string) => void): Promise<void> {
  const waitMs = ms(config.lock_wait);
  const startedAt = Date.now();
  let lastSaid = 0;
  for (let delay = 100; ; delay = Math.min(delay * 2, 1000)) {
    const attempt = await db.tryLock(owner, ms(config.lock_ttl));
    if (attempt.tookOverFrom) log(`the migration lock of ${describeHolder(attempt.tookOverFrom)} had no heartbeat for over ${config.lock_ttl}: its runner is gone; taking it over`);
    if (attempt.orphansEnded) log(`ended ${attempt.orphansEnded} migration session(s) that a dead runner left running; their transactions are rolled back`);
    if (attempt.acquired) return;
    const waited = Date.now() - startedAt;
    if (waited >= waitMs) {
      throw new MigrateError({
        code: 'MIGRATION_LOCK_TIMEOUT',
        message: `waited ${Math.round(waited / 1000)}s for the migration lock of ${db.address}${attempt.holder ? `, held by ${describeHolder(attempt.holder)}` : ''}; nothing was run`,
        hint: `Another runner is migrating this database. Wait for it, or raise migrations.lock_wait (${config.lock_wait}).`,
      });
    }
    if (attempt.holder && Date.now() - lastSaid > 5000) {
      log(`waiting for the migration lock held by ${describeHolder(attempt.holder)}; up to ${config.lock_wait}`);
      lastSaid = Date.now();
    }
    await sleep(delay);
  }
}

function findingsOf(runs: MigrationRun[], kind: MigrationDatabase['kind']): MigrateResult['findings'] {
  return runs.flatMap((run) => findDestructive(run.file.name, run.file.source, kind).map((f) => ({ ...f, accepted: run.module.destructive })));
}

/**
 * Runs pending migrations (up) or undoes applied ones (down) under the lock: checks the files against the
 * changelog, refuses drift and blocking entries, checks for changes destructive to the serving release,
 * then runs each migration with its timeout, recording each in the changelog.
 */
export async function migrate(db: MigrationDatabase, request: MigrateRequest): Promise<MigrateResult> {
  const { config, context, log } = request;
  const files = listMigrationFiles(request.dir);
  const result: MigrateResult = { direction: request.direction, dryRun: Boolean(request.dryRun), database: db.address, planned: [], done: [], remaining: [], findings: [] };
  let heartbeat: NodeJS.Timeout | undefined;
  let lockLost: unknown;
  const locked = !request.dryRun;
  if (locked) {
    await db.prepare();
    await acquireLock(db, context.owner, config, log);
    heartbeat = setInterval(() => void db.heartbeat(context.owner).catch((error) => (lockLost ??= error)), Math.max(500, ms(config.lock_ttl) / 3));
  }
  try {
    const status = migrationStatus(files, await db.entries(), { lockHeldByOther: !locked && (await db.lockHolder()) !== undefined });
    assertRunnable(status);
    const runs = await loadRuns(status, files, request);
    result.planned = runs.map((r) => r.file.name);
    result.remaining = [...result.planned];
    if (request.direction === 'up') {
      result.findings = findingsOf(runs, db.kind);
      for (const finding of result.findings) log(`${finding.accepted ? 'accepted (contract step)' : 'warning'}: ${describeFinding(finding)}${finding.accepted ? ` Reason given: ${finding.accepted}` : ''}`);
      const refused = result.findings.filter((f) => !f.accepted);
      if (config.strict && refused.length && !request.dryRun) {
        throw new MigrateError(
          { code: 'MIGRATION_DESTRUCTIVE', message: `migrations.strict is on and ${refused.length} change(s) look destructive for the release still serving; nothing was run`, details: refused.map(describeFinding), hint: "Split the change expand/contract, or, for a contract step whose release no longer uses what it removes, export const destructive = '<why it is safe>' in the migration." },
          result,
        );
      }
    }
    if (request.dryRun) {
      log(runs.length ? `would ${request.direction === 'up' ? 'apply' : 'undo'}: ${result.planned.join(', ')}` : 'nothing to do');
      return result;
    }
    for (const run of runs) {
      if (lockLost) throw new MigrateError({ code: 'MIGRATION_LOCK_LOST', message: `lost the migration lock: ${errorMessage(lockLost)}; stopped before ${run.file.name}` }, result);
      log(`→ ${run.direction} ${run.file.name}`);
      await db.recordStart(run, context);
      try {
        const done = await db.run(run, context, { timeoutMs: ms(config.timeout), log: (line) => log(`    ${line}`) });
        result.done.push({ name: run.file.name, ...done });
        result.remaining.shift();
        log(`✓ ${run.direction} ${run.file.name} (${done.durationMs}ms${done.transactional ? '' : ', no transaction'})`);
      } catch (error) {
        result.remaining.shift();
        result.failed = { name: run.file.name, error: errorMessage(error) };
        log(`✗ ${run.direction} ${run.file.name}: ${errorMessage(error)}`);
        throw new MigrateError(
          {
            code: 'MIGRATION_FAILED',
            message: `migration ${run.file.name} failed: ${errorMessage(error)}`,
            details: [`done: ${result.done.map((d) => d.name).join(', ') || 'none'}`, `failed: ${run.file.name}`, `not run: ${result.remaining.join(', ') || 'none'}`],
            hint: `The changelog records ${run.file.name} as failed; it blocks further runs until \`ferry migrate resolve ${run.file.name} --rolled-back\` (or --applied) says what happened.`,
          },
          result,
        );
      }
    }
    return result;
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    if (locked) await db.unlock(context.owner).catch(() => undefined);
  }
}

async function loadRuns(status: MigrationStatus, files: MigrationFile[], request: MigrateRequest): Promise<MigrationRun[]> {
  const usage = (message: string) => new MigrateError({ code: 'MIGRATION_PLAN', message });
  let planned: MigrationFile[];
  try {
    planned = request.direction === 'up' ? planUp(status, request.to) : planDown(status, request.to).map((name) => files.find((f) => f.name === name)!);
  } catch (error) {
    throw usage(errorMessage(error));
  }
  const runs: MigrationRun[] = [];
  for (const file of planned) {
    const module = await loadMigration(file);
    if (request.direction === 'down' && typeof module.down !== 'function') throw usage(`${file.name} has no down(db, ctx): it cannot be undone by ferry; nothing was run`);
    runs.push({ file, module, direction: request.direction });
  }
  return runs;
}

/** `ferry migrate resolve`: under the lock, says what became of a failed or interrupted migration, or accepts an edited applied file. */
export async function resolveMigration(db: MigrationDatabase, request: { dir: string; name: string; state: 'applied' | 'rolled_back'; config: MigrationsConfig; context: RunContext; log: (line: string) => void }) {
  await db.prepare();
  await acquireLock(db, request.context.owner, request.config, request.log);
  try {
    const entry = (await db.entries()).find((e) => e.name === request.name);
    if (!entry) throw new MigrateError({ code: 'MIGRATION_UNKNOWN', message: `${request.name} has no changelog entry in ${db.address}; there is nothing to resolve` });
    const file = listMigrationFiles(request.dir).find((f) => f.name === request.name);
    const acceptsEdit = entry.state === 'applied' && request.state === 'applied' && file && file.checksum !== entry.checksum;
    if (!acceptsEdit && entry.state !== 'failed' && entry.state !== 'running') {
      throw new MigrateError({ code: 'MIGRATION_NOT_BLOCKING', message: `${request.name} is ${entry.state}, not failed or interrupted; nothing to resolve`, hint: 'To undo an applied migration, run `ferry migrate down`.' });
    }
    // Accepting an edit, or saying a migration was completed by hand, records the file as it is now.
    const checksum = request.state === 'applied' ? file?.checksum : undefined;
    return { before: entry, after: await db.resolve(request.name, request.state, checksum, request.context) };
  } finally {
    await db.unlock(request.context.owner).catch(() => undefined);
  }
}
