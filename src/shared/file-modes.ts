import { chmodSync, existsSync, mkdirSync } from 'node:fs';

/** State folders are 0700: release copies, logs and the database are the owner's alone. */
export function privateDir(path: string): string {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  return path;
}

/** Makes files that exist 0600 (a database and its -wal/-shm, a log ferry appends to). */
export function privateFiles(...paths: string[]): void {
  for (const path of paths) if (existsSync(path)) chmodSync(path, 0o600);
}
