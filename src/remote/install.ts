import { spawn, spawnSync } from 'node:child_process';
import { relative } from 'node:path';
import { FERRY_ROOT, ferryBuild } from '../shared/build-info.js';
import { FerryError } from '../util/errors.js';
import type { SshConnection } from './ssh.js';

/** Where ferry's builds live on a host, as the remote shell expands it: $FERRY_HOME/versions, by default ~/.ferry/versions. */
export const REMOTE_FERRY_DIR = '"${FERRY_HOME:-$HOME/.ferry}/versions"';

/** The packages ferry needs at run time (npm's view of its production tree), as paths under FERRY_ROOT. */
function runtimePackages(): string[] {
  const listed = spawnSync('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: FERRY_ROOT, encoding: 'utf8' });
  if (listed.status !== 0) throw new FerryError({ code: 'REMOTE_INSTALL_FAILED', message: `npm cannot list ferry's dependencies in ${FERRY_ROOT}: ${listed.stderr.trim().split('\n')[0]}`, hint: 'Install ferry with its own node_modules (npm install -g, or a clone with npm install).' });
  const top = new Set<string>();
  for (const line of listed.stdout.split('\n')) {
    const path = relative(FERRY_ROOT, line);
    const match = /^node_modules\/(@[^/]+\/)?[^/]+/.exec(path);
    if (match) top.add(match[0]);
  }
  return [...top].sort();
}

/**
 * What a host does not need of better-sqlite3: its C sources and, where it was compiled here rather than fetched
 * prebuilt, the compiler's objects and archive (15 MB beside the 2 MB module it loads, build/Release/better_sqlite3.node).
 */
const NOT_COPIED = ['deps', 'src', 'build/Release/obj.target', 'build/Release/obj', 'build/Release/.deps', 'build/Release/sqlite3.a', 'build/Release/test_extension.node'].map((path) => `node_modules/better-sqlite3/${path}`);

/** The names `ls` gave of a host's builds that are complete (not a copy in progress, nothing odd). */
export const completeBuilds = (names: string[]) => names.filter((name) => /^[\w.+-]+$/.test(name) && !name.endsWith('.part'));

/** Removes the builds a host no longer runs (after its agent and router moved to the new one: a router forks workers from its files). */
export async function removeBuilds(connection: SshConnection, builds: string[]): Promise<void> {
  for (const old of builds) await connection.exec(`rm -rf ${REMOTE_FERRY_DIR}/${old}`);
}

export interface HostFerry {
  /** The command that runs ferry there. */
  command: string;
  build: string;
  action: 'present' | 'installed' | 'upgraded';
  previous: string[];
  node: string;
}

/**
 * Makes sure the host has this very ferry build: when it does not, copies it there (code and run-time
 * dependencies, as a tar stream through the connection) and says whether it installed or upgraded it.
 * The host needs Node (the same major as here: native modules are copied as built).
 */
export async function ensureFerry(connection: SshConnection, say: (line: string) => void): Promise<HostFerry> {
  const build = ferryBuild();
  const home = `${REMOTE_FERRY_DIR}/${build}`;
  const probe = await connection.exec(`command -v node >/dev/null && node -p 'process.versions.node+" "+process.versions.modules' && ls ${REMOTE_FERRY_DIR} 2>/dev/null; true`);
  const [nodeLine, ...builds] = probe.stdout.trim().split('\n').filter(Boolean);
  if (!nodeLine) throw new FerryError({ code: 'REMOTE_INSTALL_FAILED', message: `${connection.address.label} has no node on its PATH for ${connection.address.user}`, hint: 'Install Node.js 20 or later there (its distribution\'s nodejs package, or nodesource).' });
  const [node, abi] = nodeLine.split(' ');
  const command = `node ${home}/bin/ferry.js`;
  const installed = completeBuilds(builds);
  if (installed.includes(build)) return { command, build, action: 'present', previous: [], node };
  if (abi !== process.versions.modules && Number(node.split('.')[0]) < 22) {
    throw new FerryError({ code: 'REMOTE_INSTALL_FAILED', message: `${connection.address.label} runs Node ${node}, this machine Node ${process.versions.node}: ferry's native SQLite module would not load there`, hint: `Run the same Node major on both, or Node 22.13+ on the host (ferry then uses node:sqlite).` });
  }
  const action = installed.length ? 'upgraded' : 'installed';
  say(`${action === 'upgraded' ? `upgrading ferry from ${installed.join(', ')} to ${build}` : `installing ferry ${build}`} (Node ${node} there)`);
  const started = Date.now();
  const tar = spawn('tar', ['-cf', '-', ...NOT_COPIED.map((path) => `--exclude=${path}`), '-C', FERRY_ROOT, 'package.json', 'bin', 'dist', 'schema', ...runtimePackages()], { stdio: ['ignore', 'pipe', 'pipe'] });
  const gzip = spawn('gzip', ['-1'], { stdio: ['pipe', 'pipe', 'ignore'] });
  tar.stdout.pipe(gzip.stdin);
  let tarError = '';
  tar.stderr.on('data', (chunk) => (tarError += chunk));
  const part = `${home}.part`;
  const result = await connection.exec(`rm -rf ${part} && mkdir -p ${part} && tar -xzf - -C ${part} && rm -rf ${home} && mv ${part} ${home} && node ${home}/bin/ferry.js --version`, gzip.stdout);
  if (result.code !== 0) throw new FerryError({ code: 'REMOTE_INSTALL_FAILED', message: `copying ferry to ${connection.address.label} failed: ${(result.stderr || tarError).trim().split('\n').slice(-3).join(' | ')}` });
  say(`ferry ${build} ${action} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return { command, build, action, previous: installed, node };
}
