import { cpSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Links an environment's `shared:` folders into a release (as Capistrano does): the data lives in the state
 * folder and every release, rollbacks included, sees the same. A folder the commit itself carries seeds the
 * shared one the first time (when it is still empty); a link left by another environment's release (promote) is replaced.
 */
export function linkSharedDirs(appDir: string, sharedRoot: string, dirs: string[]): string[] {
  return dirs.map((dir) => {
    const shared = join(sharedRoot, dir);
    const inRelease = join(appDir, dir);
    mkdirSync(shared, { recursive: true });
    const stat = lstatOrUndefined(inRelease);
    if (stat?.isSymbolicLink()) unlinkSync(inRelease);
    else if (stat) {
      if (readdirSync(shared).length === 0 && stat.isDirectory()) cpSync(inRelease, shared, { recursive: true });
      rmSync(inRelease, { recursive: true, force: true });
    }
    mkdirSync(dirname(inRelease), { recursive: true });
    symlinkSync(shared, inRelease, 'dir');
    return `${dir} → ${shared}`;
  });
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
