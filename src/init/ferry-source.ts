import { spawnSync } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY_ROOT } from '../shared/build-info.js';

export { pinnedFerry, unpinnedReason, type PinnedFerry, type FerrySourceSetting } from '../config/ferry-pin.js';
import type { PinnedFerry } from '../config/ferry-pin.js';

const git = (args: string[]) => {
  const result = spawnSync('git', ['-C', FERRY_ROOT, ...args], { encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : undefined;
};

/** `git@host:owner/repo.git` → `git+ssh://git@host/owner/repo.git`; https and ssh URLs get npm's `git+` prefix. */
function npmGitUrl(remote: string): string | undefined {
  const scp = /^([\w.-]+@[\w.-]+):(?!\/)(.+)$/.exec(remote);
  if (scp) return `git+ssh://${scp[1]}/${scp[2]}`;
  if (/^(https|ssh):\/\//.test(remote)) return `git+${remote}`;
  return undefined; // a local path, git:// or http: a CI runner cannot reach it, or not safely
}

/**
 * A pinned source to propose when ferry.yml names none: this ferry's git checkout, its origin at the exact
 * commit it runs. `ferry init` writes it into a new ferry.yml, where the user sees and commits it.
 */
export function proposedFerrySource(): string | undefined {
  if (!existsSync(join(FERRY_ROOT, '.git')) || git(['rev-parse', '--show-toplevel']) !== realpathSync(FERRY_ROOT)) return undefined;
  const remote = git(['remote', 'get-url', 'origin']);
  const commit = git(['rev-parse', 'HEAD']);
  const url = remote && npmGitUrl(remote);
  return url && commit ? `${url}#${commit}` : undefined;
}

/** What to tell a user whose ferry.yml names no pinned source for CI's ferry. */
export const HOW_TO_PIN =
  'set workflow.ferry in ferry.yml to where your CI installs ferry from: a git URL at a commit or tag (workflow: { ferry: "git+https://github.com/you/ferry.git#v0.1.0" }) or a tarball with its integrity (workflow: { ferry: { tarball: "https://…/ferry-0.1.0.tgz", integrity: "sha512-…" } }, the integrity `npm pack --json` prints), then run `ferry init --workflows`';

/** The spec shown in init's output. */
export function describePinned(pinned: PinnedFerry): string {
  return 'git' in pinned ? `${pinned.git}#${pinned.ref}` : `${pinned.tarball} (${pinned.integrity.slice(0, 19)}…)`;
}
