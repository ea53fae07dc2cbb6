import { copyFileSync, existsSync, mkdirSync, writeFileSync, chmodSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatEnvFile } from '../shared/env-file.js';
import { writeJsonAtomic } from '../util/fs-atomic.js';

/** A release directory: .env (0600), ferry.yml and release.json snapshots, and the app in app/. */
export const releaseLayout = (dir: string) => ({
  dir,
  app: join(dir, 'app'),
  envFile: join(dir, '.env'),
  config: join(dir, 'ferry.yml'),
  manifest: join(dir, 'release.json'),
  buildLog: join(dir, 'build.log'),
});

export function writeSecretsFile(path: string, secrets: Record<string, string>): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, formatEnvFile(secrets), { mode: 0o600 });
  chmodSync(path, 0o600);
}

/** Copies a release's config and secrets snapshot (and the route it served) into a backup folder. */
export function backupRelease(releaseDir: string, backupDir: string, route: unknown): string[] {
  mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  const copied: string[] = [];
  const layout = releaseLayout(releaseDir);
  for (const [file, mode] of [[layout.config, 0o600], [layout.envFile, 0o600], [layout.manifest, 0o600]] as const) {
    if (!existsSync(file)) continue;
    const target = join(backupDir, file.split('/').pop()!);
    copyFileSync(file, target);
    chmodSync(target, mode);
    copied.push(file.split('/').pop()!);
  }
  writeJsonAtomic(join(backupDir, 'route.json'), route);
  return [...copied, 'route.json'];
}

export function listDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
