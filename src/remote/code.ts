import { spawn } from 'node:child_process';
import { Transform } from 'node:stream';
import { run } from '../util/run.js';
import { shellWord } from './hosts.js';
import { FerryError } from '../util/errors.js';
import type { SshConnection } from './ssh.js';

/** The ref a deploy bundles (made for the deploy, deleted after it): a bundle carries refs, not bare commits. */
export const OUTGOING_REF = 'refs/ferry/outgoing';

/**
 * Gives the host's copy of the project the commit, without a deploy key on the host: the host says which
 * deployed commits it has, and ferry sends a `git bundle` of what it lacks through the connection (or, with
 * `ssh.git_remote`, the host fetches the commit from that remote with its own key). Then the
 * host's working tree is that commit (its ferry.yml is the one deployed). `repo` is a word for the host's shell
 * (see remoteRepo). Returns the bundle's size in bytes (0: it had it).
 */
export async function sendCommit(connection: SshConnection, projectDir: string, commit: string, repo: string, gitRemote?: string): Promise<number> {
  const state = await connection.run(`mkdir -p ${repo} && git -C ${repo} init -q && (git -C ${repo} cat-file -e ${commit}^{commit} 2>/dev/null && echo HAVE; git -C ${repo} for-each-ref --format='%(objectname)' refs/ferry/deployed)`, 'reading the project\'s git repository');
  let bytes = 0;
  if (!state.split('\n').includes('HAVE') && gitRemote) {
    // The host's own deploy key reaches the remote: it fetches the commit itself.
    await connection.run(`git -C ${repo} fetch -q ${shellWord(gitRemote)} ${commit}:refs/ferry/deployed/${commit}`, `fetching commit ${commit.slice(0, 12)} from ${gitRemote}`);
  } else if (!state.split('\n').includes('HAVE')) {
    // What the host has and this repository knows too: the bundle leaves it out.
    const known: string[] = [];
    for (const id of state.split('\n').filter((line) => /^[0-9a-f]{40,64}$/.test(line))) {
      if ((await run('git', ['cat-file', '-e', `${id}^{commit}`], { cwd: projectDir })).exitCode === 0) known.push(`^${id}`);
    }
    const bundle = spawn('git', ['bundle', 'create', '-', OUTGOING_REF, ...known], { cwd: projectDir, stdio: ['ignore', 'pipe', 'pipe'] });
    let error = '';
    bundle.stderr.on('data', (chunk) => (error += chunk));
    const counted = bundle.stdout.pipe(new Transform({ transform: (chunk: Buffer, _encoding, done) => ((bytes += chunk.length), done(null, chunk)) }));
    const received = await connection.exec(`cat > ${repo}/.git/ferry-incoming.bundle && git -C ${repo} fetch -q .git/ferry-incoming.bundle ${OUTGOING_REF}:refs/ferry/deployed/${commit}; status=$?; rm -f ${repo}/.git/ferry-incoming.bundle; exit $status`, counted);
    if (received.code !== 0) throw new FerryError({ code: 'REMOTE_COMMAND_FAILED', message: `sending commit ${commit.slice(0, 12)} to ${connection.address.label} failed: ${(received.stderr || error).trim().split('\n').slice(-3).join(' | ')}` });
  }
  await connection.run(`git -C ${repo} -c advice.detachedHead=false checkout -q --force --detach ${commit} && git -C ${repo} clean -qfdx -e .ferry`, 'checking the commit out');
  return bytes;
}

/** Makes the outgoing ref for a deploy's commit; the function returned deletes it. */
export async function outgoingRef(projectDir: string, commit: string): Promise<() => Promise<void>> {
  await run('git', ['update-ref', OUTGOING_REF, commit], { cwd: projectDir });
  return async () => void (await run('git', ['update-ref', '-d', OUTGOING_REF], { cwd: projectDir }));
}
