import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SharedFolder } from '../config/schema.js';

/**
 * Shared data, whatever the runtime: the files under a folder, and the committed files a release's shared
 * folders hide (recorded beside the release at its build, read by status and said at the deploy).
 */

/** Committed files under one shared folder that differ from the shared copies, which the app sees instead. */
export interface HiddenFiles {
  path: string;
  seed: SharedFolder['seed'];
  unused: string[];
}

const UNUSED_FILE = 'shared-unused.json';

/** Files under a folder, relative to it (at most `limit`; links not followed; not in the top-level folders `skip` names). */
export function filesUnder(dir: string, limit = 10_000, skip: ReadonlySet<string> = new Set()): string[] {
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      if (found.length >= limit) return;
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (!(at === dir && skip.has(entry.name))) walk(path);
      }
      else if (entry.isFile()) found.push(relative(dir, path));
    }
  };
  if (existsSync(dir)) walk(dir);
  return found.sort();
}

/** Records, beside the release, what its shared folders hide (status reads it). */
export function recordUnused(releaseDir: string, folders: HiddenFiles[]): void {
  writeFileSync(join(releaseDir, UNUSED_FILE), JSON.stringify(folders.filter((f) => f.unused.length).map(({ path, seed, unused }) => ({ path, seed, unused }))));
}

/** The first three files of a list, and how many more: what a warning names. */
export function someFiles(files: string[]): string {
  return files.slice(0, 3).join(', ') + (files.length > 3 ? `, and ${files.length - 3} more` : '');
}

/** The warning for committed files a shared folder hides. */
export function unusedWarning(link: HiddenFiles, release: string): string {
  const shown = someFiles(link.unused);
  const why = link.seed === 'never' ? 'seed: never' : 'seed: once, and the shared folder already holds data';
  return `${release}'s commit carries ${link.unused.length} file(s) under the shared folder ${link.path}/ that differ from the shared copies, which the app sees instead (${shown}; ${why}). To ship them, set shared: [{ path: ${link.path}, seed: always }] (the commit's files replace the shared copies at each deploy), or copy them into the shared folder yourself.`;
}

/** The warnings a release's shared folders left (read by status), none when it has no record. */
export function sharedWarningsOf(releaseDir: string, release: string): string[] {
  try {
    const recorded = JSON.parse(readFileSync(join(releaseDir, UNUSED_FILE), 'utf8')) as Array<HiddenFiles>;
    return recorded.map((link) => unusedWarning(link, release));
  } catch {
    return [];
  }
}
