import { join } from 'node:path';
import { openMigrationDatabase, lockOwner } from '../../migrate/open.js';
import { migrate as runMigrations, MigrateError } from '../../migrate/runner.js';
import { FerryError, errorMessage } from '../../util/errors.js';
import { redact } from '../../util/redact.js';
import { releaseLayout } from '../release-files.js';
import { StepFailure, type Step } from '../step.js';

/**
 * The release's pending migrations, under the database's migration lock, before anything new starts: a
 * failure halts the deploy with the previous release serving. Never undone automatically (schema changes
 * are expand/contract, so the previous release works with the new schema).
 */
export const migrate: Step = {
  name: 'migrate',
  async run(ctx) {
    const { config, env, secrets } = ctx.request;
    const database = ctx.config.database!;
    const url = secrets[database.url_secret];
    if (!url) throw new StepFailure(`${database.url_secret} (the ${database.kind} URL of ${env}) is not set in the deploying shell`, undefined, [], `export ${database.url_secret}=... and deploy again.`);
    const db = await openMigrationDatabase(database, url, config.migrations.changelog);
    const hide = (text: string) => redact(text, Object.values(secrets));
    try {
      const result = await runMigrations(db, {
        direction: 'up',
        dir: join(releaseLayout(ctx.release!.dir).app, config.migrations.dir),
        config: config.migrations,
        context: { env, release: ctx.release!.id, deployment: ctx.deploymentId, owner: lockOwner() },
        log: (line) => ctx.progress(hide(line)),
      });
      ctx.deps.store.recordEvent(env, ctx.deploymentId, 'migrated', { database: result.database, applied: result.done.map((d) => d.name), findings: result.findings.length });
      return result.done.length ? `applied ${result.done.map((d) => d.name).join(', ')} to ${db.address}` : `${db.address} is up to date`;
    } catch (error) {
      const facts = error instanceof FerryError ? error.details.join('; ') : '';
      const result = error instanceof MigrateError ? error.result : undefined;
      ctx.deps.store.recordEvent(env, ctx.deploymentId, 'migration_failed', { applied: result?.done.map((d) => d.name) ?? [], failed: result?.failed ?? null, remaining: result?.remaining ?? [] });
      throw new StepFailure(`${hide(errorMessage(error))}${facts ? ` (${facts})` : ''}`, undefined, [], error instanceof FerryError ? error.hint : undefined);
    } finally {
      await db.close();
    }
  },
};
