import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestProject, httpGet, type TestProject } from '../../test/support/project.js';
import { createTestDatabase, postgresAvailable, POSTGRES_URL } from '../../test/support/postgres.js';
import { KeepAliveLoad, STEADY_TRAFFIC } from '../../test/support/load.js';
import { startWebhook } from '../../test/support/webhook.js';

const available = await postgresAvailable();
if (!available) console.warn(`\n**********\n* SKIPPED: the deploy-with-migrations test needs PostgreSQL at ${POSTGRES_URL.replace(/:[^:@/]*@/, ':***@')}\n**********\n`);

let project: TestProject;
let database: Awaited<ReturnType<typeof createTestDatabase>>;
let receiver: Awaited<ReturnType<typeof startWebhook>>;

describe.skipIf(!available)('the migrate step of a deploy', () => {
  beforeAll(async () => {
    database = await createTestDatabase();
    receiver = await startWebhook();
    project = await createTestProject();
    project.writeConfig((config) => {
      config.environments.production.database = { kind: 'postgres', url_secret: 'DATABASE_URL' };
      config.environments.production.notify = { webhook: `${receiver.url}/alerts` };
      config.environments.production.watch = '500ms';
    });
    project.commit({ 'migrations/20260101T000000-create-orders.ts': `export async function up(db) { await db.query('CREATE TABLE orders (id bigserial PRIMARY KEY)'); }\nexport async function down(db) { await db.query('DROP TABLE orders'); }\n` }, 'orders');
  });
  afterAll(async () => {
    await project?.cleanup();
    await database?.drop();
    receiver?.close();
  });

  const env = () => ({ DATABASE_URL: database.url });

  it('runs pending migrations after the build and before anything starts', async () => {
    const first = await project.ferry(['deploy', 'production', '--json'], env());
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/✓ up 20260101T000000-create-orders/);
    const [row] = await database.query("SELECT state, release, deployment FROM changelog WHERE name = '20260101T000000-create-orders'");
    expect(row).toEqual({ state: 'applied', release: 'r1', deployment: 1 });
    const history = JSON.parse((await project.ferry(['history', 'production', '--json'])).stdout).deployments;
    expect(history[0].steps.map((s: any) => s.name)).toEqual(['lock', 'release', 'secrets', 'backup', 'build', 'migrate', 'start', 'health-gate', 'switch', 'watch', 'final-health', 'prune', 'notify']);
  });

  it('a failing migration under load: exit 1, 0 failed requests, the old release serving, the alert sent, the halted step in history', async () => {
    const load = new KeepAliveLoad({ port: project.ports.production, ...STEADY_TRAFFIC });
    load.start();
    project.commit(
      {
        VERSION: '2',
        'migrations/20260102T000000-add-total.ts': `export async function up(db) {\n  await db.query('ALTER TABLE orders ADD COLUMN total numeric');\n  await db.query('SELECT no_such_function()');\n}\n`,
        'migrations/20260103T000000-later.ts': `export async function up(db) { await db.query('CREATE TABLE later (id int)'); }\n`,
      },
      'a migration that fails half-way',
    );
    const failed = await project.ferry(['deploy', 'production', '--json'], env());
    const summary = await load.stop();

    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ outcome: 'halted', failedStep: 'migrate', serving: 'r1', release: 'r2' });
    expect(failed.stderr).toMatch(/step migrate failed: migration 20260102T000000-add-total failed: function no_such_function\(\) does not exist \(done: none; failed: 20260102T000000-add-total; not run: 20260103T000000-later\)/);
    expect(summary.requests).toBeGreaterThan(100);
    expect(summary).toMatchObject({ non2xx: 0, socketErrors: 0 });
    expect(JSON.parse((await httpGet(project.ports.production)).body).release).toBe('r1');

    // Nothing of the failed migration remains, and the changelog says why.
    expect(await database.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'")).toEqual([{ column_name: 'id' }]);
    const [row] = await database.query("SELECT state, error, release FROM changelog WHERE name = '20260102T000000-add-total'");
    expect(row).toEqual({ state: 'failed', error: 'function no_such_function() does not exist', release: 'r2' });

    const alert = receiver.received.map((r) => r.json).find((a) => a.outcome === 'halted');
    expect(alert).toMatchObject({ env: 'production', failedStep: 'migrate', release: 'r2', previousRelease: 'r1' });
    expect(alert.error).toMatch(/20260102T000000-add-total failed/);

    const [last] = JSON.parse((await project.ferry(['history', 'production', '--json'])).stdout).deployments;
    expect(last.outcome).toBe('halted');
    expect(last.steps.find((s: any) => s.name === 'migrate')).toMatchObject({ state: 'failed', detail: expect.stringMatching(/not run: 20260103T000000-later/) });
    expect(last.steps.some((s: any) => s.name === 'start')).toBe(false);

    // The failed entry blocks the next deploy until a person resolves it.
    const blocked = await project.ferry(['deploy', 'production', '--json'], env());
    expect(blocked.code).toBe(1);
    expect(blocked.stderr).toMatch(/a migration needs a person before any other runs/);
  });
});
