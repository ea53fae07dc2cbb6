import type { StepName } from './plan.js';
import type { DeploymentState } from '../store/records.js';

/** What a running deployment reports, streamed to the CLI as NDJSON and kept in the store. */
export type DeployEvent =
  | { type: 'deployment'; deploymentId: number; env: string; kind: string; steps: StepName[] }
  | { type: 'step'; step: StepName; phase: 'run' | 'undo'; state: 'running' | 'succeeded' | 'failed' | 'compensated'; ms?: number; detail?: string }
  | { type: 'progress'; step: StepName; message: string }
  /** What the agent checked before the deployment began (a promotion's smoke checks). */
  | { type: 'note'; message: string }
  | { type: 'failure'; step: StepName; message: string; hint?: string; instance?: string; logs: string[]; probes: string[] }
  | { type: 'result'; result: DeployResult };

export interface DeployTimings {
  /** From "new release healthy" to "traffic switched". */
  healthyToSwitchMs?: number;
  /** From the first failed watch probe to the previous release serving again. */
  failureToRestoredMs?: number;
  phases: Partial<Record<StepName, number>>;
}

export interface DeployResult {
  deploymentId: number;
  env: string;
  kind: 'deploy' | 'rollback';
  outcome: Exclude<DeploymentState, 'running'>;
  exitCode: 0 | 1 | 3;
  release: string | null;
  commit: string | null;
  previousRelease: string | null;
  serving: string | null;
  failedStep?: StepName;
  error?: string;
  timings: DeployTimings;
}
