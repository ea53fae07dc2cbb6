import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from '../util/run.js';
import { FerryError, usageError } from '../util/errors.js';

/** Revision syntax ferry accepts: branch, tag, sha, HEAD~2, main^, v1.2.3. No whitespace, no shell metacharacters, no leading dash. */
const SAFE_REF = /^[A-Za-z0-9_][A-Za-z0-9_./~^@{}+-]{0,199}$/;

export interface SourceCommit {
  commit: string;
  ref: string;
  /** False when the project is not in a git repository and the working tree is deployed as it is. */
  fromGit: boolean;
  /** The branch the ref names (HEAD: the branch checked out), null when detached or a tag or commit. */
  branch?: string | null;
  /** The commit's subject line. */
  subject?: string;
  /** Who wrote the commit (git's author name). */
  author?: string;
  /** The git tree of the project folder at the commit: what the release is made of (an image built from the same tree can be reused). */
  tree?: string;
  dirty: boolean;
}

/** The git tree of the project folder (which may sit below the repository's root) at a commit; undefined outside git. */
export async function sourceTree(projectDir: string, commit: string): Promise<string | undefined> {
  const tree = await git(projectDir, ['rev-parse', '--verify', '--quiet', `${commit}:./`]);
  return tree.exitCode === 0 ? tree.stdout.trim() : undefined;
}

async function git(cwd: string, args: string[]) {
  return run('git', args, { cwd, timeoutMs: 60_000 });
}

export async function isGitRepository(projectDir: string): Promise<boolean> {
  const result = await git(projectDir, ['rev-parse', '--is-inside-work-tree']);
  return result.exitCode === 0 && result.stdout.trim() === 'true';
}

/** Resolves a user-given ref to a commit, refusing anything that is not plain revision syntax. */
export async function resolveCommit(projectDir: string, ref: string | undefined): Promise<SourceCommit> {
  if (!(await isGitRepository(projectDir))) {
    if (ref) throw usageError('NOT_A_GIT_REPOSITORY', `--ref ${JSON.stringify(ref)} needs a git repository, and ${projectDir} is not in one`, 'Run `git init && git add -A && git commit -m init`, or deploy without --ref to ship the working tree.');
    return { commit: 'working-tree', ref: 'working-tree', fromGit: false, dirty: true };
  }
  const wanted = ref ?? 'HEAD';
  if (!SAFE_REF.test(wanted) || wanted.includes('..')) {
    throw usageError('INVALID_REF', `--ref ${JSON.stringify(wanted)} is not a git revision ferry accepts`, 'Use a branch, tag or commit id (letters, digits and . _ / - ~ ^ @ { } +), without spaces or shell characters.');
  }
  const resolved = await git(projectDir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${wanted}^{commit}`]);
  if (resolved.exitCode !== 0) {
    throw usageError('UNKNOWN_REF', `git ref ${JSON.stringify(wanted)} does not name a commit in ${projectDir}`, 'Check `git log --oneline` or `git branch -a`; fetch first if the commit lives on a remote.');
  }
  const status = await git(projectDir, ['status', '--porcelain', '--', '.']);
  const commit = resolved.stdout.trim();
  // wanted is revision syntax without a leading dash (SAFE_REF): it cannot be read as an option.
  const branchOf = await git(projectDir, ['rev-parse', '--abbrev-ref', wanted]);
  const branch = branchOf.exitCode === 0 && branchOf.stdout.trim() !== 'HEAD' && !/^[0-9a-f]{40}$/.test(branchOf.stdout.trim()) ? branchOf.stdout.trim() : null;
  const [subject, author] = (await git(projectDir, ['log', '-1', '--format=%s%n%an', commit])).stdout.split('\n');
  return { commit, ref: wanted, fromGit: true, dirty: status.stdout.trim().length > 0, branch, subject: subject.trim(), author: author?.trim() || undefined, tree: await sourceTree(projectDir, commit) };
}

/** Writes the project's files at that commit into targetDir, through `git archive` (no checkout, no shell). */
export async function exportSource(projectDir: string, source: SourceCommit, targetDir: string, stateDir: string): Promise<void> {
  mkdirSync(targetDir, { recursive: true });
  if (!source.fromGit) {
    copyWorkingTree(projectDir, targetDir, stateDir);
    return;
  }
  const prefix = (await git(projectDir, ['rev-parse', '--show-prefix'])).stdout.trim();
  const toplevel = (await git(projectDir, ['rev-parse', '--show-toplevel'])).stdout.trim();
  const treeish = prefix ? `${source.commit}:${prefix.replace(/\/$/, '')}` : source.commit;
  const archive = join(targetDir, '..', `.${source.commit}.${process.pid}.tar`);
  try {
    const archived = await git(toplevel, ['archive', '--format=tar', `--output=${archive}`, treeish]);
    if (archived.exitCode !== 0) throw new FerryError({ code: 'CHECKOUT_FAILED', message: `git archive of ${source.commit} failed: ${archived.stderr.trim()}` });
    const extracted = await run('tar', ['-x', '-f', archive, '-C', targetDir], { timeoutMs: 120_000 });
    if (extracted.exitCode !== 0) throw new FerryError({ code: 'CHECKOUT_FAILED', message: `extracting ${source.commit} failed: ${extracted.stderr.trim()}` });
  } finally {
    rmSync(archive, { force: true });
  }
}

/**
 * Copies the working tree (no git) without ferry's state folder and .git. The state folder may sit inside the
 * project (`state_dir: .ferry-state`, an older ferry's `.ferry`), and then the release folder being written is
 * inside the folder being copied, which one cpSync of the project refuses (EINVAL): the folders on the way to
 * the state are walked here, everything else is copied whole.
 */
function copyWorkingTree(from: string, to: string, stateDir: string): void {
  const skipped = (path: string) => path === stateDir || path.startsWith(`${stateDir}/`) || basename(path) === '.git';
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    const path = join(from, entry.name);
    if (skipped(path)) continue;
    if (entry.isDirectory() && stateDir.startsWith(`${path}/`)) copyWorkingTree(path, join(to, entry.name), stateDir);
    else cpSync(path, join(to, entry.name), { recursive: true, filter: (source) => !skipped(source) });
  }
}

