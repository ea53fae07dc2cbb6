import { readFileSync } from 'node:fs';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (dead, not yet reaped by its parent) still answers signal 0. An agent killed after the command that
  // started it exited waits for init to reap it, which can take a while (or forever in a container whose PID 1 does
  // not reap): it must not hold the state folder, nor be the agent a command waits for.
  return !isZombie(pid);
}

/** Whether the process a pid file names (its pid as text) is alive; false when the file is missing or says no pid. */
export function pidFileProcessAlive(file: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(file, 'utf8').trim());
  } catch {
    return false;
  }
  return Number.isInteger(pid) && pid > 0 && isProcessAlive(pid);
}

/** Whether /proc says the process has exited and waits to be reaped (state Z or X); false where there is no /proc. */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    return state === 'Z' || state === 'X';
  } catch {
    return false;
  }
}

/**
 * When a process started (its start time in clock ticks since boot, from /proc on Linux): with its pid, it names
 * one process for good, where a pid alone may be reused. Undefined where /proc has no such process or no /proc.
 */
export function processStartTime(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so count from its closing parenthesis.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process of that pid and start time still runs (the start time unknown: the pid alone decides). */
export function isSameProcessAlive(pid: number, startTime: string | null | undefined): boolean {
  if (!isProcessAlive(pid)) return false;
  const now = processStartTime(pid);
  return !startTime || !now || now === startTime;
}

