import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * What an instance is made of on this machine, read from /proc (Linux). An instance's command is often a
 * wrapper (`npm start`, a shell script) whose child is the real server: when the wrapper dies, the child
 * lives on, keeps the port, and a restart cannot listen. So an instance is every process that carries its
 * FERRY_INSTANCE_ID: children inherit it through any number of wrappers, and keep it when they start a
 * session of their own or are reparented, which a process group does not survive. Instance ids repeat from
 * one project to the next (`production-r1-d1-1`), so a process is the instance's only when it also carries
 * the FERRY_SCOPE of the router that started it (one per state folder).
 */

/** The FERRY_SCOPE of the instances a router started: its state folder, hashed (instance ids alone repeat across projects). */
export function instanceScope(stateDir: string): string {
  return createHash('sha256').update(resolve(stateDir)).digest('hex').slice(0, 16);
}

const numericEntries = (procRoot: string) => {
  try {
    return readdirSync(procRoot).filter((name) => /^\d+$/.test(name));
  } catch {
    return [];
  }
};

/** What marks a process as an instance's: its FERRY_INSTANCE_ID and FERRY_SCOPE, as it started, and its working folder. */
export interface ProcessMarks {
  id?: string;
  scope?: string;
  cwd?: string;
}

function marksOf(pid: number, procRoot: string): ProcessMarks {
  try {
    const entries = readFileSync(`${procRoot}/${pid}/environ`, 'latin1').split('\0');
    const value = (name: string) => entries.find((entry) => entry.startsWith(`${name}=`))?.slice(name.length + 1);
    const id = value('FERRY_INSTANCE_ID');
    return { id, scope: value('FERRY_SCOPE'), cwd: id ? readlinkSync(`${procRoot}/${pid}/cwd`) : undefined };
  } catch {
    return {};
  }
}

/** Which instance a process belongs to. */
export interface InstanceOwner {
  id: string;
  scope: string;
  /** The instance's working folder: a process started by a router from before FERRY_SCOPE is recognised by it. */
  cwd: string;
}

/** An instance's owner marks; its folder as the kernel names it (a process's cwd is always the real path). */
export function instanceOwner(id: string, scope: string, cwd: string): InstanceOwner {
  try {
    return { id, scope, cwd: realpathSync(cwd) };
  } catch {
    return { id, scope, cwd };
  }
}

/** Whether a process's marks are the instance's: its id, and its router's scope (or, without one, its folder). */
export function belongsTo(of: ProcessMarks, owner: InstanceOwner): boolean {
  return of.id === owner.id && (of.scope === undefined ? of.cwd === owner.cwd : of.scope === owner.scope);
}

/** Whether a live pid is one of the instance's processes (also what guards against pid reuse after a router restart). */
export function isInstanceProcess(pid: number, owner: InstanceOwner, procRoot = '/proc'): boolean {
  return belongsTo(marksOf(pid, procRoot), owner) && !isZombie(pid, procRoot);
}

/** Pids of the live processes of an instance (its whole tree, wherever it was reparented). */
export function instanceProcesses(owner: InstanceOwner, procRoot = '/proc'): number[] {
  const pids: number[] = [];
  for (const name of numericEntries(procRoot)) {
    const pid = Number(name);
    if (pid === process.pid) continue;
    if (isInstanceProcess(pid, owner, procRoot)) pids.push(pid);
  }
  return pids;
}

function isZombie(pid: number, procRoot: string): boolean {
  try {
    // "pid (comm) S ..." where comm may hold spaces and parentheses: the state follows the last ')'.
    const stat = readFileSync(`${procRoot}/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

/** A process's command line, as ps shows it. */
export function commandOf(pid: number, procRoot = '/proc'): string {
  try {
    return readFileSync(`${procRoot}/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') || '?';
  } catch {
    return '?';
  }
}

/** Socket inodes listening on a TCP port, on any address (IPv4 and IPv6). */
function listeningInodes(port: number, procRoot: string): Set<string> {
  const inodes = new Set<string>();
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`${procRoot}/net/${table}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN; the inode is the tenth field.
      if (fields.length > 9 && fields[1]!.endsWith(`:${hexPort}`) && fields[3] === '0A') inodes.add(fields[9]!);
    }
  }
  return inodes;
}

export interface Listener {
  pid: number;
  command: string;
  /** Its marks, when ferry started it. */
  marks: ProcessMarks;
}

/**
 * The process listening on a TCP port, if any: the socket's inode from /proc/net/tcp{,6}, then the process
 * holding it open. `candidates` are looked at first (an instance's own processes), then every process.
 */
export function listenerOf(port: number, candidates: number[] = [], procRoot = '/proc'): Listener | undefined {
  const inodes = listeningInodes(port, procRoot);
  if (inodes.size === 0) return undefined;
  const others = numericEntries(procRoot).map(Number).filter((pid) => !candidates.includes(pid));
  for (const pid of [...candidates, ...others]) {
    let fds: string[];
    try {
      fds = readdirSync(`${procRoot}/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let target: string;
      try {
        target = readlinkSync(`${procRoot}/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) return { pid, command: commandOf(pid, procRoot), marks: marksOf(pid, procRoot) };
    }
  }
  // Listening, but by a process this user may not look into (another account's).
  return { pid: 0, command: 'a process of another user', marks: {} };
}

/** Who listens on an instance's port: one of its own processes (the server behind a wrapper), or another process (`ours: false`). */
export function instanceListener(owner: InstanceOwner, port: number): { pid: number; command: string; ours: boolean } | undefined {
  const found = listenerOf(port, instanceProcesses(owner));
  return found && { pid: found.pid, command: found.command, ours: belongsTo(found.marks, owner) };
}
