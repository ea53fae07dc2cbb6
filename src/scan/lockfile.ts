import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface LockedPackage {
  /** Path in the tree, e.g. node_modules/a/node_modules/b. */
  path: string;
  name: string;
  version: string;
  license?: string;
  dev: boolean;
  optional: boolean;
  /** 1-based line of the package's key in package-lock.json. */
  line: number;
}

export const LOCKFILE = 'package-lock.json';

/** The packages package-lock.json (v2 or v3) records, each with the line its entry starts on. */
export function readLockfile(projectDir: string): LockedPackage[] {
  const file = join(projectDir, LOCKFILE);
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lock = JSON.parse(text) as { packages?: Record<string, { name?: string; version?: string; license?: string; dev?: boolean; optional?: boolean; link?: boolean }> };
  const lines = new Map<string, number>();
  text.split('\n').forEach((line, index) => {
    const match = /^\s*"((?:[^"\\]|\\.)*node_modules\/(?:[^"\\]|\\.)*)": \{/.exec(line);
    if (match && !lines.has(match[1])) lines.set(match[1], index + 1);
  });
  return Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => path.includes('node_modules/') && !entry.link)
    .map(([path, entry]) => ({
      path,
      name: entry.name ?? path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length),
      version: entry.version ?? '?',
      license: entry.license,
      dev: Boolean(entry.dev),
      optional: Boolean(entry.optional),
      line: lines.get(path) ?? 1,
    }));
}

/** A v2/v3 package-lock.json records every package (none: the project has no dependencies); a v1 one or none cannot tell. */
export function lockfileListsPackages(projectDir: string): boolean {
  try {
    return typeof (JSON.parse(readFileSync(join(projectDir, LOCKFILE), 'utf8')) as { packages?: unknown }).packages === 'object';
  } catch {
    return false;
  }
}

/** The line of a package's top-most entry, for findings about a package by name. */
export function lineOf(packages: LockedPackage[], name: string): number {
  const matches = packages.filter((p) => p.name === name).sort((a, b) => a.path.length - b.path.length);
  return matches[0]?.line ?? 1;
}
