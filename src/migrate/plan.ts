import type { ChangelogEntry, MigrationFile } from './types.js';

export type RowState = 'applied' | 'pending' | 'failed' | 'running' | 'modified' | 'missing' | 'out-of-order';

export interface StatusRow {
  name: string;
  state: RowState;
  entry?: ChangelogEntry;
  detail?: string;
}

export interface DriftProblem {
  name: string;
  kind: 'modified' | 'missing' | 'out-of-order';
  message: string;
}

export interface BlockingEntry {
  name: string;
  state: 'failed' | 'running';
  message: string;
}

export interface MigrationStatus {
  rows: StatusRow[];
  pending: MigrationFile[];
  drift: DriftProblem[];
  blocked: BlockingEntry[];
}

const short = (checksum: string) => checksum.slice(0, 12);

/**
 * Compares the files with the changelog. Pure: the same inputs always give the same verdict.
 * Drift: an applied migration whose file changed or is gone, or a new file that sorts before an applied one.
 * Blocked: a `failed` entry, or a `running` one that no runner holds the lock for any more.
 */
export function migrationStatus(files: MigrationFile[], entries: ChangelogEntry[], options: { lockHeldByOther?: boolean } = {}): MigrationStatus {
  // While another runner holds the lock, its `running` entry is live work, not a dead runner's leftover.
  const blocks = (entry: ChangelogEntry) => entry.state === 'failed' || (entry.state === 'running' && !options.lockHeldByOther);
  const byName = new Map(entries.map((e) => [e.name, e]));
  const fileNames = new Set(files.map((f) => f.name));
  const lastApplied = entries.filter((e) => e.state === 'applied').map((e) => e.name).sort().at(-1);
  const rows: StatusRow[] = [];
  const pending: MigrationFile[] = [];
  const drift: DriftProblem[] = [];
  const blocked: BlockingEntry[] = [];

  for (const file of files) {
    const entry = byName.get(file.name);
    if (!entry || entry.state === 'rolled_back') {
      if (lastApplied && file.name < lastApplied) {
        const message = `${file.name} is new but sorts before ${lastApplied}, which is already applied: it was probably merged from an older branch. Rename it so it sorts after ${lastApplied} (\`ferry migrate create\` names files by time).`;
        drift.push({ name: file.name, kind: 'out-of-order', message });
        rows.push({ name: file.name, state: 'out-of-order', entry, detail: `sorts before ${lastApplied}` });
      } else {
        pending.push(file);
        rows.push({ name: file.name, state: 'pending', entry });
      }
      continue;
    }
    if (entry.state === 'applied' && entry.checksum !== file.checksum) {
      const message = `${file.name} was modified after it was applied (checksum ${short(entry.checksum)} then, ${short(file.checksum)} now). An applied migration never runs again: undo the edit and put the change in a new migration, or, if the edit changes nothing that ran, accept it with \`ferry migrate resolve ${file.name} --applied\`.`;
      drift.push({ name: file.name, kind: 'modified', message });
      rows.push({ name: file.name, state: 'modified', entry, detail: `checksum ${short(entry.checksum)} → ${short(file.checksum)}` });
      continue;
    }
    if (blocks(entry)) blocked.push(blocking(entry));
    rows.push({ name: file.name, state: entry.state as RowState, entry });
  }
  for (const entry of entries) {
    if (fileNames.has(entry.name)) continue;
    if (entry.state === 'applied') {
      const message = `${entry.name} was applied (${entry.finishedAt?.toISOString() ?? entry.startedAt.toISOString()}) but its file is gone from the migrations folder. Restore the file from version control; ferry cannot tell what the database holds without it.`;
      drift.push({ name: entry.name, kind: 'missing', message });
      rows.push({ name: entry.name, state: 'missing', entry });
    } else if (entry.state === 'failed' || entry.state === 'running') {
      if (blocks(entry)) blocked.push(blocking(entry));
      rows.push({ name: entry.name, state: entry.state, entry, detail: 'file is gone' });
    }
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  return { rows, pending, drift, blocked };
}

function blocking(entry: ChangelogEntry): BlockingEntry {
  const who = `${entry.host} pid ${entry.pid}`;
  const message =
    entry.state === 'failed'
      ? `${entry.name} failed (${entry.finishedAt?.toISOString() ?? '?'}, by ${who}): ${entry.error ?? 'no error recorded'}. Find out what of it remains, then run \`ferry migrate resolve ${entry.name} --rolled-back\` (nothing of it remains) or \`--applied\` (you completed it by hand).`
      : `${entry.name} is recorded as running since ${entry.startedAt.toISOString()}, but its runner (${who}) no longer holds the lock: it died in the middle. Find out what of it remains, then run \`ferry migrate resolve ${entry.name} --rolled-back\` or \`--applied\`.`;
  return { name: entry.name, state: entry.state as 'failed' | 'running', message };
}

/** The pending migrations to apply, in name order, up to and including `to`. */
export function planUp(status: MigrationStatus, to?: string): MigrationFile[] {
  if (!to) return status.pending;
  const index = status.pending.findIndex((f) => f.name === to);
  if (index < 0) throw new Error(`${to} is not pending (pending: ${status.pending.map((f) => f.name).join(', ') || 'none'})`);
  return status.pending.slice(0, index + 1);
}

/** The applied migrations to undo, newest first: the last one, or every one after `to` (which stays applied). */
export function planDown(status: MigrationStatus, to?: string): string[] {
  const applied = status.rows.filter((r) => r.state === 'applied').map((r) => r.name).sort().reverse();
  if (!to) return applied.slice(0, 1);
  if (!applied.includes(to)) throw new Error(`${to} is not applied (applied: ${applied.join(', ') || 'none'})`);
  return applied.slice(0, applied.indexOf(to));
}
