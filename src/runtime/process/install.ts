import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FerryError } from '../../util/errors.js';
import { run } from '../../util/run.js';

/** How a release's dependencies are installed: the lockfile's package manager, production-only where the start allows. */
export interface InstallPlan {
  manager: 'npm' | 'pnpm' | 'yarn';
  command: string[];
  lockfile: string | null;
  production: boolean;
  /** Same key, same installed tree: lockfile, package manager command, Node version and platform. */
  key: string;
}

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

/** A build command that installs by itself (`npm ci && npm run build`): ferry then installs nothing. */
const INSTALLS = /(^|[;&|]\s*)(npm\s+(ci|install|i)\b|pnpm\s+(install|i)\b|yarn(\s+install)?(\s|$|;|&))/;

/** Dev tools a start command may run from node_modules, which --omit=dev would remove. */
function startNeedsDevDependencies(start: string | undefined, manifest: Manifest): boolean {
  if (!start) return false;
  const dev = Object.keys(manifest.devDependencies ?? {});
  const script = /^(npm|pnpm|yarn)\s+(run\s+)?(start|[\w:-]+)/.exec(start.trim());
  const command = script ? (manifest.scripts?.[script[3]] ?? start) : start;
  return dev.some((name) => new RegExp(`(^|[\\s/])${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`).test(command));
}

/** Pure: what to install for a release, or why nothing is installed. */
export function planInstall(appDir: string, settings: { install: boolean; build?: string; start?: string }, nodeVersion = process.version): { plan?: InstallPlan; reason: string } {
  if (!settings.install) return { reason: 'install: false in ferry.yml' };
  if (settings.build && INSTALLS.test(settings.build)) return { reason: 'the build command installs the dependencies itself' };
  const manifestFile = join(appDir, 'package.json');
  if (!existsSync(manifestFile)) return { reason: 'no package.json' };
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Manifest;
  const production = !settings.build && !startNeedsDevDependencies(settings.start, manifest);
  const wanted = { ...manifest.dependencies, ...(production ? {} : manifest.devDependencies) };
  if (Object.keys(wanted).length === 0) return { reason: `package.json lists no ${production ? 'production ' : ''}dependencies` };
  const lockfile = ['pnpm-lock.yaml', 'yarn.lock', 'package-lock.json', 'npm-shrinkwrap.json'].find((name) => existsSync(join(appDir, name))) ?? null;
  let manager: InstallPlan['manager'] = 'npm';
  let command: string[];
  if (lockfile === 'pnpm-lock.yaml') {
    manager = 'pnpm';
    command = ['pnpm', 'install', '--frozen-lockfile', ...(production ? ['--prod'] : [])];
  } else if (lockfile === 'yarn.lock') {
    manager = 'yarn';
    const berry = readFileSync(join(appDir, lockfile), 'utf8').includes('__metadata:');
    command = berry ? ['yarn', 'install', '--immutable'] : ['yarn', 'install', '--frozen-lockfile', '--non-interactive', ...(production ? ['--production'] : [])];
  } else {
    // Without a lockfile npm resolves afresh each time: it works, but two releases may get different trees.
    command = lockfile ? ['npm', 'ci', '--no-audit', '--no-fund', ...(production ? ['--omit=dev'] : [])] : ['npm', 'install', '--no-audit', '--no-fund', '--no-package-lock', ...(production ? ['--omit=dev'] : [])];
  }
  const hash = createHash('sha256').update(JSON.stringify({ command, nodeVersion, platform: process.platform, arch: process.arch }));
  hash.update(lockfile ? readFileSync(join(appDir, lockfile)) : JSON.stringify(wanted));
  const key = hash.digest('hex').slice(0, 16);
  return { plan: { manager, command, lockfile, production, key }, reason: lockfile ? `${lockfile} → ${command.join(' ')}` : `no lockfile → ${command.join(' ')}` };
}

interface StoreEntry {
  installMs: number;
  installedAt: string;
}

/**
 * Installs a release's dependencies, or reuses an installed tree of the same key from the store (hard links:
 * no copy on disk, no network). The store lives in the state folder; each entry is a tree as the package
 * manager left it. Says what it did, with the time saved and the disk used.
 */
export async function installDependencies(
  appDir: string,
  plan: InstallPlan,
  options: { store: string; env: Record<string, string>; timeoutMs: number; onLine: (line: string) => void },
): Promise<string> {
  const entry = join(options.store, plan.key);
  const target = join(appDir, 'node_modules');
  const startedAt = Date.now();
  if (existsSync(join(entry, 'node_modules')) && existsSync(join(entry, 'install.json'))) {
    rmSync(target, { recursive: true, force: true });
    const linked = await run('cp', ['-al', join(entry, 'node_modules'), target], { timeoutMs: options.timeoutMs });
    if (linked.exitCode === 0) {
      const first = JSON.parse(readFileSync(join(entry, 'install.json'), 'utf8')) as StoreEntry;
      const tookMs = Date.now() - startedAt;
      const newKb = await newDiskKb(join(entry, 'node_modules'), target);
      return `node_modules reused (same ${plan.lockfile ?? 'dependencies'}, node ${process.version}, key ${plan.key}): ${tookMs}ms instead of ${first.installMs}ms for \`${plan.command.join(' ')}\`, ${newKb} KB new on disk`;
    }
    options.onLine(`could not hard-link the stored dependencies (${linked.stderr.trim()}); installing`);
  }
  options.onLine(`installing dependencies: ${plan.command.join(' ')}${plan.production ? ' (production only)' : ''}`);
  const lines: string[] = [];
  const result = await run(plan.command[0], plan.command.slice(1), {
    cwd: appDir,
    env: options.env,
    timeoutMs: options.timeoutMs,
    onLine: (line) => {
      lines.push(line);
      options.onLine(line);
    },
  });
  if (result.exitCode !== 0) {
    const why = result.timedOut ? `timed out after ${options.timeoutMs}ms` : result.exitCode === null ? `could not run (${result.stderr.trim()})` : `exited with code ${result.exitCode}`;
    throw new FerryError({
      code: 'BUILD_FAILED',
      message: `installing the dependencies (\`${plan.command.join(' ')}\`) ${why}; last lines:\n${lines.slice(-20).join('\n')}`,
      hint: plan.manager === 'npm' ? 'Check that package-lock.json is committed and in step with package.json (`npm install` updates it).' : `Check that ${plan.manager} is installed here (\`corepack enable\`) and that ${plan.lockfile} is committed.`,
    });
  }
  const installMs = Date.now() - startedAt;
  // Keep the tree for the next release with the same key: a hard-linked copy, renamed into place when whole.
  if (existsSync(target)) {
    const staging = `${entry}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true, mode: 0o700 });
    const stored = await run('cp', ['-al', target, join(staging, 'node_modules')], { timeoutMs: options.timeoutMs });
    if (stored.exitCode === 0 && !existsSync(entry)) {
      writeFileSync(join(staging, 'install.json'), JSON.stringify({ installMs, installedAt: new Date().toISOString() } satisfies StoreEntry), { mode: 0o600 });
      renameSync(staging, entry);
    } else rmSync(staging, { recursive: true, force: true });
  }
  return `installed with \`${plan.command.join(' ')}\` in ${installMs}ms (stored for the next release with key ${plan.key})`;
}

/** Disk the target takes beyond what it shares (hard links) with the source: du counts each inode once per run. */
async function newDiskKb(source: string, target: string): Promise<number> {
  const du = await run('du', ['-sk', source, target], { timeoutMs: 60_000 });
  const sizes = du.stdout.trim().split('\n').map((line) => Number(line.split(/\s+/)[0]));
  return sizes[1] ?? 0;
}
