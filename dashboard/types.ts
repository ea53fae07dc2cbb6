// The API's shapes, as far as the page reads them (the agent's own types live in src/).

export interface Instance { id: string; release: string; port: number; state: string; restarts: number; healthy: boolean | null; health: string }
export interface EnvironmentStatus {
  env: string;
  url: string;
  strategy: string;
  serving: { id: string; commit: string; ref: string; branch: string | null; subject: string | null; author: string | null; since: string | null } | null;
  routed: { release: string | null; state: string };
  router: { upstreamTimeouts: number; upstreamErrors: number; unavailable: number };
  instances: Instance[];
  /** What the serving release hides (committed files its shared folders do not use); absent from agents before it. */
  warnings?: string[];
  lastDeployment: { id: number; kind: string; release: string | null; state: string; outcome: string | null; startedAt: string; finishedAt: string | null; error: string | null } | null;
  lock: { deploymentId: number; since: string } | null;
}
export type Measured = { value: number } | { noData: string };
export interface LiveTraffic { seconds: number; requestsPerSecond: number; errorRatio: Measured; p99Seconds: Measured }
export interface StatusPayload { app: string; environments: EnvironmentStatus[]; counting: boolean; traffic: Record<string, LiveTraffic> }

export interface DeployEvent { type: string; step?: string; phase?: string; state?: string; ms?: number; detail?: string; message?: string; deploymentId?: number; kind?: string; steps?: string[]; logs?: string[]; probes?: string[]; result?: { outcome: string; release: string | null; exitCode: number; error?: string } }
export interface PublishedDeployEvent { deploymentId: number | null; env: string; event: DeployEvent }

export interface Step { name: string; phase: 'run' | 'undo'; state: string; startedAt: number; finishedAt: number | null; durationMs: number | null; detail: string | null }
export interface Deployment {
  id: number;
  env: string;
  kind: string;
  /** A promotion: what it took, from which environment. */
  promotedFrom?: { env: string; release: string };
  releaseId: string | null;
  release?: { commit: string; branch: string | null; subject: string | null };
  previousReleaseId: string | null;
  state: string;
  outcome: string | null;
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
  steps?: Step[];
  failure?: { step: string; message: string; hint?: string; instance?: string; logs: string[]; probes: string[] };
}

export type Role = 'admin' | 'read';
