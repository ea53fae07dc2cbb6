import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { DatabaseConfig } from '../config/schema.js';
import type { MigrationDatabase } from './database.js';
import { MongoMigrations } from './mongodb.js';
import { PostgresMigrations } from './postgres.js';
import type { LockOwner } from './types.js';

export function openMigrationDatabase(database: DatabaseConfig, url: string, changelog: string): MigrationDatabase {
  return database.kind === 'postgres' ? new PostgresMigrations(url, changelog) : new MongoMigrations(url, changelog);
}

/** This process as a lock owner: host and pid for people, a random part so two runs of one pid never match. */
export function lockOwner(): LockOwner {
  return { id: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, host: hostname(), pid: process.pid };
}
