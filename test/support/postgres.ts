import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server the tests use: .ci/run starts Debian's postgresql and creates this role. */
export const POSTGRES_URL = process.env.FERRY_TEST_POSTGRES_URL ?? 'postgres://ferry:ferry@127.0.0.1:5432/ferry';

export async function postgresAvailable(url = POSTGRES_URL): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** A database of its own per test, dropped afterwards (the role needs CREATEDB). */
export async function createTestDatabase(adminUrl = POSTGRES_URL): Promise<{ url: string; query: <T extends pg.QueryResultRow = any>(sql: string, params?: unknown[]) => Promise<T[]>; drop: () => Promise<void> }> {
  const name = `ferry_t_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  return {
    url: url.toString(),
    query: async (sql, params) => (await client.query(sql, params)).rows,
    async drop() {
      await client.end().catch(() => undefined);
      const admin = new pg.Client({ connectionString: adminUrl });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
