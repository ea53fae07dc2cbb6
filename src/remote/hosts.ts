/** One host of an environment, as `hosts:` names it: `user@host[:port]` (port 22 by default). */
export interface HostAddress {
  user: string;
  host: string;
  port: number;
  /** As written in ferry.yml: what messages name it by. */
  label: string;
}

const HOST_PATTERN = /^([a-z_][a-z0-9_.-]*)@(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(\d{1,5}))?$/i;

export function parseHost(text: string): HostAddress | undefined {
  const match = HOST_PATTERN.exec(text);
  if (!match) return undefined;
  const port = match[3] ? Number(match[3]) : 22;
  if (port < 1 || port > 65535) return undefined;
  return { user: match[1], host: match[2].replace(/^\[|\]$/g, ''), port, label: text };
}

/** The hosts in groups of `parallel`, in order: each group deploys at once, the next after it succeeded. */
export function batches<T>(hosts: T[], parallel: number): T[][] {
  const groups: T[][] = [];
  for (let i = 0; i < hosts.length; i += Math.max(1, parallel)) groups.push(hosts.slice(i, i + Math.max(1, parallel)));
  return groups;
}

/** Quotes a word for the remote POSIX shell (paths and names only: secrets never go on a command line). */
export const shellWord = (word: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`);

/**
 * Where the project lives on a host, as a word for its shell: `ssh.dir` (absolute, or under the SSH user's
 * home), by default ~/ferry/<app>; its `repo` folder holds the deployed commit.
 */
export function remoteRepo(dir: string | undefined, app: string): string {
  const path = `${dir ?? `ferry/${app}`}/repo`.replace(/^~\//, '');
  return path.startsWith('/') ? shellWord(path) : `"$HOME"/${shellWord(path)}`;
}
