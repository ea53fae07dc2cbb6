import type { EnvironmentConfig } from '../config/schema.js';
import type { InstanceRecord, InstanceSpec } from '../router/state.js';
import type { ReleaseRecord } from '../store/records.js';

export type RuntimeName = 'process' | 'docker' | 'swarm';

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

/** One release of one environment, as a runtime prepares and runs it. */
export interface ReleaseTarget {
  app: string;
  env: string;
  release: ReleaseRecord;
  /** The environment's settings this release was made with (its snapshot on a rollback). */
  config: EnvironmentConfig;
  /** The deployment's secrets; a runtime reads only what it needs (the registry password). */
  secrets: Record<string, string>;
}

export interface PrepareOptions {
  /** The release's files (git archive of the commit). */
  appDir: string;
  buildLog: string;
  /** The build command's environment (process runtime): the base, `env:` and the declared secrets. */
  buildEnv: Record<string, string>;
  /** `ferry promote`: the release of another environment whose artifact this one reuses instead of building. */
  reuse?: ReleaseRecord;
  /** The git tree the release's files come from (docker, swarm: an image `ferry ci` built from it is reused). */
  sourceTree?: string;
  /** Where installed dependency trees are kept for reuse (process runtime). */
  depsStore: string;
  /** Where this environment's `shared:` folders live (process runtime). */
  sharedDir: string;
  /** ferry's state folder (process runtime with `user:`: the folders down to the release become passable for that user). */
  stateRoot: string;
  timeoutMs: number;
  onLine: (line: string) => void;
  /** Something the person deploying must know that does not fail the deploy (committed files a shared folder hides). */
  onWarning?: (message: string) => void;
}

/** How a stop went: the drain (and whether it timed out with requests open), the stop, upgraded connections left to the app. */
export interface StopOutcome {
  killed: boolean;
  drainMs: number;
  stopMs: number;
  /** Requests still open when the drain timed out (cut by the stop). */
  abandonedRequests?: number;
  /** Upgraded connections (WebSocket) open at the stop, closed by the app's own shutdown or cut with it. */
  upgraded?: number;
}

export interface StopOptions {
  /** How long in-flight requests may take to finish before the stop signal. */
  drainTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  graceMs: number;
  /** Progress worth telling the person deploying, such as waiting for an unreachable engine. */
  onProgress?: (message: string) => void;
}

/** A line of an instance's output, with the time the runtime recorded it (ISO 8601), or null where it records none. */
export interface LogLine {
  text: string;
  at: string | null;
}

/**
 * Everything that differs between running a release as processes, containers or Swarm services. The
 * deploy flow, the agent and the router know this interface only; nothing outside src/runtime/ imports a
 * runtime's internals.
 */
export interface Runtime {
  readonly name: RuntimeName;
  /** Whether prepare() has work for this environment (the plan shows a build step only then). */
  needsPrepare(config: EnvironmentConfig): boolean;
  /** Makes a release runnable: its build command (process), or its image built or reused, and pushed (docker, swarm). Says what it did. */
  prepare(target: ReleaseTarget, options: PrepareOptions): Promise<string>;
  start(spec: InstanceSpec, target: ReleaseTarget): Promise<InstanceInfo>;
  /** Drains (the router stops routing to it and waits for its requests), then stops and keeps what is left for logs. */
  stop(id: string, options: StopOptions): Promise<StopOutcome>;
  /** `ferry agent stop`: stops these instances where they run but leaves them routed, so the next start brings the serving release back. */
  stopAll(instances: InstanceRecord[], options: { graceMs: number }): Promise<void>;
  inspect(id: string): Promise<InstanceInfo>;
  /** The last `lines` lines of the instance's output. */
  logs(id: string, lines: number): Promise<LogLine[]>;
  /** The last `lines` lines, then each new line as it comes, until the signal aborts or the output ends (the container is gone). */
  followLogs(id: string, lines: number, signal: AbortSignal, onLine: (line: LogLine) => void): Promise<void>;
  /** After the health gate: from now on the engine restarts the instance when it dies or the engine restarts (docker). */
  keepRunning?(id: string): Promise<void>;
  /** Removes what is left of a stopped instance. */
  remove(id: string): Promise<void>;
  /** Removes what a pruned release left in the runtime (its images). */
  removeRelease(app: string, releaseId: string, config: EnvironmentConfig): Promise<void>;
  /** After the prune: removes the app's leftovers no instance or release uses (docker: exited containers, dangling images). Says what went. */
  removeLeftovers?(app: string, known: Set<string>): Promise<string | undefined>;
  /** Where the environment's data lives on this machine (shared folders, volumes' mount points, bind mounts), readable by ferry. */
  dataDirs?(target: Pick<ReleaseTarget, 'app' | 'env' | 'config'>, sharedRoot: string): Promise<string[]>;
  /**
   * Copies a folder of this machine into a named volume that holds nothing yet (a switch from the process
   * runtime carries its shared folders this way), owned by the user the image runs as. Says what it did.
   */
  seedVolume?(target: ReleaseTarget, volume: string, fromDir: string): Promise<string>;
}
