import { statSync } from 'node:fs';
import { join } from 'node:path';
import { filesUnder } from '../runtime/shared-data.js';

/**
 * Each file's size and modification time under an environment's data folders (shared folders, volumes): taken
 * when the new release starts beside the old one, and compared when the old one has drained, it tells whether
 * anything wrote there while two releases ran, and might both have written the same file.
 */
export type DataSnapshot = Map<string, string>;

const MAX_FILES = 20_000;

export function snapshotData(dirs: string[]): DataSnapshot {
  const snapshot: DataSnapshot = new Map();
  for (const dir of dirs) {
    let files: string[];
    try {
      files = filesUnder(dir, MAX_FILES);
    } catch {
      continue; // not readable by ferry (a volume of an engine run by another user): nothing to compare, nothing said
    }
    for (const file of files) {
      try {
        const stat = statSync(join(dir, file));
        snapshot.set(join(dir, file), `${stat.size}:${stat.mtimeMs}`);
      } catch {
        /* gone meanwhile */
      }
    }
  }
  return snapshot;
}

/** Files created, changed or removed since the snapshot (paths as snapshotData names them). */
export function changedSince(before: DataSnapshot, dirs: string[]): string[] {
  const after = snapshotData(dirs);
  const changed = [...after].filter(([file, stamp]) => before.get(file) !== stamp).map(([file]) => file);
  const removed = [...before.keys()].filter((file) => !after.has(file));
  return [...changed, ...removed].sort();
}
