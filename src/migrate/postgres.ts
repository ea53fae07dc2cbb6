import { createHash } from 'node:crypto';
import pg from 'pg';
import { errorMessage } from '../util/errors.js';
import { sleep } from '../util/sleep.js';
import { MigrationTimeout, deadline, lostLockError, redactUrl, type MigrationDatabase, type MigrationRun, type RunOptions } from './database.js';
import type { ChangelogEntry, LockHolder, LockOwner, RunContext, VerifySpec } from './types.js';

const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;

/** A (positive) 64-bit advisory lock key of its own per changelog table, as a decimal string. */
function lockKey(changelog: string): string {
  return BigInt.asUintN(63, BigInt(`0x${createHash('sha256').update(`ferry-migrations:${changelog}`).digest('hex').slice(0, 16)}`)).toString();
}

interface Row {
  name: string;
  checksum: string;
  state: ChangelogEntry['state'];
  direction: ChangelogEntry['direction'];
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  release: string | null;
  deployment: number | null;
  host: string;
  pid: number;
  error: string | null;
}

const toEntry = (row: Row): ChangelogEntry => ({
  name: row.name,
  checksum: row.checksum,
  state: row.state,
  direction: row.direction,
  startedAt: row.started_at,
  finishedAt: row.finished_at,
  durationMs: row.duration_ms,
  release: row.release,
  deployment: row.deployment,
  host: row.host,
  pid: row.pid,
  error: row.error,
});

/**
 * PostgreSQL: the changelog is a table; the lock is a session-level advisory lock (freed by the server the
 * moment its session ends, so a runner that dies frees it) plus a row with the owner and its heartbeat
 * (so a runner that hangs with its session open is found and its session terminated). Each migration runs
 * on a connection of its own, in one transaction with its changelog update.
 */
export class PostgresMigrations implements MigrationDatabase {
  readonly kind = 'postgres' as const;
  readonly address: string;
  private readonly table: string;
  private readonly lockTable: string;
  private readonly key: string;
  private session?: pg.Client;

  constructor(private readonly url: string, private readonly changelog: string) {
    this.address = redactUrl(url);
    this.table = quote(changelog);
    this.lockTable = quote(`${changelog}_lock`);
    this.key = lockKey(changelog);
  }

  /** Migration sessions are named so that the next lock holder can find those a dead runner left running. */
  private get runPrefix(): string {
    return `ferry-run ${this.changelog} `;
  }

  private async connect(applicationName = 'ferry-migrate'): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: this.url, application_name: applicationName.slice(0, 63) });
    client.on('error', () => undefined); // a terminated session errors here; the query that was running reports it
    await client.connect();
    return client;
  }

  /** The long-lived session that holds the advisory lock and writes the bookkeeping. */
  private async db(): Promise<pg.Client> {
    this.session ??= await this.connect();
    return this.session;
  }

  async prepare(): Promise<void> {
    const db = await this.db();
    await db.query('BEGIN');
    try {
      // Serialises concurrent first runs: CREATE TABLE IF NOT EXISTS alone can race.
      await db.query('SELECT pg_advisory_xact_lock($1::bigint + 1)', [this.key]);
      await db.query(`CREATE TABLE IF NOT EXISTS ${this.table} (
        name text PRIMARY KEY, checksum text NOT NULL, state text NOT NULL CHECK (state IN ('running','applied','failed','rolled_back')),
        direction text NOT NULL DEFAULT 'up', started_at timestamptz NOT NULL, finished_at timestamptz, duration_ms integer,
        release text, deployment integer, host text NOT NULL, pid integer NOT NULL, error text)`);
      await db.query(`CREATE TABLE IF NOT EXISTS ${this.lockTable} (
        id integer PRIMARY KEY CHECK (id = 1), owner text NOT NULL, host text NOT NULL, pid integer NOT NULL,
        backend_pid integer NOT NULL, acquired_at timestamptz NOT NULL, heartbeat_at timestamptz NOT NULL)`);
      await db.query('COMMIT');
    } catch (error) {
      await db.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  }

  /** Read-only commands (status, verify, --dry-run) do not create the tables: missing means empty. */
  private async exists(table: string): Promise<boolean> {
    const { rows } = await (await this.db()).query<{ t: string | null }>('SELECT to_regclass($1) AS t', [table]);
    return rows[0].t !== null;
  }

  async entries(): Promise<ChangelogEntry[]> {
    if (!(await this.exists(this.table))) return [];
    const { rows } = await (await this.db()).query<Row>(`SELECT * FROM ${this.table} ORDER BY name`);
    return rows.map(toEntry);
  }

  async lockHolder(): Promise<LockHolder | undefined> {
    const db = await this.db();
    const held = await db.query<{ held: boolean }>("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND ((classid::bigint << 32) | objid::bigint) = $1::bigint) AS held", [this.key]);
    if (!held.rows[0].held || !(await this.exists(this.lockTable))) return undefined;
    const { rows } = await db.query<{ owner: string; host: string; pid: number; acquired_at: Date; heartbeat_at: Date }>(`SELECT * FROM ${this.lockTable} WHERE id = 1`);
    const row = rows[0];
    return row ? { id: row.owner, host: row.host, pid: row.pid, acquiredAt: row.acquired_at, heartbeatAt: row.heartbeat_at } : { id: '?', host: '?', pid: 0, acquiredAt: new Date(), heartbeatAt: new Date() };
  }

  async tryLock(owner: LockOwner, ttlMs: number) {
    const db = await this.db();
    const { rows } = await db.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [this.key]);
    if (rows[0].locked) {
      await db.query(
        `INSERT INTO ${this.lockTable} (id, owner, host, pid, backend_pid, acquired_at, heartbeat_at) VALUES (1, $1, $2, $3, pg_backend_pid(), now(), now())
         ON CONFLICT (id) DO UPDATE SET owner = $1, host = $2, pid = $3, backend_pid = pg_backend_pid(), acquired_at = now(), heartbeat_at = now()`,
        [owner.id, owner.host, owner.pid],
      );
      return { acquired: true as const, orphansEnded: await this.endOrphans() };
    }
    const stale = await db.query<{ owner: string; host: string; pid: number; backend_pid: number; acquired_at: Date; heartbeat_at: Date; age_ms: number }>(
      `SELECT *, (extract(epoch FROM now() - heartbeat_at) * 1000)::bigint AS age_ms FROM ${this.lockTable} WHERE id = 1`,
    );
    const row = stale.rows[0];
    const holder = row ? { id: row.owner, host: row.host, pid: row.pid, acquiredAt: row.acquired_at, heartbeatAt: row.heartbeat_at } : undefined;
    if (row && Number(row.age_ms) > ttlMs) {
      // Alive as a session but silent: end its session, which frees the advisory lock and rolls back its work.
      await db.query('SELECT pg_terminate_backend($1)', [row.backend_pid]);
      return { acquired: false as const, holder, tookOverFrom: holder };
    }
    return { acquired: false as const, holder };
  }

  /**
   * Only the lock holder runs migrations, so once this runner holds the lock, any other migration session
   * of this changelog belongs to a runner that died while the server was busy with its query (the server
   * notices a dead client only when it next talks to it). End them, so nothing of theirs can still commit
   * or hold locks.
   */
  private async endOrphans(): Promise<number> {
    const db = await this.db();
    const { rows } = await db.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND starts_with(application_name, $1) AND pid <> pg_backend_pid()",
      [this.runPrefix],
    );
    for (const { pid } of rows) await this.terminate(pid);
    return rows.length;
  }

  /** Ends a backend and waits until it is gone: its transaction has then been rolled back. */
  private async terminate(backendPid: number): Promise<void> {
    const db = await this.db();
    await db.query('SELECT pg_terminate_backend($1)', [backendPid]);
    for (let i = 0; i < 100; i++) {
      const { rows } = await db.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [backendPid]);
      if (rows.length === 0) return;
      await sleep(50);
    }
  }

  async heartbeat(owner: LockOwner): Promise<void> {
    const { rowCount } = await (await this.db()).query(`UPDATE ${this.lockTable} SET heartbeat_at = now() WHERE id = 1 AND owner = $1`, [owner.id]);
    if (rowCount !== 1) throw new Error(`the migration lock is no longer held by ${owner.id}`);
  }

  async unlock(owner: LockOwner): Promise<void> {
    const db = await this.db();
    await db.query(`DELETE FROM ${this.lockTable} WHERE id = 1 AND owner = $1`, [owner.id]);
    await db.query('SELECT pg_advisory_unlock($1::bigint)', [this.key]);
  }

  async recordStart(run: MigrationRun, context: RunContext): Promise<void> {
    await (await this.db()).query(
      `INSERT INTO ${this.table} (name, checksum, state, direction, started_at, finished_at, duration_ms, release, deployment, host, pid, error)
       VALUES ($1, $2, 'running', $3, now(), NULL, NULL, $4, $5, $6, $7, NULL)
       ON CONFLICT (name) DO UPDATE SET state = 'running', direction = $3, started_at = now(), finished_at = NULL, duration_ms = NULL,
         release = $4, deployment = $5, host = $6, pid = $7, error = NULL${run.direction === 'up' ? ', checksum = $2' : ''}`,
      [run.file.name, run.file.checksum, run.direction, context.release, context.deployment, context.owner.host, context.owner.pid],
    );
  }

  async run(run: MigrationRun, context: RunContext, options: RunOptions) {
    const startedAt = Date.now();
    const transactional = run.module.transaction !== false;
    const client = await this.connect(`${this.runPrefix}${context.owner.pid}`);
    // PostgreSQL 14+: notice a dead runner within a second even in the middle of a long statement.
    await client.query("SET client_connection_check_interval = '1s'").catch(() => undefined);
    const backendPid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0].pid;
    const timer = deadline(options.timeoutMs);
    try {
      if (!transactional) await this.fence(client, context.owner);
      if (transactional) {
        await client.query('BEGIN');
        // The server cancels a single statement that outlasts the timeout, even if this process hangs.
        await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`);
      }
      const body = run.direction === 'up' ? run.module.up : run.module.down!;
      const ctx = { kind: this.kind, client, signal: timer.signal, log: options.log, release: context.release, env: context.env };
      await Promise.race([Promise.resolve(body(client, ctx)), timer.expired]);
      if (run.direction === 'up' && run.module.verify) {
        const mismatches = await this.verifyWith(client, run.module.verify);
        if (mismatches.length) throw new Error(`verification failed: ${mismatches.join('; ')}`);
      }
      // Holds the lock row until COMMIT: a runner that lost the lock commits nothing, and no takeover lands in between.
      if (transactional) await this.fence(client, context.owner);
      const durationMs = Date.now() - startedAt;
      await client.query(`UPDATE ${this.table} SET state = $2, finished_at = now(), duration_ms = $3, error = NULL WHERE name = $1`, [
        run.file.name,
        run.direction === 'up' ? 'applied' : 'rolled_back',
        durationMs,
      ]);
      if (transactional) await client.query('COMMIT');
      return { durationMs, transactional };
    } catch (error) {
      await this.abandon(client, backendPid, error instanceof MigrationTimeout);
      const message = transactional ? errorMessage(error) : `${errorMessage(error)} (ran without a transaction: what it did before failing remains)`;
      await (await this.db()).query(`UPDATE ${this.table} SET state = 'failed', finished_at = now(), duration_ms = $2, error = $3 WHERE name = $1`, [run.file.name, Date.now() - startedAt, message]);
      throw Object.assign(new Error(message), { cause: error });
    } finally {
      timer.clear();
      await client.end().catch(() => undefined);
    }
  }

  /** Refuses to go on unless this runner still holds the lock (it may have been paused past lock_ttl and taken over). */
  private async fence(client: pg.Client, owner: LockOwner): Promise<void> {
    const { rowCount } = await client.query(`SELECT 1 FROM ${this.lockTable} WHERE id = 1 AND owner = $1 FOR SHARE`, [owner.id]);
    if (rowCount !== 1) throw lostLockError(owner);
  }

  /** Rolls the transaction back; after a timeout, ends the backend from the lock session, so nothing of the migration can still commit. */
  private async abandon(client: pg.Client, backendPid: number, timedOut: boolean): Promise<void> {
    if (timedOut) await this.terminate(backendPid);
    else await client.query('ROLLBACK').catch(() => undefined);
  }

  async resolve(name: string, state: 'applied' | 'rolled_back', checksum: string | undefined, context: RunContext) {
    const { rows } = await (await this.db()).query<Row>(
      `UPDATE ${this.table} SET state = $2, checksum = COALESCE($3, checksum), finished_at = now(),
         error = CASE WHEN error IS NULL THEN NULL ELSE 'resolved as ' || $2 || ' by ' || $4 || ' after: ' || error END
       WHERE name = $1 RETURNING *`,
      [name, state, checksum ?? null, `${context.owner.host} pid ${context.owner.pid}`],
    );
    return rows[0] ? toEntry(rows[0]) : undefined;
  }

  async verify(spec: VerifySpec): Promise<string[]> {
    return this.verifyWith(await this.db(), spec);
  }

  private async verifyWith(db: pg.Client, spec: VerifySpec): Promise<string[]> {
    const problems: string[] = [];
    const tables = new Set((await db.query<{ t: string }>("SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema()")).rows.map((r) => r.t));
    for (const table of spec.tables ?? []) if (!tables.has(table)) problems.push(`table ${table} does not exist`);
    for (const [table, columns] of Object.entries(spec.columns ?? {})) {
      const have = new Set((await db.query<{ c: string }>('SELECT column_name AS c FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1', [table])).rows.map((r) => r.c));
      for (const column of columns) if (!have.has(column)) problems.push(`column ${table}.${column} does not exist`);
    }
    for (const [table, indexes] of Object.entries(spec.indexes ?? {})) {
      const have = new Set((await db.query<{ i: string }>('SELECT indexname AS i FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1', [table])).rows.map((r) => r.i));
      for (const index of indexes) if (!have.has(index)) problems.push(`index ${index} on ${table} does not exist`);
    }
    if (spec.collections || spec.validators) problems.push('collections and validators are MongoDB checks; this database is PostgreSQL');
    return problems;
  }

  async close(): Promise<void> {
    await this.session?.end().catch(() => undefined);
    this.session = undefined;
  }
}
