import type { EnvironmentConfig, FerryConfig } from '../config/schema.js';
import type { RouterClient } from '../router/client.js';
import type { InstanceSpec } from '../router/state.js';
import type { Runtime, ReleaseTarget } from '../runtime/runtime.js';
import type { Runtimes } from '../runtime/registry.js';
import type { StatePaths } from '../state/paths.js';
import type { DeploymentKind, ReleaseRecord } from '../store/records.js';
import type { Store } from '../store/store.js';
import type { DeployEvent, DeployResult, DeployTimings } from './events.js';
import type { StepName } from './plan.js';
import type { Serving } from './serving.js';
import type { SourceCommit } from './source.js';
import type { Measurement } from '../metrics/analysis.js';
import type { DataSnapshot } from './shared-writes.js';

/** What a deployment is given: the store, the router, the runtimes, where state lives, and its timeouts. */
export interface OrchestratorDeps {
  store: Store;
  router: RouterClient;
  runtimes: Runtimes;
  paths: StatePaths;
  projectDir: string;
  lockWaitTimeoutMs?: number;
  lockStaleAfterMs?: number;
  buildTimeoutMs?: number;
  notifyBackoffMs?: number;
}

export interface DeployRequest {
  env: string;
  kind: DeploymentKind;
  config: FerryConfig;
  /** For a deploy: the resolved commit to build. */
  source?: SourceCommit;
  /** For a rollback: the release to go back to. */
  target?: ReleaseRecord;
  /** Secret values from the deploying shell; written to .env only, never logged. */
  secrets: Record<string, string>;
  /** `ferry promote`: the release (of another environment) whose artifact this deploy reuses instead of building. */
  promoteFrom?: ReleaseRecord;
}

/** What the steps of one deployment share. Each step reads what earlier ones left and adds its own. */
export interface DeployContext {
  readonly deps: OrchestratorDeps;
  readonly request: DeployRequest;
  readonly deploymentId: number;
  readonly startedAt: number;
  /** The environment's settings: the working tree's for a deploy, the target release's snapshot for a rollback. */
  readonly config: EnvironmentConfig;
  readonly runtime: Runtime;
  /** What served when the deployment took the lock. */
  previous: Serving;
  /** The steps still to come can change once the lock is held (what serves may have changed meanwhile). */
  plan: StepName[];
  /** Plans the steps again from what serves now. */
  replan(): StepName[];
  /** A step that moves traffic (switch, stop-old) has started: a failure from here on is a rollback, not a halt. */
  trafficMoved: boolean;
  /** How the deployment ended, for the notify step. */
  outcome?: DeployResult['outcome'];
  failure?: { step: StepName; message: string };
  release?: ReleaseRecord;
  newSpecs: InstanceSpec[];
  /** Set by the lock step; called when the deployment ends. */
  unlock?: () => void;
  healthyAt?: number;
  /** The metrics gate's last measurements (step analysis), for history and the notification. */
  analysis?: Measurement[];
  watchFailedAt?: number;
  readonly timings: DeployTimings;
  /** The data folders as the new release started beside the old one (blue-green): compared once the old one drained. */
  dataBefore?: { dirs: string[]; snapshot: DataSnapshot };
  /** The step running now (progress messages belong to it). */
  currentStep: StepName;
  emit(event: DeployEvent): void;
  progress(message: string): void;
  /** Something the person deploying must know that does not fail the deployment: shown now, kept in its history. */
  warn(message: string): void;
}

/** The release as a runtime sees it. */
export function releaseTarget(ctx: DeployContext, release: ReleaseRecord = ctx.release!, config: EnvironmentConfig = ctx.config): ReleaseTarget {
  return { app: ctx.request.config.app, env: ctx.request.env, release, config, secrets: ctx.request.secrets };
}
