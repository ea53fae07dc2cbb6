import type { EnvironmentConfig } from '../../config/schema.js';
import type { RouterClient } from '../../router/client.js';
import type { InstanceSpec } from '../../router/state.js';
import type { InstanceInfo, PrepareOptions, ReleaseTarget, Runtime, StopOptions } from '../runtime.js';
import { runBuild } from './build.js';
import { tailFile } from './tail.js';

/** The embedded default: instances are local processes, supervised by the router so they outlive the agent. */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  constructor(private readonly router: RouterClient) {}

  needsPrepare(config: EnvironmentConfig): boolean {
    return Boolean(config.build);
  }

  async prepare(target: ReleaseTarget, options: PrepareOptions): Promise<string> {
    if (!target.config.build) return 'nothing to build';
    await runBuild({
      command: target.config.build,
      cwd: options.appDir,
      env: options.buildEnv,
      timeoutMs: options.timeoutMs,
      logFile: options.buildLog,
      secrets: Object.values(target.secrets),
      onLine: options.onLine,
    });
    return `built in ${options.appDir}`;
  }

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const record = await this.router.startInstance({ ...spec, runtime: 'process' });
    return { id: record.id, env: record.env, release: record.release, port: record.port, pid: record.pid, state: record.state, exitCode: null, signal: null };
  }

  async stop(id: string, options: StopOptions) {
    const result = await this.router.stopInstance(id, options.drainTimeoutMs, options.graceMs);
    return { killed: result.killed, drainMs: result.drainMs, stopMs: result.stopMs };
  }

  /** The router stops the processes it supervises when it shuts down. */
  async stopAll(): Promise<void> {}

  async inspect(id: string): Promise<InstanceInfo> {
    const record = (await this.router.state()).instances[id];
    if (!record) return { id, env: '', release: '', port: 0, state: 'missing', exitCode: null, signal: null };
    return { id, env: record.env, release: record.release, port: record.port, pid: record.pid, state: record.state, exitCode: record.exitCode, signal: record.signal };
  }

  async logs(id: string, lines: number): Promise<string[]> {
    const record = (await this.router.state()).instances[id];
    return record ? tailFile(record.logFile, lines) : [];
  }

  async remove(id: string): Promise<void> {
    await this.router.forgetInstance(id);
  }

  /** A process release is its directory, which the prune step removes. */
  async removeRelease(): Promise<void> {}
}
