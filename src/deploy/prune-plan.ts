/** Pure: releases of one environment to delete; the newest `retain` stay, and so does anything in `keep` (serving, rollback target). */
export function planReleasePrune(releaseIdsNewestFirst: string[], retain: number, keep: Set<string>): string[] {
  return releaseIdsNewestFirst.filter((id, index) => index >= retain && !keep.has(id));
}

/** Pure: backup folders (named d<deployment>) to delete, keeping the newest `retain`. */
export function planBackupPrune(backupNames: string[], retain: number): string[] {
  return [...backupNames].sort((a, b) => Number(b.slice(1)) - Number(a.slice(1))).slice(retain);
}
