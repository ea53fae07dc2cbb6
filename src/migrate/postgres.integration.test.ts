import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, POSTGRES_URL } from '../../test/support/postgres.js';
import { createMigrateProject, type MigrateProject } from '../../test/support/migrate-project.js';
import { sleep } from '../util/sleep.js';

const available = await postgresAvailable();
if (!available) console.warn(`\n**********\n* SKIPPED: the PostgreSQL migration tests need a server at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')} (.ci/run starts one; or set FERRY_TEST_POSTGRES_URL)\n**********\n`);

const createUsers = `
export async function up(db) { await db.query('CREATE TABLE users (id bigserial PRIMARY KEY, email text)'); }
export async function down(db) { await db.query('DROP TABLE users'); }
export const verify = { tables: ['users'], columns: { users: ['id', 'email'] } };
`;
/** Records each run in a table of its own, so a test can count how often it really ran. */
const slowCountedRun = (seconds: number) => `
export async function up(db) {
  await db.query('CREATE TABLE IF NOT EXISTS runs (at timestamptz DEFAULT now())');
  await db.query('INSERT INTO runs DEFAULT VALUES');
  await db.query('SELECT pg_sleep(${seconds})');
}
export async function down(db) { await db.query('DROP TABLE runs'); }
`;

let database: Awaited<ReturnType<typeof createTestDatabase>>;
let project: MigrateProject;
const entry = async (name: string) => (await database.query('SELECT * FROM changelog WHERE name = $1', [name]).catch(() => []))[0];
/** The slow migration is inside pg_sleep (its session open, its transaction uncommitted): only now is it mid-migration. */
const untilMigrationSleeps = async () => {
  const sleeping = async () => (await database.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' AND query LIKE 'SELECT pg_sleep(%'"))[0].n > 0;
  for (let i = 0; i < 200 && !(await sleeping()); i++) await sleep(100);
  expect(await sleeping(), 'the slow migration never reached pg_sleep').toBe(true);
};
const tableExists = async (table: string) => (await database.query('SELECT to_regclass($1) AS t', [table]))[0].t !== null;

describe.skipIf(!available)('migrations on PostgreSQL', () => {
  beforeEach(async () => {
    database = await createTestDatabase();
    project = createMigrateProject('postgres', database.url);
  });
  afterEach(async () => {
    project.cleanup();
    await database.drop();
  });

  it('applies pending migrations in order, records them, verifies, and undoes them with down', async () => {
    project.migration('20260101T000000-create-users.ts', createUsers);
    project.migration('20260102T000000-users-email-index.js', `
      export async function up(db) { await db.query('CREATE INDEX users_email_idx ON users (email)'); }
      export async function down(db) { await db.query('DROP INDEX users_email_idx'); }
      export const verify = { indexes: { users: ['users_email_idx'] } };`);
    expect((await project.ferry(['status'])).code).toBe(10);
    const dry = await project.ferry(['up', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/would apply: 20260101T000000-create-users, 20260102T000000-users-email-index/);
    expect(await tableExists('users')).toBe(false);
    expect(await tableExists('changelog')).toBe(false); // status and --dry-run change nothing, not even bookkeeping

    const up = await project.ferry(['up', '--json']);
    expect(up.code, up.stderr).toBe(0);
    expect(JSON.parse(up.stdout).done.map((d: any) => [d.name, d.transactional])).toEqual([['20260101T000000-create-users', true], ['20260102T000000-users-email-index', true]]);
    const recorded = await entry('20260101T000000-create-users');
    expect(recorded).toMatchObject({ state: 'applied', direction: 'up', error: null, pid: expect.any(Number), host: expect.any(String) });
    expect(recorded.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(recorded.duration_ms).toBeGreaterThanOrEqual(0);
    expect((await project.ferry(['status'])).code).toBe(0);
    expect((await project.ferry(['verify'])).code).toBe(0);

    await database.query('DROP INDEX users_email_idx');
    const verify = await project.ferry(['verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/index users_email_idx on users does not exist/);
    await database.query('CREATE INDEX users_email_idx ON users (email)');

    const down = await project.ferry(['down', '--to', '20260101T000000-create-users']);
    expect(down.code, down.stderr).toBe(0);
    expect((await entry('20260102T000000-users-email-index')).state).toBe('rolled_back');
    expect((await project.ferry(['status'])).code).toBe(10);
  });

  it('two runners at once: one waits for the lock, nothing is applied twice', async () => {
    project.migration('20260101T000000-slow.js', slowCountedRun(1.5));
    const [a, b] = await Promise.all([project.ferry(['up']), sleep(200).then(() => project.ferry(['up']))]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout + b.stdout).toMatch(/waiting for the migration lock held by \S+ pid \d+/);
    expect(a.stdout + b.stdout).toMatch(/nothing to do: up to date/);
    expect(await database.query('SELECT count(*)::int AS n FROM runs')).toEqual([{ n: 1 }]);
  });

  it('the lock holder killed with SIGKILL: the lock is free at once, the stale running entry blocks until resolved', async () => {
    project.migration('20260101T000000-slow.js', slowCountedRun(30));
    const runner = project.spawnFerry(['up']);
    await untilMigrationSleeps();
    runner.kill('SIGKILL');
    await new Promise((resolve) => runner.once('close', resolve));

    const status = await project.ferry(['status']);
    expect(status.code).toBe(12);
    expect(status.stderr).toMatch(/20260101T000000-slow is recorded as running since .*its runner \(\S+ pid \d+\) no longer holds the lock/);
    const blocked = await project.ferry(['up']);
    expect(blocked.code).toBe(3);
    expect(blocked.stderr).toMatch(/a migration needs a person before any other runs; nothing was run/);
    // Its transaction died with its session: nothing of it remains.
    expect(await tableExists('runs')).toBe(false);

    expect((await project.ferry(['resolve', '20260101T000000-slow', '--rolled-back'])).code).toBe(0);
    project.migration('20260101T000000-slow.js', slowCountedRun(0));
    const again = await project.ferry(['up']);
    expect(again.code, again.stderr).toBe(0);
    expect(await database.query('SELECT count(*)::int AS n FROM runs')).toEqual([{ n: 1 }]);
  });

  it('a lock holder that hangs with its session open: its heartbeat stops, the lock expires and is taken over', async () => {
    project.migration('20260101T000000-slow.js', slowCountedRun(30));
    const runner = project.spawnFerry(['up']);
    await untilMigrationSleeps();
    runner.kill('SIGSTOP');
    try {
      const second = await project.ferry(['up']);
      expect(second.stdout).toMatch(/had no heartbeat for over 3s: its runner is gone; taking it over/);
      // Its migration session was still in pg_sleep: ended, so its transaction can never commit.
      expect(second.stdout).toMatch(/ended 1 migration session\(s\) that a dead runner left running/);
      expect(second.code).toBe(3); // the interrupted migration's entry now blocks
      expect(await tableExists('runs')).toBe(false);
    } finally {
      runner.kill('SIGKILL');
    }
  });

  it('a runner that lost the lock while its migration ran commits nothing of it (fenced at commit)', async () => {
    // As if another runner took the lock over while this one was paused: the lock row names someone else at commit time.
    project.migration('20260101T000000-taken-over.js', `
      export async function up(db) {
        await db.query('CREATE TABLE taken (id int)');
        await db.query("UPDATE changelog_lock SET owner = 'another-runner'");
      }
      export async function down() {}`);
    const up = await project.ferry(['up']);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/migration 20260101T000000-taken-over failed: this runner \(\S+ pid \d+\) no longer holds the migration lock: it was taken over/);
    expect(await tableExists('taken')).toBe(false);
    expect(await entry('20260101T000000-taken-over')).toMatchObject({ state: 'failed' });
  });

  it('a migration that throws half-way leaves nothing of itself, and the changelog says failed with the error', async () => {
    project.migration('20260101T000000-create-users.ts', createUsers);
    project.migration('20260102T000000-half-way.ts', `
      export async function up(db) {
        await db.query('CREATE TABLE orders (id bigserial PRIMARY KEY)');
        await db.query("INSERT INTO users (email) VALUES ('a@example.com')");
        throw new Error('boom after two statements');
      }
      export async function down() {}`);
    project.migration('20260103T000000-later.ts', `export async function up(db) { await db.query('CREATE TABLE later (id int)'); }`);
    const up = await project.ferry(['up']);
    expect(up.code).toBe(1);
    expect(up.stderr).toMatch(/migration 20260102T000000-half-way failed: boom after two statements/);
    expect(up.stderr).toMatch(/done: 20260101T000000-create-users\n\s+failed: 20260102T000000-half-way\n\s+not run: 20260103T000000-later/);
    expect(await tableExists('orders')).toBe(false);
    expect(await database.query('SELECT count(*)::int AS n FROM users')).toEqual([{ n: 0 }]);
    expect(await entry('20260102T000000-half-way')).toMatchObject({ state: 'failed', error: 'boom after two statements' });
    expect((await project.ferry(['status'])).code).toBe(12);
    expect((await project.ferry(['up'])).code).toBe(3);
  });

  it('refuses an edited applied file, a deleted applied file, and an older-named file merged later (exit 11, nothing run)', async () => {
    project.migration('20260101T000000-create-users.ts', createUsers);
    project.migration('20260103T000000-b.ts', `export async function up(db) { await db.query('CREATE TABLE b (id int)'); }`);
    expect((await project.ferry(['up'])).code).toBe(0);

    project.migration('20260101T000000-create-users.ts', createUsers.replace('email text', 'email text, name text'));
    let status = await project.ferry(['status']);
    expect(status.code).toBe(11);
    expect(status.stderr).toMatch(/20260101T000000-create-users was modified after it was applied \(checksum [0-9a-f]{12} then, [0-9a-f]{12} now\)/);
    expect((await project.ferry(['up'])).code).toBe(11);
    project.migration('20260101T000000-create-users.ts', createUsers);

    project.migration('20260103T000000-b.ts', null);
    status = await project.ferry(['status']);
    expect(status.code).toBe(11);
    expect(status.stderr).toMatch(/20260103T000000-b was applied .* but its file is gone/);
    project.migration('20260103T000000-b.ts', `export async function up(db) { await db.query('CREATE TABLE b (id int)'); }`);

    project.migration('20260102T000000-from-an-old-branch.ts', `export async function up(db) { await db.query('CREATE TABLE c (id int)'); }`);
    const up = await project.ferry(['up']);
    expect(up.code).toBe(11);
    expect(up.stderr).toMatch(/20260102T000000-from-an-old-branch is new but sorts before 20260103T000000-b, which is already applied/);
    expect(await tableExists('c')).toBe(false);
  });

  it('stops a migration at its timeout, in SQL or in JavaScript, and rolls all of it back', async () => {
    const projectWithTimeout = createMigrateProject('postgres', database.url, { timeout: '1s' });
    try {
      projectWithTimeout.migration('20260101T000000-sleeps-in-sql.ts', `export async function up(db) { await db.query('CREATE TABLE a (id int)'); await db.query('SELECT pg_sleep(20)'); }`);
      const startedAt = Date.now();
      const sql = await projectWithTimeout.ferry(['up']);
      expect(sql.code).toBe(1);
      expect(sql.stderr).toMatch(/20260101T000000-sleeps-in-sql failed: (timed out after 1000ms|canceling statement due to statement timeout)/);
      expect(Date.now() - startedAt).toBeLessThan(10_000);
      expect(await tableExists('a')).toBe(false);
      expect((await projectWithTimeout.ferry(['resolve', '20260101T000000-sleeps-in-sql', '--rolled-back'])).code).toBe(0);

      projectWithTimeout.migration('20260101T000000-sleeps-in-sql.ts', null);
      await database.query('DELETE FROM changelog');
      projectWithTimeout.migration('20260102T000000-hangs-in-js.ts', `export async function up(db) { await db.query('CREATE TABLE b (id int)'); await new Promise((r) => setTimeout(r, 20000)); }`);
      const js = await projectWithTimeout.ferry(['up']);
      expect(js.code).toBe(1);
      expect(js.stderr).toMatch(/20260102T000000-hangs-in-js failed: timed out after 1000ms/);
      expect(await tableExists('b')).toBe(false);
      expect(await entry('20260102T000000-hangs-in-js')).toMatchObject({ state: 'failed', error: 'timed out after 1000ms' });
    } finally {
      projectWithTimeout.cleanup();
    }
  });

  it('refuses destructive changes in strict mode, accepts a contract step that says why', async () => {
    const strict = createMigrateProject('postgres', database.url, { strict: true });
    try {
      strict.migration('20260101T000000-create-users.ts', createUsers);
      expect((await strict.ferry(['up'])).code).toBe(0);
      strict.migration('20260102T000000-drop-email.ts', `export async function up(db) { await db.query('ALTER TABLE users DROP COLUMN email'); }`);
      const refused = await strict.ferry(['up']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/migrations.strict is on and 1 change\(s\) look destructive/);
      expect(refused.stderr).toMatch(/20260102T000000-drop-email:1: drop-column .*expand\/contract: stop reading and writing the column/);
      strict.migration('20260102T000000-drop-email.ts', `export const destructive = 'no release since r40 reads users.email';\nexport async function up(db) { await db.query('ALTER TABLE users DROP COLUMN email'); }`);
      const accepted = await strict.ferry(['up']);
      expect(accepted.code, accepted.stderr).toBe(0);
      expect(accepted.stdout).toMatch(/accepted \(contract step\): .*Reason given: no release since r40 reads users.email/);
    } finally {
      strict.cleanup();
    }
  });
});
