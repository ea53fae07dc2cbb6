import type { RouterClient } from '../router/client.js';
import type { InstanceSpec } from '../router/state.js';
import type { InstanceInfo, Runtime, StopOptions } from './runtime.js';
import { tailFile } from './tail.js';

/** The embedded default: instances are local processes, supervised by the router so they outlive the agent. */
export class ProcessRuntime implements Runtime {
  readonly name = 'process';
  constructor(private readonly router: RouterClient) {}

  async start(spec: InstanceSpec): Promise<InstanceInfo> {
    const record = await this.router.startInstance(spec);
    return { id: record.id, env: record.env, release: record.release, port: record.port, pid: record.pid, state: record.state, exitCode: null, signal: null };
  }

  async stop(id: string, options: StopOptions) {
    const result = await this.router.stopInstance(id, options.drainTimeoutMs, options.graceMs);
    return { killed: result.killed, drainMs: result.drainMs, stopMs: result.stopMs };
  }

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
}
