import { openSync, readSync, fstatSync, closeSync } from 'node:fs';

/** The last `lines` lines of a file, reading at most maxBytes from its end. */
export function tailFile(path: string, lines: number, maxBytes = 256 * 1024): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
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
