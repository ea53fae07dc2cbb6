import { createProxy, type Upstream } from './proxy.js';
import { HttpListener } from './listener.js';
import { DEFAULT_CLIENT_TIMEOUTS, type ClientTimeouts } from './client-connection.js';
import { Supervisor } from './supervisor.js';
import { UpstreamPool } from './upstream-pool.js';
import { RequestMetrics } from './request-metrics.js';
import { DEFAULT_UPSTREAM_TIMEOUTS, loadRouterState, saveRouterState, type InstanceRecord, type InstanceSpec, type Route, type RouteCounters, type RouterState } from './state.js';

export interface RouterOptions {
  stateDir: string;
  /** Address the environment listeners bind to. */
  host?: string;
  pendingTimeoutMs?: number;
  /** How long clients may be idle, or slow sending a head or a body. */
  clientTimeouts?: Partial<ClientTimeouts>;
  /** A request head larger than this is answered 431 (default 16 KiB, as Node's). */
  maxHeadBytes?: number;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

interface Listener {
  port: number;
  listener: HttpListener;
}

/** The data plane: listening sockets, the routing table on disk, and the instance supervisor. */
export class Router {
  readonly state: RouterState;
  readonly supervisor: Supervisor;
  private readonly listeners = new Map<string, Listener>();
  private readonly upstreams = new Map<string, Upstream>();
  private routeWaiters: Array<() => void> = [];
  /** Bumped on every route change; listeners cache their upstream list per version. */
  private routeVersion = 0;
  private readonly log: NonNullable<RouterOptions['log']>;
  /** Per environment, since this router started: requests answered 504 (upstream timeout), 502 (upstream error), 503 (nothing to route to). */
  private readonly counters: Record<string, RouteCounters> = {};
  /** Requests per environment and release, for the agent's /metrics. */
  readonly requests = new RequestMetrics();

  constructor(private readonly options: RouterOptions) {
    this.log = options.log ?? (() => {});
    this.state = loadRouterState(options.stateDir);
    this.supervisor = new Supervisor(this.state.instances, {
      // An instance's state decides whether it gets traffic: every change is a routing change.
      onChange: () => this.changed(),
      isRouted: (id) => Object.values(this.state.routes).some((route) => route.upstreams.includes(id)),
      log: this.log,
    });
  }

  persist(): void {
    saveRouterState(this.options.stateDir, this.state);
  }

  /** Persists, and lets listeners see the new upstream set (held requests wake up). */
  private changed(): void {
    this.persist();
    this.routeVersion++;
    const waiters = this.routeWaiters;
    this.routeWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /**
   * Re-adopts running instances from the state on disk, starts routed ones that are gone (they get traffic
   * once healthy), and reopens every route's listener, which holds requests until then.
   */
  async start(): Promise<void> {
    const restarting = this.supervisor.adopt();
    if (restarting.length > 0) this.log('routed instances found gone at start; starting them again', { restarting });
    for (const route of Object.values(this.state.routes)) await this.listen(route.env, route.port);
  }

  /** The upstream of a routed instance that may get traffic now (running; not starting, stopping or gone). */
  private upstream(id: string): Upstream | undefined {
    const record = this.state.instances[id];
    if (!record || record.state !== 'running') return undefined;
    let upstream = this.upstreams.get(id);
    const host = record.host ?? '127.0.0.1';
    if (!upstream || upstream.port !== record.port || upstream.host !== host) {
      upstream?.pool.destroy();
      upstream = { id, host, port: record.port, inflight: 0, pool: new UpstreamPool(record.port, undefined, host), release: record.release };
      this.upstreams.set(id, upstream);
    }
    return upstream;
  }

  private listen(env: string, port: number): Promise<void> {
    const existing = this.listeners.get(env);
    if (existing?.port === port) return Promise.resolve();
    const cached: { upstreams: Upstream[]; version: number } = { upstreams: [], version: -1 };
    const proxy = createProxy({
      pendingTimeoutMs: this.options.pendingTimeoutMs ?? 10_000,
      timeouts: () => this.state.routes[env]?.timeouts ?? DEFAULT_UPSTREAM_TIMEOUTS,
      count: (outcome) => {
        const counters = (this.counters[env] ??= { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 });
        counters[outcome]++;
      },
      observe: (release, status, seconds) => this.requests.observe(env, release, status, seconds),
      routeChanged: () => new Promise((resolve) => this.routeWaiters.push(resolve)),
      upstreams: () => {
        if (cached.version !== this.routeVersion) {
          const ids = this.state.routes[env]?.upstreams ?? [];
          cached.upstreams = ids.map((id) => this.upstream(id)).filter((u): u is Upstream => u !== undefined);
          cached.version = this.routeVersion;
        }
        return cached.upstreams;
      },
    });
    const listener = new HttpListener(proxy, { timeouts: { ...DEFAULT_CLIENT_TIMEOUTS, ...this.options.clientTimeouts }, maxHeadBytes: this.options.maxHeadBytes ?? 16 * 1024 });
    return listener.listen(port, this.options.host ?? '127.0.0.1').then(
      () => {
        // Only a successful listen replaces the old port's listener: a failed move leaves the environment serving.
        void existing?.listener.close(false);
        this.listeners.set(env, { port, listener });
        this.log('listening', { env, port });
      },
      (error: NodeJS.ErrnoException) => {
        void listener.close(true);
        throw Object.assign(new Error(`cannot listen on 127.0.0.1:${port} for environment "${env}": ${error.code ?? error.message}`), { code: error.code });
      },
    );
  }

  /** Points an environment at new upstreams; the switch is one assignment, in-flight requests finish where they are. */
  async setRoute(route: Route): Promise<void> {
    const unknown = route.upstreams.filter((id) => !this.state.instances[id]);
    if (unknown.length > 0) throw new Error(`unknown instances: ${unknown.join(', ')}`);
    await this.listen(route.env, route.port);
    const previous = this.state.routes[route.env];
    this.state.routes[route.env] = {
      env: route.env,
      port: route.port,
      release: route.release !== undefined ? route.release : (previous?.release ?? null),
      upstreams: [...route.upstreams],
      timeouts: route.timeouts ?? previous?.timeouts,
    };
    this.changed();
    this.log('route set', { ...this.state.routes[route.env] });
  }

  startInstance(spec: InstanceSpec) {
    if (this.state.instances[spec.id] && this.state.instances[spec.id].state !== 'exited') throw new Error(`instance ${spec.id} is already running`);
    return this.supervisor.start(spec);
  }

  /** Routes to an instance another runtime runs (a container); the router neither starts nor supervises it. */
  registerUpstream(spec: InstanceSpec): InstanceRecord {
    const record: InstanceRecord = { ...spec, pid: 0, state: 'running', startedAt: Date.now(), restarts: 0, exitCode: null, signal: null };
    this.state.instances[spec.id] = record;
    this.persist();
    return record;
  }

  inflight(id: string): number {
    return this.upstreams.get(id)?.inflight ?? 0;
  }

  /** Waits for in-flight requests to finish (up to drainTimeoutMs), then stops the instance. */
  async stopInstance(id: string, drainTimeoutMs: number, graceMs: number) {
    const routedBy = Object.values(this.state.routes).filter((route) => route.upstreams.includes(id));
    for (const route of routedBy) await this.setRoute({ ...route, upstreams: route.upstreams.filter((u) => u !== id) });
    const drainStart = Date.now();
    while (this.inflight(id) > 0 && Date.now() - drainStart < drainTimeoutMs) await new Promise((r) => setTimeout(r, 20));
    const drainMs = Date.now() - drainStart;
    const abandoned = this.inflight(id);
    const result = await this.supervisor.stop(id, graceMs);
    this.upstreams.get(id)?.pool.destroy();
    this.upstreams.delete(id);
    return { ...result, drainMs, abandonedRequests: abandoned };
  }

  snapshot() {
    return {
      pid: process.pid,
      routes: this.state.routes,
      counters: this.counters,
      instances: Object.fromEntries(Object.entries(this.state.instances).map(([id, record]) => [id, { ...record, inflight: this.inflight(id) }])),
    };
  }

  async close(options: { stopInstances: boolean; graceMs?: number }): Promise<void> {
    if (options.stopInstances) {
      await Promise.all(Object.keys(this.state.instances).map((id) => this.supervisor.stop(id, options.graceMs ?? 10_000)));
    }
    this.supervisor.close();
    await Promise.all([...this.listeners.values()].map(({ listener }) => listener.close(true)));
    for (const upstream of this.upstreams.values()) upstream.pool.destroy();
  }
}
