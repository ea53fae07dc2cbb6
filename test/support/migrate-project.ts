import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { FERRY_BIN } from './project.js';

export interface MigrateProject {
  dir: string;
  /** Writes (or, with null, deletes) a migration file. */
  migration: (name: string, source: string | null) => void;
  ferry: (args: string[]) => Promise<{ code: number; stdout: string; stderr: string }>;
  spawnFerry: (args: string[]) => ReturnType<typeof spawn>;
  cleanup: () => void;
}

/** A project with one environment whose database is `url`, and a migrations folder; no git, no agent. */
export function createMigrateProject(kind: 'postgres' | 'mongodb', url: string, migrations: Record<string, unknown> = {}): MigrateProject {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-migrate-'));
  mkdirSync(join(dir, 'migrations'));
  writeFileSync(
    join(dir, 'ferry.yml'),
    stringify({ app: 'shop', migrations: { lock_wait: '20s', lock_ttl: '3s', timeout: '20s', ...migrations }, environments: { production: { port: 3999, start: 'node server.js', database: { kind, url_secret: 'DATABASE_URL' } } } }),
  );
  const env = { ...process.env, DATABASE_URL: url };
  const spawnFerry = (args: string[]) => spawn(process.execPath, [FERRY_BIN, 'migrate', ...args, '--project', dir], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return {
    dir,
    migration: (name, source) => (source === null ? rmSync(join(dir, 'migrations', name), { force: true }) : writeFileSync(join(dir, 'migrations', name), source)),
    spawnFerry,
    ferry: (args) =>
      new Promise((resolve) => {
        const child = spawnFerry(args);
        let stdout = '';
        let stderr = '';
        child.stdout!.on('data', (c) => (stdout += c));
        child.stderr!.on('data', (c) => (stderr += c));
        child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
      }),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
