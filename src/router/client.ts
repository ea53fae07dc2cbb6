import http from 'node:http';
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FERRY_ROOT } from '../shared/build-info.js';
import { routerPaths } from './paths.js';
import type { InstanceRecord, InstanceSpec, Route, RouteCounters, RouteTls } from './state.js';
import type { RequestSeries } from './request-metrics.js';
import { pidFileProcessAlive, sleep } from '../util/sleep.js';
import { FerryError } from '../util/errors.js';
import { ferryProcessEnv } from '../shared/process-env.js';
import { routerBuild } from './handover.js';

export interface RouterSnapshot {
  pid: number;
  /** Which router code runs (see routerBuild). */
  build: string;
  /** The proxy worker processes (empty when the router proxies in its own process). */
  workers: number[];
  routes: Record<string, Route>;
  counters: Record<string, RouteCounters>;
  instances: Record<string, InstanceRecord & { inflight: number; upgraded: number }>;
}

export interface StopInstanceResult {
  exitCode: number | null;
  signal: string | null;
  killed: boolean;
  stopMs: number;
  drainMs: number;
  /** Requests still open when the drain timed out: cut when the instance stopped. */
  abandonedRequests: number;
  /** Upgraded connections (WebSocket) open when the instance was told to stop: left to its own shutdown. */
  upgraded: number;
}

/** Talks to the router's control socket. */
export class RouterClient {
  readonly socketPath: string;

  constructor(readonly stateDir: string, private readonly requestTimeoutMs = 120_000) {
    this.socketPath = routerPaths(stateDir).socket;
  }

  private call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = http.request(
        // A connection per call (agent: false): a pooled keep-alive socket the router closed while idle would fail the next call with EPIPE.
        { socketPath: this.socketPath, method, path, agent: false, timeout: this.requestTimeoutMs, headers: payload ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {} },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const parsed = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
            if ((res.statusCode ?? 500) >= 400) reject(new FerryError({ code: 'ROUTER_REFUSED', message: `router: ${parsed.error ?? res.statusCode}` }));
            else resolve(parsed as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`router did not answer ${method} ${path} within ${this.requestTimeoutMs}ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  state = () => this.call<RouterSnapshot>('GET', '/state');
  /** The request counters per environment and release since the router started. */
  requests = () => this.call<{ enabled: boolean; since: number; series: RequestSeries[] }>('GET', '/requests');
  setRequestCounting = (enabled: boolean) => this.call<{ enabled: boolean }>('PUT', '/requests', { enabled });
  /** Resolves once every proxy process routes by the new table; propagatedMs is how long that took. */
  /** An environment's HTTPS (null removes it); `port` is its HTTP port, for a route not made yet. */
  setTls = (env: string, port: number, tls: RouteTls | null) => this.call<Route & { propagatedMs: number }>('PUT', `/tls/${env}`, { port, tls });
  setRoute = (route: Route) => this.call<Route & { propagatedMs: number }>('PUT', `/routes/${route.env}`, { port: route.port, release: route.release, upstreams: route.upstreams, timeouts: route.timeouts });
  startInstance = (spec: InstanceSpec) => this.call<InstanceRecord>('POST', '/instances', spec);
  registerUpstream = (spec: InstanceSpec) => this.call<InstanceRecord>('POST', '/upstreams', spec);
  stopInstance = (id: string, drainTimeoutMs: number, graceMs: number) => this.call<StopInstanceResult>('POST', `/instances/${id}/stop`, { drainTimeoutMs, graceMs });
  forgetInstance = (id: string) => this.call<unknown>('DELETE', `/instances/${id}`);
  /** Asks the running router to hand its sockets over to a router started from entry; resolves with the new router's pid. */
  handover = (entry: string, execPath: string, workers?: number) => this.call<{ pid: number }>('POST', '/handover', { entry, execPath, workers });
  shutdown = (stopInstances: boolean) => this.call<unknown>('POST', '/shutdown', { stopInstances });

  /**
   * Whether a router answers on the control socket: a cheap ping (the agent's watchdog asks 4 times a second;
   * `state` would gather every worker's counters). A router from before /ping answers it 404: up too.
   */
  async isUp(): Promise<boolean> {
    if (!existsSync(this.socketPath)) return false;
    try {
      await this.call<{ pid: number }>('GET', '/ping');
      return true;
    } catch (error) {
      return error instanceof FerryError && error.code === 'ROUTER_REFUSED';
    }
  }
}

/** Whether the process the router's pid file names is alive: a cheap look, without asking the control socket. */
export const routerProcessAlive = (stateDir: string): boolean => pidFileProcessAlive(routerPaths(stateDir).pid);

/** The router's entry: from ferry's folder, since the module that says this may be bundled anywhere under dist/. */
export const ROUTER_ENTRY = join(FERRY_ROOT, 'dist/router/main.js');

/** Starts the router as its own detached process unless one already answers; it outlives the agent. */
export async function ensureRouter(stateDir: string, options: { workers?: number; startTimeoutMs?: number } = {}): Promise<{ client: RouterClient; started: boolean; handover?: { from: number; to?: number; previousBuild: string; failed?: string } }> {
  const startTimeoutMs = options.startTimeoutMs ?? 10_000;
  const client = new RouterClient(stateDir);
  if (await client.isUp()) {
    // A router of another ferry build (an upgrade, a rebuild) hands its sockets over to one of this build.
    const running = await client.state();
    if (running.build === routerBuild()) return { client, started: false };
    try {
      const { pid } = await client.handover(ROUTER_ENTRY, process.execPath, options.workers);
      return { client, started: false, handover: { from: running.pid, to: pid, previousBuild: running.build } };
    } catch (error) {
      // The running router keeps serving (a router from before handovers existed answers 404).
      return { client, started: false, handover: { from: running.pid, previousBuild: running.build, failed: error instanceof Error ? error.message : String(error) } };
    }
  }
  const paths = routerPaths(stateDir);
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 });
  const out = openSync(`${paths.log}.stderr`, 'a', 0o600);
  // A larger young generation halves scavenge work on the proxy's hot path (measured with bench:router).
  const child = spawn(process.execPath, ['--max-semi-space-size=64', ROUTER_ENTRY, stateDir, ...(options.workers !== undefined ? ['--workers', String(options.workers)] : [])], { detached: true, stdio: ['ignore', out, out], env: ferryProcessEnv() });
  closeSync(out);
  child.unref();
  const deadline = Date.now() + startTimeoutMs;
  while (Date.now() < deadline) {
    if (await client.isUp()) return { client, started: true };
    if (child.exitCode !== null) break;
    await sleep(25);
  }
  throw new FerryError({
    code: 'ROUTER_START_FAILED',
    message: `the router did not come up within ${startTimeoutMs}ms`,
    hint: `Read ${paths.log}.stderr and ${paths.log}.`,
  });
}
