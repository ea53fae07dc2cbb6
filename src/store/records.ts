/** Named lifecycle states, stored and printed exactly as named. */
export type DeploymentState = 'running' | 'succeeded' | 'rolled_back' | 'halted' | 'failed';
export type StepState = 'running' | 'succeeded' | 'failed' | 'skipped' | 'compensated';
export type ReleaseState = 'building' | 'ready' | 'failed' | 'pruned';
export type DeploymentKind = 'deploy' | 'rollback';

export interface ReleaseRecord {
  id: string;
  env: string;
  commit: string;
  ref: string;
  branch: string | null;
  subject: string | null;
  author: string | null;
  dir: string;
  state: ReleaseState;
  createdAt: number;
}

export interface StepRecord {
  name: string;
  /** `run`: the step itself; `undo`: its compensation after a later step failed (state `compensated` when it worked). */
  phase: 'run' | 'undo';
  state: StepState;
  startedAt: number;
  finishedAt: number | null;
  durationMs: number | null;
  detail: string | null;
}

export interface DeploymentRecord {
  id: number;
  env: string;
  kind: DeploymentKind;
  releaseId: string | null;
  /** The release's commit, branch and subject, when it has a release. */
  release?: { commit: string; branch: string | null; subject: string | null };
  previousReleaseId: string | null;
  /** A promotion: the environment and release whose commit (and image) this deploy took. */
  promotedFrom?: { env: string; release: string };
  state: DeploymentState;
  /** The state once finished; null while running. */
  outcome: Exclude<DeploymentState, 'running'> | null;
  currentStep: string | null;
  error: string | null;
  exitCode: number | null;
  agentPid: number;
  startedAt: number;
  finishedAt: number | null;
  steps?: StepRecord[];
  /** What the deployment warned of without failing (committed files a shared folder hides, two releases writing shared data). */
  warnings?: string[];
  /** Why it failed, as the failing step reported it: the instance's last log lines (secrets masked) and the last probes. */
  failure?: { step: string; message: string; hint?: string; instance?: string; logs: string[]; probes: string[] };
}

export const releaseId = (n: number | bigint) => `r${n}`;
export const releaseNumber = (id: string) => Number(id.replace(/^r/, ''));
