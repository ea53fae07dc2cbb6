import type { InstanceSpec } from '../router/state.js';

export interface InstanceInfo {
  id: string;
  env: string;
  release: string;
  port: number;
  pid?: number;
  state: 'running' | 'stopping' | 'exited' | 'missing';
  exitCode: number | null;
  signal: string | null;
  /** docker runtime: the container's own health status when its image defines a HEALTHCHECK. */
  health?: string;
}

export interface StopOptions {
  /** How long in-flight requests may take to finish before the stop signal. */
  drainTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
}

/** What the orchestrator needs from any runtime (process today; docker and swarm plug in here). */
export interface Runtime {
  readonly name: string;
  start(spec: InstanceSpec): Promise<InstanceInfo>;
  stop(id: string, options: StopOptions): Promise<{ killed: boolean; drainMs: number; stopMs: number }>;
  inspect(id: string): Promise<InstanceInfo>;
  logs(id: string, lines: number): Promise<string[]>;
  /** Removes what is left of a stopped instance. */
  remove(id: string): Promise<void>;
}
