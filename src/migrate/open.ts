import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DatabaseConfig } from '../config/schema.js';
import type { MigrationDatabase } from './database.js';
import type { LockOwner } from './types.js';

/** The database's migration driver; its client library (pg, mongodb) is loaded now, not when ferry starts. */
export async function openMigrationDatabase(database: DatabaseConfig, url: string, changelog: string): Promise<MigrationDatabase> {
  if (database.kind === 'postgres') return new (await import('./postgres.js')).PostgresMigrations(url, changelog);
  return new (await import('./mongodb.js')).MongoMigrations(url, changelog);
}

/** This process as a lock owner: host and pid for people, a random part so two runs of one pid never match. */
export function lockOwner(): LockOwner {
  return { id: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, host: hostname(), pid: process.pid };
}
