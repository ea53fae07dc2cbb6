import { openSync, readSync, fstatSync, closeSync, statSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { LogLine } from '../runtime.js';

/** The last `lines` lines of a file, reading at most maxBytes from its end (and not past `end`, when given). */
export function tailFile(path: string, lines: number, maxBytes = 256 * 1024, end?: number): string[] {
  if (lines === 0) return [];
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = Math.min(fstatSync(fd).size, end ?? Infinity);
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    const all = buffer.toString('utf8').split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines);
  } finally {
    closeSync(fd);
  }
}

const sizeOf = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

/**
 * The last `lines` lines of a log file, then each line appended to it, polled every pollMs. The instance writes
 * the file itself (no ferry process sits between an app and its output), so the time of a line is known only
 * for the lines seen arriving: the time ferry read them, within pollMs; the earlier ones have none.
 */
export async function followFile(path: string, lines: number, signal: AbortSignal, onLine: (line: LogLine) => void, pollMs = 250): Promise<void> {
  let offset = sizeOf(path);
  for (const text of tailFile(path, lines, undefined, offset)) onLine({ text, at: null });
  let partial = '';
  const maxRead = 1024 * 1024;
  while (!signal.aborted) {
    await delay(pollMs, undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    const size = sizeOf(path);
    if (size < offset) [offset, partial] = [0, '']; // truncated or replaced: read it from the start
    if (size === offset) continue;
    const fd = openSync(path, 'r');
    try {
      const buffer = Buffer.alloc(Math.min(size - offset, maxRead));
      const read = readSync(fd, buffer, 0, buffer.length, offset);
      offset += read;
      const parts = (partial + buffer.toString('utf8', 0, read)).split('\n');
      partial = parts.pop() ?? '';
      const at = new Date().toISOString();
      for (const text of parts) onLine({ text, at });
    } finally {
      closeSync(fd);
    }
  }
}
