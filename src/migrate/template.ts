import type { DatabaseKind } from './types.js';

/** A file name that sorts by creation time: 20261126T221500-add-users-email. */
export function migrationFileName(name: string, now = new Date()): string {
  const slug = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  if (!slug) throw new Error(`"${name}" has no letters or digits to name a migration by`);
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, '');
  return `${stamp}-${slug}.ts`;
}

export function migrationTemplate(kind: DatabaseKind): string {
  if (kind === 'postgres') {
    return `import type { Client } from 'pg';

interface MigrationContext { env: string; release: string | null; signal: AbortSignal; log: (message: string) => void }

// Runs in one transaction with its changelog entry: if anything throws, nothing of it remains.
// Blue-green: the release still serving uses this database too. Add, don't remove or rename (expand/contract).

export async function up(db: Client, ctx: MigrationContext) {
  await db.query('CREATE TABLE example (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())');
}

export async function down(db: Client, ctx: MigrationContext) {
  await db.query('DROP TABLE example');
}

// What must hold afterwards; checked after up and by \`ferry migrate verify\`.
export const verify = { tables: ['example'] };
`;
  }
  return `import type { ClientSession, Db } from 'mongodb';

interface MigrationContext { env: string; release: string | null; session?: ClientSession; signal: AbortSignal; log: (message: string) => void }

// On a replica set, data changes commit in one transaction with the changelog entry: pass { session: ctx.session }.
// Blue-green: the release still serving uses this database too. Add, don't remove or rename (expand/contract).

export async function up(db: Db, ctx: MigrationContext) {
  await db.collection('example').updateMany({ status: { $exists: false } }, { $set: { status: 'active' } }, { session: ctx.session });
}

export async function down(db: Db, ctx: MigrationContext) {
  await db.collection('example').updateMany({}, { $unset: { status: '' } }, { session: ctx.session });
}

// What must hold afterwards; checked after up and by \`ferry migrate verify\`.
export const verify = { collections: ['example'] };
`;
}
