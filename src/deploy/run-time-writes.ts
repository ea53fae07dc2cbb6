import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder, someFiles } from '../runtime/shared-data.js';

/**
 * Not data: installed dependencies, git's folder, and the caches and temporary files frameworks write at run time
 * (Next.js's .next/cache). Shared folders are links, never walked.
 */
const NOT_WALKED = new Set(['node_modules', '.git', '.next', '.nuxt', '.svelte-kit', '.cache', '.turbo', 'tmp']);
const MAX_FILES = 20_000;

/**
 * The files an app wrote into its own release folder since it started (modified at or after `sinceMs`): data
 * that the next release, a fresh checkout, starts without. Links (the shared folders) are not followed.
 */
export function writtenSince(appDir: string, sinceMs: number): string[] {
  return filesUnder(appDir, MAX_FILES, NOT_WALKED).filter((file) => {
    try {
      return lstatSync(join(appDir, file)).mtimeMs >= sinceMs;
    } catch {
      return false; // gone meanwhile
    }
  });
}

/** The warning for them: what was written, what the new release lacks, and the setting that keeps such data. */
export function runTimeWritesWarning(files: string[], serving: string, next: string): string {
  const folders = [...new Set(files.filter((file) => file.includes('/')).map((file) => file.split('/')[0]!))];
  const keep = folders.length
    ? `keep a folder the app writes data to outside the releases with shared: [${folders.join(', ')}] in ferry.yml (copy what ${serving} wrote into the shared folder before ${serving} is pruned)`
    : 'have the app write its data into a folder, and name that folder in shared: in ferry.yml';
  return `${serving}'s app wrote ${files.length} file(s) into its release folder while it ran (${someFiles(files)}); ${next} has a folder of its own and starts without them: ${keep}`;
}
