import { statSync } from 'node:fs';

/**
 * Notices when the database file under a running agent is deleted or replaced: SQLite would go on writing
 * to the unlinked file, and everything written would be lost at the next start. `check()` says why (or
 * undefined while it is the same file); `onReplaced` is told once, within intervalMs.
 */
export function watchDatabaseFile(path: string, options: { intervalMs: number; onReplaced: (why: string) => void }) {
  const opened = statSync(path);
  const check = (): string | undefined => {
    try {
      const now = statSync(path);
      return now.ino === opened.ino && now.dev === opened.dev ? undefined : `${path} was replaced by another file`;
    } catch {
      return `${path} was deleted`;
    }
  };
  const timer = setInterval(() => {
    const why = check();
    if (!why) return;
    clearInterval(timer);
    options.onReplaced(why);
  }, options.intervalMs);
  timer.unref();
  return { check, stop: () => clearInterval(timer) };
}
