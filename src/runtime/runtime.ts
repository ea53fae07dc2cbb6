import type { InstanceSpec } from '../router/state.js';
import type { RegistryAuth } from './docker/image-push.js';

export interface InstanceInfo {
  id: string;
  env: string;
  release: string;
  port: number;
  /** Where it listens when not on 127.0.0.1 (a Swarm task on another node). */
  host?: string;
  pid?: number;
  state: 'starting' | 'running' | 'stopping' | 'exited' | 'missing';
  exitCode: number | null;
  signal: string | null;
  /** docker runtime: the container's own health status when its image defines a HEALTHCHECK. */
  health?: string;
  /** docker runtime: the kernel killed it for exceeding its memory limit. */
  oomKilled?: boolean;
}

export interface StopOptions {
  /** How long in-flight requests may take to finish before the stop signal. */
  drainTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Progress worth telling the person deploying, such as waiting for an unreachable engine. */
  onProgress?: (message: string) => void;
}

export interface StartOptions {
  /** swarm runtime: credentials the nodes use to pull the image (sent with the service, never stored by ferry). */
  registryAuth?: RegistryAuth;
}

/** What the orchestrator needs from any runtime (process today; docker and swarm plug in here). */
export interface Runtime {
  readonly name: string;
  start(spec: InstanceSpec, options?: StartOptions): Promise<InstanceInfo>;
  stop(id: string, options: StopOptions): Promise<{ killed: boolean; drainMs: number; stopMs: number }>;
  inspect(id: string): Promise<InstanceInfo>;
  logs(id: string, lines: number): Promise<string[]>;
  /** After the health gate: from now on the engine restarts the instance when it dies or the engine restarts (docker). */
  keepRunning?(id: string): Promise<void>;
  /** Removes what is left of a stopped instance. */
  remove(id: string): Promise<void>;
}
