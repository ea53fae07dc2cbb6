import { join } from 'node:path';
import { readJsonOr, writeJsonAtomic } from '../util/fs-atomic.js';

/** What the router needs to start (and restart) one instance. Secret values stay in envFile, never here. */
export interface InstanceSpec {
  id: string;
  env: string;
  release: string;
  port: number;
  /** Where the instance listens: 127.0.0.1 unless a Swarm task landed on another node (that node's address). */
  host?: string;
  cwd: string;
  command: string;
  /** Path of a dotenv file (0600) whose variables the instance gets. */
  envFile?: string;
  vars: Record<string, string>;
  logFile: string;
  /** Who runs it: the router supervises 'process' instances; 'docker' and 'swarm' ones it only routes to. */
  runtime?: 'process' | 'docker' | 'swarm';
  /** The container (docker runtime) or the service (swarm runtime) behind the instance. */
  container?: { id: string; image: string };
  /** How the router checks an instance it restarted itself (after a crash or at its own start) before routing to it again. */
  health?: InstanceHealth;
  /** process runtime: the account it runs as (`user:`), when not ferry's own. */
  user?: { name: string; uid: number; gid: number; home: string };
}

export interface InstanceHealth {
  path: string;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  deadlineMs: number;
}

/** `starting`: restarted by the router and not yet through its health check; only `running` instances get traffic. */
export type InstanceState = 'starting' | 'running' | 'stopping' | 'exited';

export interface InstanceRecord extends InstanceSpec {
  pid: number;
  state: InstanceState;
  startedAt: number;
  /**
   * When it first got traffic since this start: the switch that routed it, or its health check after the router
   * restarted it. What the app wrote into its folder before then is what its start makes (a prestart's build), not data.
   */
  servingSince?: number;
  restarts: number;
  /** Crashes in a row, each within a minute of its start: what the restart backoff counts. */
  crashStreak?: number;
  exitCode: number | null;
  signal: string | null;
}

export interface Route {
  env: string;
  port: number;
  /** The release the upstreams belong to (null: nothing routed yet). */
  release?: string | null;
  /** Instance ids that receive traffic, round-robin. */
  upstreams: string[];
  /** Upstream timeouts: a connect or a response head slower than these is answered 504. */
  timeouts?: UpstreamTimeouts;
  /** HTTPS: the router terminates TLS on its own port, and the HTTP port answers ACME challenges and redirects. */
  tls?: RouteTls;
}

export interface RouteTls {
  port: number;
  /** One per certificate (PEM files the router reads; a renewed one comes under new file names). The first is the default. */
  certificates: Array<{ domains: string[]; certFile: string; keyFile: string; version?: string }>;
  /** Requests to these domains on the HTTP port get a 308 to https:// (others, such as a probe to 127.0.0.1, are proxied). */
  redirect: boolean;
  /** ACME HTTP-01: token → key authorization, answered at /.well-known/acme-challenge/<token> on the HTTP port. */
  challenges?: Record<string, string>;
}

/** The id of an environment's HTTPS listener (its HTTP listener's id is the environment's name). */
export const httpsListener = (env: string) => `${env}:https`;

/** The environment and the scheme of a listener id. */
export function listenerOf(id: string): { env: string; secure: boolean } {
  const at = id.indexOf(':');
  return at < 0 ? { env: id, secure: false } : { env: id.slice(0, at), secure: id.slice(at + 1) === 'https' };
}

export interface UpstreamTimeouts {
  connectMs: number;
  responseHeaderMs: number;
}

export interface RouteCounters {
  upstreamTimeouts: number;
  upstreamErrors: number;
  unavailable: number;
}

export const DEFAULT_UPSTREAM_TIMEOUTS: UpstreamTimeouts = { connectMs: 5000, responseHeaderMs: 60_000 };

export interface RouterState {
  routes: Record<string, Route>;
  instances: Record<string, InstanceRecord>;
}

export const routerStatePath = (stateDir: string) => join(stateDir, 'router', 'state.json');

export function loadRouterState(stateDir: string): RouterState {
  return readJsonOr<RouterState>(routerStatePath(stateDir), { routes: {}, instances: {} });
}

export function saveRouterState(stateDir: string, state: RouterState): void {
  writeJsonAtomic(routerStatePath(stateDir), state);
}
