import { describe, expect, it } from 'vitest';
import { describeFinding, findDestructive } from './destructive.js';

describe('destructive changes for the serving release', () => {
  it('finds drops, renames, unique indexes, NOT NULL and type changes in PostgreSQL migrations', () => {
    const source = `
export async function up(db) {
  await db.query('ALTER TABLE users DROP COLUMN legacy_name');
  await db.query('DROP TABLE sessions');
  await db.query('ALTER TABLE orders RENAME COLUMN total TO amount');
  await db.query('CREATE UNIQUE INDEX users_email ON users (email)');
  await db.query('ALTER TABLE users ALTER COLUMN email SET NOT NULL');
  await db.query('ALTER TABLE users ALTER COLUMN age TYPE bigint');
  await db.query('ALTER TABLE users ADD COLUMN nickname text'); // fine: additive
  // DROP TABLE in a comment does not count
}
export async function down(db) { await db.query('DROP TABLE users'); }`;
    const findings = findDestructive('m1', source, 'postgres');
    expect(findings.map((f) => [f.line, f.rule])).toEqual([[3, 'drop-column'], [4, 'drop-table'], [5, 'rename'], [6, 'unique-index'], [7, 'not-null'], [8, 'column-type']]);
    expect(describeFinding(findings[0])).toBe(
      'm1:3: drop-column (DROP COLUMN): the serving release may still select or insert this column. Instead, expand/contract: stop reading and writing the column in one release, drop it in a later one (mark that migration `export const destructive`).',
    );
    expect(findDestructive('m2', "await db.query('ALTER TABLE t ADD COLUMN c text NOT NULL DEFAULT 1')", 'postgres')).toEqual([]);
  });

  it('finds dropped and renamed collections, $unset/$rename, unique indexes and stricter validators in MongoDB migrations', () => {
    const source = `
export async function up(db, ctx) {
  await db.collection('sessions').drop();
  await db.collection('users').updateMany({}, { $unset: { legacy: '' } });
  await db.collection('users').updateMany({}, { $rename: { nick: 'nickname' } });
  await db.collection('orders').rename('purchases');
  await db.collection('users').createIndex({ email: 1 }, { unique: true });
  await db.command({ collMod: 'users', validator: { $jsonSchema: { required: ['email'] } }, validationAction: 'error' });
  await db.collection('users').createIndex({ createdAt: 1 }); // fine
}`;
    expect(findDestructive('m3', source, 'mongodb').map((f) => [f.line, f.rule])).toEqual([
      [3, 'drop-collection'], [4, 'unset-rename-field'], [5, 'unset-rename-field'], [6, 'rename-collection'], [7, 'unique-index'], [8, 'stricter-validator'],
    ]);
    expect(findDestructive('m3', source, 'postgres')).toEqual([]);
  });
});
