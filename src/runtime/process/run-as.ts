import { chmodSync, existsSync, lchownSync, lstatSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { FerryError } from '../../util/errors.js';

/** Who a process instance runs as (`user:` in ferry.yml), as the router's spawn needs it. */
export interface RunAs {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

interface AccountFiles {
  passwd: string;
  group: string;
}

const SYSTEM_FILES: AccountFiles = { passwd: '/etc/passwd', group: '/etc/group' };

const rows = (path: string) =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => line.split(':'))
    : [];

/** `name`, `uid`, `name:group` or `uid:gid` → the account, read from /etc/passwd and /etc/group. */
export function resolveUser(spec: string, files: AccountFiles = SYSTEM_FILES): RunAs {
  const [who, groupSpec] = spec.split(':');
  const account = rows(files.passwd).find(([name, , uid]) => name === who || uid === who);
  if (!account && !/^\d+$/.test(who)) {
    throw new FerryError({ code: 'USER_UNKNOWN', message: `user: ${spec} names no account on this machine (${files.passwd})`, hint: `Create it (useradd --system --no-create-home ${who}) or name an existing one.` });
  }
  const uid = Number(account?.[2] ?? who);
  let gid = Number(account?.[3] ?? who);
  if (groupSpec !== undefined) {
    const group = rows(files.group).find(([name, , id]) => name === groupSpec || id === groupSpec);
    if (!group && !/^\d+$/.test(groupSpec)) throw new FerryError({ code: 'USER_UNKNOWN', message: `user: ${spec} names no group ${groupSpec} on this machine (${files.group})`, hint: 'Name an existing group, or leave it out to use the user’s own.' });
    gid = Number(group?.[2] ?? groupSpec);
  }
  return { name: account?.[0] ?? who, uid, gid, home: account?.[5] || '/' };
}

/** Only root may start a process as someone else; ferry says so before it builds anything. */
export function checkCanRunAs(user: RunAs, currentUid: number | undefined = process.getuid?.()): void {
  if (currentUid === undefined || currentUid === 0 || currentUid === user.uid) return;
  throw new FerryError({
    code: 'USER_NOT_PERMITTED',
    message: `user: ${user.name} (uid ${user.uid}) needs ferry to run as root, and it runs as uid ${currentUid}`,
    hint: 'Run the agent as root (ferry setup installs it as a root service), or remove user: to run the instances as ferry’s own user.',
  });
}

/** The user can pass through a folder: the execute bit that applies to it (its libuv spawn has no supplementary groups). */
function passable(user: RunAs, dir: string): boolean {
  const stat = lstatSync(dir);
  if (stat.uid === user.uid) return (stat.mode & 0o100) !== 0;
  if (stat.gid === user.gid) return (stat.mode & 0o010) !== 0;
  return (stat.mode & 0o001) !== 0;
}

/**
 * The folders above ferry's state are not ferry's to open up (root's own state folder sits in /root, 0700): when
 * one of them bars the user, ferry says which and where state can live instead, before anything is built.
 */
function checkPassable(user: RunAs, stateRoot: string): void {
  for (let dir = dirname(stateRoot); ; dir = dirname(dir)) {
    if (!passable(user, dir)) {
      const mode = (lstatSync(dir).mode & 0o777).toString(8).padStart(4, '0');
      throw new FerryError({
        code: 'USER_CANNOT_REACH',
        message: `user: ${user.name} cannot reach the releases in ${stateRoot}: ${dir} (mode ${mode}) does not let it through`,
        hint: 'Keep the state where others may pass through: state_dir: /var/lib/ferry/<app> in ferry.yml (or FERRY_STATE_DIR); ferry makes the folders it owns passable (0711) but never changes yours.',
      });
    }
    if (dir === dirname(dir)) return;
  }
}

/** Changes the owner of a tree without following links; `skip` names entries (relative to the root) left as they are. */
function chownTree(root: string, user: RunAs, skip: Set<string> = new Set()): void {
  const visit = (path: string) => {
    if (skip.has(relative(root, path))) return;
    lchownSync(path, user.uid, user.gid);
    const stat = lstatSync(path);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(root);
}

/**
 * What an instance running as `user` may reach: its release's files (owned by it, except node_modules, which it
 * only reads: the installed tree is hard-linked from ferry's store and shared with other releases) and its
 * shared folders (owned by it: it writes there). The folders above them in the state folder become 0711 so it
 * can pass through without listing them; .env, ferry.db and the logs stay ferry's, 0600 (the router reads the
 * .env and opens the log for the instance).
 */
export function grantReleaseAccess(user: RunAs, paths: { stateRoot: string; appDir: string; sharedDirs: string[] }): void {
  checkPassable(user, paths.stateRoot);
  for (const target of [paths.appDir, ...paths.sharedDirs]) {
    for (let dir = dirname(target); dir.startsWith(paths.stateRoot + sep) || dir === paths.stateRoot; dir = dirname(dir)) {
      chmodSync(dir, 0o711);
      if (dir === paths.stateRoot) break;
    }
  }
  chownTree(paths.appDir, user, new Set(['node_modules']));
  for (const dir of paths.sharedDirs) if (lstatSync(dir).uid !== user.uid) chownTree(dir, user);
}
