import net from 'node:net';
import { DEFAULT_CLIENT_TIMEOUTS, type ClientTimeouts } from './client-connection.js';
import { Supervisor } from './supervisor.js';
import { instanceScope } from './process-tree.js';
import { ProxyHost, type ProxyStats, type RoutingView } from './proxy-host.js';
import { WorkerPool } from './worker-pool.js';
import { routerBuild, type ReceivedListener } from './handover.js';
import { bindShared, canShareListeners, type SharedListener } from './shared-listener.js';
import { sumSeries, type RequestSeries } from './request-metrics.js';
import { httpsListener, loadRouterState, saveRouterState, type InstanceRecord, type RouteTls, type InstanceSpec, type Route, type RouteCounters, type RouterState } from './state.js';

export interface RouterOptions {
  stateDir: string;
  /** Address the environment listeners bind to. */
  host?: string;
  /** Proxy processes: 0 proxies in this process (tests); N forks N workers and only accepts here. */
  workers?: number;
  pendingTimeoutMs?: number;
  /** How long clients may be idle, or slow sending a head or a body. */
  clientTimeouts?: Partial<ClientTimeouts>;
  /** A request head larger than this is answered 431 (default 16 KiB, as Node's). */
  maxHeadBytes?: number;
  /** Where workers write what they print. */
  workerLogFile?: string;
  log?: (message: string, fields?: Record<string, unknown>) => void;
}

/** An environment's listening socket: one this process accepts on (`server`), or one its workers accept on (`shared`). */
interface Listener {
  port: number;
  server?: net.Server;
  shared?: SharedListener;
}

/** The request counters summed over the proxy processes. */
export interface RequestCounts {
  enabled: boolean;
  since: number;
  series: RequestSeries[];
}

/**
 * The data plane: the listening sockets, the routing table on disk, and the instance supervisor. With
 * workers, this process is the master: it accepts each connection and hands it to a worker, which proxies
 * it; a worker that dies is replaced while the listening sockets stay open, so no connection is refused.
 */
export class Router {
  readonly state: RouterState;
  readonly supervisor: Supervisor;
  /** FERRY_SCOPE of the instances this router starts: its state folder, hashed. */
  private readonly scope: string;
  private readonly listeners = new Map<string, Listener>();
  private readonly log: NonNullable<RouterOptions['log']>;
  /** Proxying in this process (workers: 0), or the workers that do. */
  private readonly host: ProxyHost | undefined;
  private readonly pool: WorkerPool | undefined;
  private counting = true;
  private retired = false;
  /** The routes' listeners being opened at a fresh start: a routing change waits for them (it may open one too). */
  private opening: Promise<void> = Promise.resolve();
  /** When counting began (this router's start): throughput is requests over the time since. */
  private readonly since = Date.now();
  /** Which router code runs here (a ferry with other code hands over to its own). */
  private readonly build = routerBuild();

  constructor(private readonly options: RouterOptions) {
    this.scope = instanceScope(options.stateDir);
    this.log = options.log ?? (() => {});
    this.state = loadRouterState(options.stateDir);
    const hostOptions = { pendingTimeoutMs: options.pendingTimeoutMs ?? 10_000, timeouts: { ...DEFAULT_CLIENT_TIMEOUTS, ...options.clientTimeouts }, maxHeadBytes: options.maxHeadBytes ?? 16 * 1024 };
    if ((options.workers ?? 0) > 0) {
      this.pool = new WorkerPool({ count: options.workers!, host: hostOptions, view: () => this.view(), logFile: options.workerLogFile, log: this.log });
    } else this.host = new ProxyHost(() => this.state, hostOptions);
    this.supervisor = new Supervisor(this.state.instances, {
      // An instance's state decides whether it gets traffic: every change is a routing change.
      onChange: () => void this.changed(),
      isRouted: (id) => Object.values(this.state.routes).some((route) => route.upstreams.includes(id)),
      log: this.log,
      scope: this.scope,
    });
  }

  persist(): void {
    // A router that handed over no longer owns the state on disk.
    if (this.retired) return;
    saveRouterState(this.options.stateDir, this.state);
  }

  /** The routing table as the proxies need it: no commands, variables or paths. */
  private view(): RoutingView {
    const instances: RoutingView['instances'] = {};
    for (const [id, record] of Object.entries(this.state.instances)) instances[id] = { id, port: record.port, host: record.host, release: record.release, state: record.state };
    return { routes: this.state.routes, instances };
  }

  /** Persists, and lets every proxy see the new upstream set (held requests wake up); resolves with the time until all have it. */
  private async changed(): Promise<number> {
    this.persist();
    this.host?.changed();
    return this.pool ? await this.pool.broadcast() : 0;
  }

  /**
   * Starts the workers, re-adopts running instances from the state on disk, starts routed ones that are gone
   * (they get traffic once healthy), and reopens every route's listener, which holds requests until then.
   */
  async start(options: { waitForWorkers?: boolean } = {}): Promise<void> {
    // Without the wait (a fresh start), the control socket answers while the workers boot (about half a second):
    // the routes' ports listen once a worker does, and a routing change waits for that, as any does.
    const wait = options.waitForWorkers ?? true;
    const workers = this.pool?.start().catch((error: unknown) => this.log('router workers did not start', { error: String(error) }));
    if (wait) await workers;
    const restarting = this.supervisor.adopt();
    if (restarting.length > 0) this.log('routed instances found gone at start; starting them again', { restarting });
    const opening = (async () => {
      for (const route of Object.values(this.state.routes)) await this.listenFor(route);
    })();
    if (wait) return opening;
    this.opening = opening.catch((error: unknown) => this.log('a route could not listen at start', { error: String(error) }));
  }

  /** An environment's HTTP listener, and its HTTPS one while it has TLS (closed when TLS is removed). */
  private async listenFor(route: Route): Promise<void> {
    await this.listen(route.env, route.port);
    const secure = httpsListener(route.env);
    if (route.tls) await this.listen(secure, route.tls.port);
    else this.closeListener(secure);
  }

  /**
   * Sets (or with null removes) an environment's HTTPS: its port, certificates, redirect and ACME challenges.
   * New connections get the new certificates; open ones keep theirs. A route with nothing routed yet is made.
   */
  async setTls(env: string, port: number, tls: RouteTls | null): Promise<{ propagatedMs: number }> {
    const route: Route = this.state.routes[env] ?? { env, port, release: null, upstreams: [] };
    const next: Route = { ...route, port, tls: tls ?? undefined };
    await this.opening;
    await this.listenFor(next);
    this.state.routes[env] = next;
    const propagatedMs = await this.changed();
    this.log('tls set', { env, port: tls?.port ?? null, certificates: tls?.certificates.map((c) => c.domains.join(',')) ?? [], challenges: Object.keys(tls?.challenges ?? {}).length });
    return { propagatedMs };
  }

  /** The worker processes' ids (none when proxying in this process). */
  workerPids(): number[] {
    return this.pool?.pids() ?? [];
  }

  /**
   * A listening socket handed over by the router this one succeeds (listening already, accepting paused):
   * from now on its connections are this router's, the ones it parked meanwhile first.
   */
  adoptListener(listener: ReceivedListener): void {
    const { env, port, server, shared } = listener;
    if (shared && this.pool) {
      // The workers accept on it once they are ready (start() waits for them); connections wait in its backlog.
      void this.pool.share(env, port, shared).catch((error: unknown) => this.log('router workers could not listen on a handed-over socket', { env, port, error: String(error) }));
      this.listeners.set(env, { port, shared });
    } else if (shared) {
      const own = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(env, socket));
      own.listen(shared as net.Server);
      this.listeners.set(env, { port, server: own });
    } else if (server) {
      // From a router that accepted itself (an older ferry): this one goes on that way for this socket.
      server.on('connection', (socket: net.Socket) => this.accept(env, socket));
      for (const socket of listener.takeParked()) this.accept(env, socket);
      this.listeners.set(env, { port, server });
    }
    this.log('listening (handed over)', { env, port, shared: Boolean(shared) });
  }

  /** What a handover sends the successor: each listener's socket (the shared one where the workers accept). */
  listenerHandles(): Array<{ env: string; port: number; handle: net.Server | SharedListener }> {
    return [...this.listeners].map(([env, { port, server, shared }]) => ({ env, port, handle: shared ?? server! }));
  }

  /** Stops accepting (after a handover the sockets stay open in the successor) and stops changing the state on disk. */
  stopAccepting(): void {
    this.retired = true;
    this.supervisor.close();
    for (const env of [...this.listeners.keys()]) this.closeListener(env);
  }

  /** Stops accepting on a listener here and in the workers, and closes this process's copy of its socket. */
  private closeListener(env: string): void {
    const listener = this.listeners.get(env);
    if (!listener) return;
    this.listeners.delete(env);
    listener.server?.close();
    if (listener.shared) {
      this.pool?.unshare(env);
      listener.shared.close();
    }
  }

  /** After a handover: ends the connections gracefully (up to timeoutMs), leaving the instances running. */
  async retire(timeoutMs: number): Promise<void> {
    if (this.pool) await this.pool.drain(timeoutMs);
    else await this.host!.drain(timeoutMs);
  }

  get workerCount(): number {
    return this.options.workers ?? 0;
  }

  private accept(env: string, socket: net.Socket): void {
    if (this.pool) return this.pool.dispatch(env, socket);
    this.host!.accept(env, socket);
    // Accepted paused (a handed-over listening socket): read it now.
    socket.resume();
  }

  /** Opens a listener (an environment's HTTP one, or its HTTPS one: see httpsListener) on a port, moving it if it was elsewhere. */
  private async listen(env: string, port: number): Promise<void> {
    const existing = this.listeners.get(env);
    if (existing?.port === port) return;
    const host = this.options.host ?? '127.0.0.1';
    const failed = (error: NodeJS.ErrnoException) => Object.assign(new Error(`cannot listen on ${host}:${port} for environment "${env}": ${error.code ?? error.message}`), { code: error.code });
    if (this.pool && canShareListeners) {
      let shared: SharedListener | undefined;
      try {
        shared = bindShared(host, port);
        // The workers take it in place of the old port's socket: only a successful listen moves the environment.
        await this.pool.share(env, port, shared);
      } catch (error) {
        shared?.close();
        throw failed(error as NodeJS.ErrnoException);
      }
      existing?.server?.close();
      existing?.shared?.close();
      this.listeners.set(env, { port, shared });
      this.log('listening', { env, port, acceptedBy: 'workers' });
      return;
    }
    // With workers, a connection is not read here: it is handed over as accepted.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true, pauseOnConnect: this.pool !== undefined }, (socket) => this.accept(env, socket));
    return new Promise((resolve, reject) => {
      server.once('error', (error: NodeJS.ErrnoException) => reject(failed(error)));
      server.listen(port, host, () => {
        // Only a successful listen replaces the old port's listener: a failed move leaves the environment serving.
        existing?.server?.close();
        this.listeners.set(env, { port, server });
        this.log('listening', { env, port });
        resolve();
      });
    });
  }

  /**
   * Points an environment at new upstreams; the switch is one assignment, in-flight requests finish where
   * they are. Resolves when every proxy process has the new table, with the time that took.
   */
  async setRoute(route: Route): Promise<{ propagatedMs: number }> {
    const unknown = route.upstreams.filter((id) => !this.state.instances[id]);
    if (unknown.length > 0) throw new Error(`unknown instances: ${unknown.join(', ')}`);
    const previous = this.state.routes[route.env];
    const next: Route = {
      env: route.env,
      port: route.port,
      release: route.release !== undefined ? route.release : (previous?.release ?? null),
      upstreams: [...route.upstreams],
      timeouts: route.timeouts ?? previous?.timeouts,
      // HTTPS is set on its own (setTls): a switch keeps it.
      tls: route.tls !== undefined ? route.tls : previous?.tls,
    };
    await this.opening;
    await this.listenFor(next);
    this.state.routes[route.env] = next;
    const now = Date.now();
    for (const id of next.upstreams) this.state.instances[id]!.servingSince ??= now;
    const propagatedMs = await this.changed();
    this.log('route set', { ...this.state.routes[route.env], propagatedMs: Math.round(propagatedMs * 10) / 10 });
    return { propagatedMs };
  }

  startInstance(spec: InstanceSpec) {
    if (this.state.instances[spec.id] && this.state.instances[spec.id].state !== 'exited') throw new Error(`instance ${spec.id} is already running`);
    return this.supervisor.start(spec);
  }

  /** Routes to an instance another runtime runs (a container); the router neither starts nor supervises it. */
  registerUpstream(spec: InstanceSpec): InstanceRecord {
    const record: InstanceRecord = { ...spec, pid: 0, state: 'running', startedAt: Date.now(), restarts: 0, exitCode: null, signal: null };
    this.state.instances[spec.id] = record;
    void this.changed();
    return record;
  }

  /** What each proxy process counted and holds. */
  private async stats(): Promise<ProxyStats[]> {
    return this.pool ? await this.pool.stats() : [this.host!.stats()];
  }

  /** Requests in flight to an instance, and upgraded connections piped to it, over all proxy processes. */
  async load(id: string): Promise<{ requests: number; upgraded: number }> {
    const loads = this.pool ? await this.pool.load() : [this.host!.load()];
    return { requests: inflightIn(loads.map((l) => l.inflight), id), upgraded: inflightIn(loads.map((l) => l.upgraded), id) };
  }

  /**
   * Waits for in-flight requests to finish (up to drainTimeoutMs), then stops the instance. Upgraded
   * connections (WebSocket) are not waited for: they last as long as the client stays, so a drain would
   * only end by cutting them. The app's own shutdown (SIGTERM) closes them, with its close frames.
   */
  async stopInstance(id: string, drainTimeoutMs: number, graceMs: number) {
    const routedBy = Object.values(this.state.routes).filter((route) => route.upstreams.includes(id));
    for (const route of routedBy) await this.setRoute({ ...route, upstreams: route.upstreams.filter((u) => u !== id) });
    const drainStart = Date.now();
    while ((await this.load(id)).requests > 0 && Date.now() - drainStart < drainTimeoutMs) await new Promise((r) => setTimeout(r, 20));
    const drainMs = Date.now() - drainStart;
    const open = await this.load(id);
    const result = await this.supervisor.stop(id, graceMs);
    if (this.pool) this.pool.forget(id);
    else this.host!.forget(id);
    return { ...result, drainMs, abandonedRequests: open.requests, upgraded: open.upgraded };
  }

  /** The request counters, summed over the proxy processes. */
  async requestCounts(): Promise<RequestCounts> {
    return { enabled: this.counting, since: this.since, series: sumSeries((await this.stats()).map((stats) => stats.series)) };
  }

  async setRequestCounting(enabled: boolean): Promise<void> {
    this.counting = enabled;
    if (this.host) this.host.requests.enabled = enabled;
    await this.pool?.setCounting(enabled);
  }

  async snapshot() {
    const stats = await this.stats();
    const counters: Record<string, RouteCounters> = {};
    for (const { counters: each } of stats) {
      for (const [env, c] of Object.entries(each)) {
        const sum = (counters[env] ??= { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 });
        sum.upstreamTimeouts += c.upstreamTimeouts;
        sum.upstreamErrors += c.upstreamErrors;
        sum.unavailable += c.unavailable;
      }
    }
    return {
      pid: process.pid,
      build: this.build,
      workers: this.workerPids(),
      routes: this.state.routes,
      counters,
      instances: Object.fromEntries(
        Object.entries(this.state.instances).map(([id, record]) => [id, { ...record, inflight: inflightIn(stats.map((each) => each.inflight), id), upgraded: inflightIn(stats.map((each) => each.upgraded), id) }]),
      ),
    };
  }

  async close(options: { stopInstances: boolean; graceMs?: number }): Promise<void> {
    if (options.stopInstances) {
      await Promise.all(Object.keys(this.state.instances).map((id) => this.supervisor.stop(id, options.graceMs ?? 10_000)));
    }
    this.supervisor.close();
    // Not waiting for close callbacks: a net.Server calls back only when its connections have ended too.
    for (const env of [...this.listeners.keys()]) this.closeListener(env);
    this.host?.close();
    await this.pool?.close();
  }
}

/** One instance's count (requests in flight, or upgraded connections), summed over the proxy processes. */
function inflightIn(perProcess: Array<Record<string, number>>, id: string): number {
  return perProcess.reduce((sum, each) => sum + (each[id] ?? 0), 0);
}
