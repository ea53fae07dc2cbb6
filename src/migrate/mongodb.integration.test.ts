import { randomBytes } from 'node:crypto';
import { MongoClient, type Db } from 'mongodb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMigrateProject, type MigrateProject } from '../../test/support/migrate-project.js';
import { sleep } from '../util/sleep.js';

/** No MongoDB server can be had on this machine: these run where MONGODB_URL is given (the GitHub workflow's mongo service). */
const MONGODB_URL = process.env.MONGODB_URL;
if (!MONGODB_URL) {
  console.warn('\n**********\n* SKIPPED: the MongoDB migration tests (set MONGODB_URL, e.g. mongodb://127.0.0.1:27017, to run them)\n* The MongoDB adapter is NOT tested in this run.\n**********\n');
}

let client: MongoClient;
let db: Db;
let url: string;
let project: MigrateProject;
const entry = (name: string) => db.collection('changelog').findOne({ _id: name as never });

describe.skipIf(!MONGODB_URL)('migrations on MongoDB', () => {
  beforeEach(async () => {
    const name = `ferry_t_${randomBytes(5).toString('hex')}`;
    const parsed = new URL(MONGODB_URL!);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    client = new MongoClient(url);
    await client.connect();
    db = client.db();
    project = createMigrateProject('mongodb', url);
  });
  afterEach(async () => {
    project.cleanup();
    await db.dropDatabase();
    await client.close();
  });

  it('applies, records with checksum and owner, verifies collections, indexes and validators', async () => {
    project.migration('20260101T000000-users.js', `
      export async function up(db) {
        await db.createCollection('users', { validator: { $jsonSchema: { bsonType: 'object', required: ['email'] } } });
        await db.collection('users').createIndex({ email: 1 }, { name: 'email_1' });
      }
      export async function down(db) { await db.collection('users').drop(); }
      export const transaction = false;
      export const verify = { collections: ['users'], indexes: { users: ['email_1'] }, validators: { users: { bsonType: 'object', required: ['email'] } } };`);
    expect((await project.ferry(['status'])).code).toBe(10);
    const up = await project.ferry(['up']);
    expect(up.code, up.stderr).toBe(0);
    expect(await entry('20260101T000000-users')).toMatchObject({ state: 'applied', direction: 'up', checksum: expect.stringMatching(/^[0-9a-f]{64}$/), error: null });
    expect((await project.ferry(['verify'])).code).toBe(0);

    await db.collection('users').insertOne({ email: 'a@example.com' });
    await db.command({ collMod: 'users', validationLevel: 'off' });
    await db.collection('users').insertOne({ name: 'no email' });
    const verify = await project.ferry(['verify']);
    expect(verify.code).toBe(1);
    expect(verify.stdout).toMatch(/1 document\(s\) in users violate its \$jsonSchema/);
  });

  it('two runners at once: one waits, nothing is applied twice', async () => {
    project.migration('20260101T000000-slow.js', `
      export async function up(db, ctx) {
        await db.collection('runs').insertOne({ at: new Date() });
        await new Promise((r) => setTimeout(r, 1500));
      }
      export const transaction = false;`);
    const [a, b] = await Promise.all([project.ferry(['up']), sleep(200).then(() => project.ferry(['up']))]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect(a.stdout + b.stdout).toMatch(/waiting for the migration lock held by \S+ pid \d+/);
    expect(await db.collection('runs').countDocuments()).toBe(1);
  });

  it('a lock holder killed with SIGKILL: its lock expires after lock_ttl, and its running entry blocks until resolved', async () => {
    project.migration('20260101T000000-slow.js', `export async function up() { await new Promise((r) => setTimeout(r, 30000)); }`);
    const runner = project.spawnFerry(['up']);
    for (let i = 0; i < 100 && (await entry('20260101T000000-slow'))?.state !== 'running'; i++) await sleep(100);
    runner.kill('SIGKILL');
    const second = await project.ferry(['up']);
    expect(second.stdout).toMatch(/had no heartbeat for over 3s: its runner is gone; taking it over/);
    expect(second.code).toBe(3);
    expect((await project.ferry(['status'])).code).toBe(12);
    expect((await project.ferry(['resolve', '20260101T000000-slow', '--rolled-back'])).code).toBe(0);
    expect(await entry('20260101T000000-slow')).toMatchObject({ state: 'rolled_back' });
  });

  it('a migration that throws: recorded as failed with the error, and blocks; on a replica set nothing of it remains', async () => {
    const hello = await db.admin().command({ hello: 1 });
    project.migration('20260101T000000-half-way.js', `
      export async function up(db, ctx) {
        await db.collection('orders').insertOne({ n: 1 }, { session: ctx.session });
        throw new Error('boom half-way');
      }`);
    const up = await project.ferry(['up']);
    expect(up.code).toBe(1);
    expect(await entry('20260101T000000-half-way')).toMatchObject({ state: 'failed', error: expect.stringMatching(/^boom half-way/) });
    if (hello.setName) expect(await db.collection('orders').countDocuments()).toBe(0);
    expect((await project.ferry(['up'])).code).toBe(3);
  });

  it('refuses an edited applied file (exit 11) and times a migration out', async () => {
    project.migration('20260101T000000-a.js', `export async function up(db) { await db.collection('a').insertOne({}); }\nexport const transaction = false;`);
    expect((await project.ferry(['up'])).code).toBe(0);
    project.migration('20260101T000000-a.js', `export async function up(db) { await db.collection('a').insertOne({ edited: true }); }\nexport const transaction = false;`);
    expect((await project.ferry(['status'])).code).toBe(11);
    project.migration('20260101T000000-a.js', `export async function up(db) { await db.collection('a').insertOne({}); }\nexport const transaction = false;`);

    const timed = createMigrateProject('mongodb', url, { timeout: '1s' });
    try {
      timed.migration('20260101T000000-a.js', `export async function up(db) { await db.collection('a').insertOne({}); }\nexport const transaction = false;`);
      timed.migration('20260102T000000-hangs.js', `export async function up() { await new Promise((r) => setTimeout(r, 20000)); }`);
      const result = await timed.ferry(['up']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/20260102T000000-hangs failed: timed out after 1000ms/);
    } finally {
      timed.cleanup();
    }
  });

  it('refuses destructive changes in strict mode', async () => {
    const strict = createMigrateProject('mongodb', url, { strict: true });
    try {
      strict.migration('20260101T000000-unset.js', `export async function up(db) { await db.collection('users').updateMany({}, { $unset: { legacy: '' } }); }`);
      const refused = await strict.ferry(['up']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/unset-rename-field .*expand\/contract/);
    } finally {
      strict.cleanup();
    }
  });
});
