import { cpSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { SharedFolder } from '../../config/schema.js';
import { filesUnder, recordUnused, type HiddenFiles } from '../shared-data.js';

/** What one shared folder got at a deploy: where it lives, what the commit seeded, and the committed files the app will not see. */
export interface SharedLink extends HiddenFiles {
  shared: string;
  /** Files of the commit copied into the shared folder (seed once on an empty folder, or always). */
  seeded: number;
}

/** Where a release keeps the files its commit carried under shared folders (beside app/): for its own promotions and for status. */
export const COMMITTED_SHARED = 'committed-shared';

const sameFile = (a: string, b: string) => {
  try {
    return statSync(a).size === statSync(b).size && readFileSync(a).equals(readFileSync(b));
  } catch {
    return false;
  }
};

const lstatOrUndefined = (path: string) => {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
};

/**
 * Links an environment's `shared:` folders into a release (as Capistrano does): the data lives in the state
 * folder and every release, rollbacks included, sees the same. What the commit itself carries under such a
 * folder is kept beside the release (`committed-shared/`) and used by the folder's seed rule; committed files
 * the app will not see (they differ from the shared copy) are returned, to be said at the deploy and in status.
 * `committedFrom`: where the committed files are when the release's tree was reused from another (promote).
 */
export function linkSharedDirs(appDir: string, sharedRoot: string, folders: SharedFolder[], committedFrom?: string): SharedLink[] {
  const releaseDir = dirname(appDir);
  const links = folders.map((folder) => {
    const shared = join(sharedRoot, folder.path);
    const inRelease = join(appDir, folder.path);
    const kept = join(releaseDir, COMMITTED_SHARED, folder.path);
    const sharedWasEmpty = !existsSync(shared) || readdirSync(shared).length === 0;
    mkdirSync(shared, { recursive: true });
    const stat = lstatOrUndefined(inRelease);
    if (stat?.isSymbolicLink()) unlinkSync(inRelease);
    else if (stat?.isDirectory()) {
      rmSync(kept, { recursive: true, force: true });
      mkdirSync(dirname(kept), { recursive: true });
      renameSync(inRelease, kept);
    } else if (stat) throw new Error(`shared: ${folder.path} is a file in the commit; shared entries are folders`);
    const fromOther = committedFrom && join(committedFrom, folder.path);
    if (!existsSync(kept) && fromOther && existsSync(fromOther)) cpSync(fromOther, kept, { recursive: true });
    const committed = filesUnder(kept);
    let seeded = 0;
    if (committed.length && (folder.seed === 'always' || (folder.seed === 'once' && sharedWasEmpty))) {
      cpSync(kept, shared, { recursive: true, force: true });
      seeded = committed.length;
    }
    const unused = seeded ? [] : committed.filter((file) => !sameFile(join(kept, file), join(shared, file))).map((file) => join(folder.path, file));
    mkdirSync(dirname(inRelease), { recursive: true });
    symlinkSync(shared, inRelease, 'dir');
    return { path: folder.path, shared, seed: folder.seed, seeded, unused };
  });
  recordUnused(releaseDir, links);
  return links;
}
