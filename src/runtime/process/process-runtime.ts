import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EnvironmentConfig } from '../../config/schema.js';
import type { RouterClient } from '../../router/client.js';
import type { InstanceSpec } from '../../router/state.js';
import { FerryError } from '../../util/errors.js';
import { run } from '../../util/run.js';
import type { InstanceInfo, LogLine, PrepareOptions, ReleaseTarget, Runtime, StopOptions } from '../runtime.js';
import { runBuild } from './build.js';
import { installDependencies, planInstall } from './install.js';
import { COMMITTED_SHARED, linkSharedDirs } from './shared-dirs.js';
import { unusedWarning } from '../shared-data.js';
import { sharedFolders } from '../../config/schema.js';
import { checkCanRunAs, grantReleaseAccess, resolveUser } from './run-as.js';
import { followFile, tailFile } from './tail.js';

/** The file in a release directory that names the dependency tree it uses (the store keeps trees some release still names). */
export const DEPS_FILE = 'deps.json';

/** The embedded default: instances are local processes, supervised by the router so they outlive the agent. */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  constructor(private readonly router: RouterClient) {}

  needsPrepare(config: EnvironmentConfig): boolean {
    return config.install || Boolean(config.build) || config.shared.length > 0 || Boolean(config.user);
  }

  /** Dependencies (installed, or reused from the store), then the build command; promote reuses the source release's prepared tree. */
  async prepare(target: ReleaseTarget, options: PrepareOptions): Promise<string> {
    const said: string[] = [];
    // Whether the instances can run as `user:` is known before anything is installed or built.
    const user = target.config.user ? resolveUser(target.config.user) : undefined;
    if (user) checkCanRunAs(user);
    if (options.reuse) said.push(await this.reuse(options.reuse.dir, options.appDir, `${options.reuse.env}'s ${options.reuse.id}`, options.timeoutMs));
    else said.push(...(await this.installAndBuild(target, options)));
    const folders = sharedFolders(target.config);
    if (folders.length) {
      const links = linkSharedDirs(options.appDir, options.sharedDir, folders, options.reuse && join(options.reuse.dir, COMMITTED_SHARED));
      said.push(`shared: ${links.map((l) => `${l.path} → ${l.shared}${l.seeded ? ` (${l.seeded} file(s) of the commit ${l.seed === 'always' ? 'written over the shared copies: seed always' : 'seeded it'})` : ''}`).join(', ')}`);
      for (const link of links) if (link.unused.length) options.onWarning?.(unusedWarning(link, target.release.id));
    }
    if (user) {
      grantReleaseAccess(user, { stateRoot: options.stateRoot, appDir: options.appDir, sharedDirs: folders.map((folder) => join(options.sharedDir, folder.path)) });
      said.push(`runs as ${user.name} (uid ${user.uid}, gid ${user.gid}): the release's files are its own, node_modules read-only${target.config.shared.length ? ', the shared folders writable' : ''}`);
    }
    return said.join('; ');
  }

  private async installAndBuild(target: ReleaseTarget, options: PrepareOptions): Promise<string[]> {
    const said: string[] = [];
    const { plan, reason } = planInstall(options.appDir, { install: target.config.install, build: target.config.build, start: target.config.start });
    if (plan) {
      said.push(await installDependencies(options.appDir, plan, { store: options.depsStore, env: options.buildEnv, timeoutMs: options.timeoutMs, onLine: options.onLine }));
      writeFileSync(join(options.appDir, '..', DEPS_FILE), JSON.stringify({ key: plan.key, lockfile: plan.lockfile, command: plan.command }) + '\n', { mode: 0o600 });
    } else said.push(`no install: ${reason}`);
    if (target.config.build) {
      await runBuild({ command: target.config.build, cwd: options.appDir, env: options.buildEnv, timeoutMs: options.timeoutMs, logFile: options.buildLog, secrets: Object.values(target.secrets), onLine: options.onLine });
      said.push(`built with \`${target.config.build}\``);
    }
    return said;
  }

  /** The same commit, installed and built already: its tree hard-linked, not rebuilt. */
  private async reuse(fromReleaseDir: string, appDir: string, what: string, timeoutMs: number): Promise<string> {
    const source = join(fromReleaseDir, 'app');
    if (!existsSync(source)) throw new FerryError({ code: 'STEP_FAILED', message: `${what} has no release directory any more (${source}); cannot promote its build`, hint: 'Deploy the commit with `ferry deploy --ref <commit>` instead (it builds).' });
    rmSync(appDir, { recursive: true, force: true });
    const linked = await run('cp', ['-al', source, appDir], { timeoutMs });
    if (linked.exitCode !== 0) throw new FerryError({ code: 'STEP_FAILED', message: `could not link ${what}'s release into place: ${linked.stderr.trim()}` });
    if (existsSync(join(fromReleaseDir, DEPS_FILE))) copyFileSync(join(fromReleaseDir, DEPS_FILE), join(appDir, '..', DEPS_FILE));
    return `${what}'s installed and built tree, hard-linked: not installed or built again`;
  }

  async start(spec: InstanceSpec, target: ReleaseTarget): Promise<InstanceInfo> {
    const user = target.config.user ? resolveUser(target.config.user) : undefined;
    const record = await this.router.startInstance({ ...spec, runtime: 'process', ...(user ? { user } : {}) });
    return { id: record.id, env: record.env, release: record.release, port: record.port, pid: record.pid, state: record.state, exitCode: null, signal: null };
  }

  async stop(id: string, options: StopOptions) {
    const result = await this.router.stopInstance(id, options.drainTimeoutMs, options.graceMs);
    return { killed: result.killed, drainMs: result.drainMs, stopMs: result.stopMs, abandonedRequests: result.abandonedRequests, upgraded: result.upgraded };
  }

  async dataDirs(target: Pick<ReleaseTarget, 'config'>, sharedRoot: string): Promise<string[]> {
    return sharedFolders(target.config).map((folder) => join(sharedRoot, folder.path));
  }

  /** The router stops the processes it supervises when it shuts down. */
  async stopAll(): Promise<void> {}

  async inspect(id: string): Promise<InstanceInfo> {
    const record = (await this.router.state()).instances[id];
    if (!record) return { id, env: '', release: '', port: 0, state: 'missing', exitCode: null, signal: null };
    return { id, env: record.env, release: record.release, port: record.port, pid: record.pid, state: record.state, exitCode: record.exitCode, signal: record.signal };
  }

  async logs(id: string, lines: number): Promise<LogLine[]> {
    const record = (await this.router.state()).instances[id];
    return record ? tailFile(record.logFile, lines).map((text) => ({ text, at: null })) : [];
  }

  async followLogs(id: string, lines: number, signal: AbortSignal, onLine: (line: LogLine) => void): Promise<void> {
    const record = (await this.router.state()).instances[id];
    if (record) await followFile(record.logFile, lines, signal, onLine);
  }

  async remove(id: string): Promise<void> {
    await this.router.forgetInstance(id);
  }

  /** A process release is its directory, which the prune step removes. */
  async removeRelease(): Promise<void> {}
}
