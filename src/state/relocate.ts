import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { openSqlite } from '../store/sqlite.js';
import { writeFileAtomic } from '../util/fs-atomic.js';

const MARKER = 'location';

/**
 * State records absolute paths (release directories, instance logs, CI logs). When the folder was moved
 * (`mv`, or ferry moving an old in-project .ferry out), those paths are rewritten to the new place once,
 * before anything reads them; the marker file remembers where the state last was.
 */
export function adoptMovedState(root: string): { movedFrom?: string } {
  const marker = join(root, MARKER);
  const previous = existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
  if (previous === root) return {};
  if (previous) {
    const db = join(root, 'ferry.db');
    if (existsSync(db)) {
      const handle = openSqlite(db);
      try {
        const rewrite = (table: string, column: string) => {
          const exists = handle.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?`).get(table);
          if (exists) handle.prepare(`UPDATE ${table} SET ${column} = ? || substr(${column}, ?) WHERE substr(${column}, 1, ?) = ?`).run(root, previous.length + 1, previous.length, previous);
        };
        handle.transaction(() => {
          rewrite('releases', 'dir');
          rewrite('pipeline_stages', 'log_file');
        })();
      } finally {
        handle.close();
      }
    }
    const routerState = join(root, 'router', 'state.json');
    if (existsSync(routerState)) {
      const text = readFileSync(routerState, 'utf8');
      const quoted = JSON.stringify(previous).slice(1, -1);
      writeFileAtomic(routerState, text.split(`"${quoted}`).join(`"${JSON.stringify(root).slice(1, -1)}`), 0o600);
    }
  }
  writeFileAtomic(marker, root + '\n', 0o600);
  return { movedFrom: previous };
}

/** Moves a state folder (same filesystem only); false when it cannot be renamed there. */
export function tryMoveState(from: string, to: string): boolean {
  if (existsSync(to)) return false;
  try {
    renameSync(from, to);
    return true;
  } catch {
    return false;
  }
}
