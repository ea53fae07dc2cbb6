import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** ferry's own folder: the nearest folder above this file with ferry's package.json (above dist/, or dist-bench/src/). */
export const FERRY_ROOT = ((): string => {
  for (let dir = import.meta.dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'ferry') return dir;
  }
  return resolve(import.meta.dirname, '../..');
})();

/** The version of the ferry that is running, from its package.json. */
export const FERRY_VERSION: string = (JSON.parse(readFileSync(join(FERRY_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Where the generated workflows install ferry from, and how ferry knows. */
export interface FerrySource {
  /** An npm install spec: a registry version, a git URL with its commit, a tarball URL or path. */
  spec: string;
  from: string;
}

const git = (args: string[]) => {
  const result = spawnSync('git', ['-C', FERRY_ROOT, ...args], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
};

/** `git@host:owner/repo.git` → `git+ssh://git@host/owner/repo.git`; https and ssh URLs get npm's `git+` prefix. */
function npmGitUrl(remote: string): string | undefined {
  const scp = /^([\w.-]+@[\w.-]+):(?!\/)(.+)$/.exec(remote);
  if (scp) return `git+ssh://${scp[1]}/${scp[2]}`;
  if (/^(https?|ssh|git):\/\//.test(remote)) return `git+${remote}`;
  return undefined; // a local path: a CI runner cannot reach it
}

/**
 * How CI installs ferry, pinned to the ferry that writes the workflow: what ferry.yml's `workflow.ferry` says;
 * else, when this ferry runs from a git checkout with a remote, that remote at this exact commit; else the
 * npm registry's `ferry@<this version>`.
 */
export function ferrySource(configured: string | undefined): FerrySource {
  if (configured) return { spec: configured, from: 'workflow.ferry in ferry.yml' };
  if (existsSync(join(FERRY_ROOT, '.git')) && git(['rev-parse', '--show-toplevel']) === realpathSync(FERRY_ROOT)) {
    const remote = git(['remote', 'get-url', 'origin']);
    const commit = git(['rev-parse', 'HEAD']);
    const url = remote && npmGitUrl(remote);
    if (url && commit) return { spec: `${url}#${commit}`, from: `this ferry's git checkout: its origin at the commit it runs (${commit.slice(0, 12)})` };
  }
  return {
    spec: `ferry@${FERRY_VERSION}`,
    from: `the npm registry, this ferry's version; if your team installs ferry from a git URL or a tarball, set workflow.ferry in ferry.yml to it and run \`ferry init --workflows --force\``,
  };
}
