import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FerryError, errorMessage } from '../util/errors.js';
import type { MigrationFile, MigrationModule } from './types.js';

const MIGRATION_FILE = /\.(ts|mts|js|mjs)$/;
const IGNORED = /\.d\.ts$|\.test\.|\.spec\./;

/** The migration name is the file name without its extension: renaming a .js file to .ts keeps its identity. */
export const migrationName = (fileName: string) => fileName.replace(MIGRATION_FILE, '');

/** Migration files in name order, each with the SHA-256 of its bytes. */
export function listMigrationFiles(dir: string): MigrationFile[] {
  if (!existsSync(dir)) return [];
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && MIGRATION_FILE.test(entry.name) && !IGNORED.test(entry.name))
    .map((entry) => {
      const path = join(dir, entry.name);
      const bytes = readFileSync(path);
      return { name: migrationName(entry.name), path, checksum: createHash('sha256').update(bytes).digest('hex'), source: bytes.toString('utf8') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  const seen = new Map<string, string>();
  for (const file of files) {
    const other = seen.get(file.name);
    if (other) throw new FerryError({ code: 'MIGRATION_DUPLICATE', message: `two files are migration ${file.name}: ${other} and ${file.path}`, hint: 'Keep one of them.' });
    seen.set(file.name, file.path);
  }
  return files;
}

/** Loads a migration module; TypeScript through tsx, so the project needs no build step for its migrations. */
export async function loadMigration(file: MigrationFile): Promise<MigrationModule> {
  let loaded: Record<string, unknown>;
  try {
    // tsImport loads the file afresh (its own module namespace), so an edited file is never served from a cache.
    // tsx is loaded here, not with this module: an agent that never migrates never pays for it.
    const { tsImport } = await import('tsx/esm/api');
    loaded = (await tsImport(`${pathToFileURL(file.path).href}?checksum=${file.checksum}`, import.meta.url)) as Record<string, unknown>;
  } catch (error) {
    throw new FerryError({ code: 'MIGRATION_LOAD_FAILED', message: `cannot load migration ${file.path}: ${errorMessage(error)}`, hint: 'Fix the file; nothing was run.' });
  }
  const module = (typeof loaded.up === 'function' ? loaded : (loaded.default as Record<string, unknown> | undefined) ?? loaded) as unknown as MigrationModule;
  if (typeof module.up !== 'function') {
    throw new FerryError({ code: 'MIGRATION_INVALID', message: `migration ${file.path} exports no up(db, ctx) function`, hint: 'Export `async function up(db, ctx)` and `async function down(db, ctx)`.' });
  }
  return module;
}
