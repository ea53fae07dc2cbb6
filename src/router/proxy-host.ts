import type net from 'node:net';
import tls from 'node:tls';
import { CertificateCache, httpFront } from './tls-front.js';
import { createProxy, type Upstream } from './proxy.js';
import { ConnectionTable, type ConnectionLimits } from './connection-table.js';
import { RequestMetrics } from './request-metrics.js';
import { UpstreamPool } from './upstream-pool.js';
import { DEFAULT_UPSTREAM_TIMEOUTS, listenerOf, type InstanceRecord, type Route, type RouteCounters } from './state.js';

/** When draining, an idle keep-alive connection is closed if no request starts within this. */
const DRAIN_IDLE_GRACE_MS = 1000;

/** What the proxy needs of an instance: where it listens, what it runs, whether it may get traffic. */
export type UpstreamRecord = Pick<InstanceRecord, 'id' | 'port' | 'host' | 'release' | 'state'>;

/** The routing table as a proxy process sees it. */
export interface RoutingView {
  routes: Record<string, Route>;
  instances: Record<string, UpstreamRecord>;
}

export interface ProxyHostOptions extends ConnectionLimits {
  /** How long a request waits for an upstream when none is routed. */
  pendingTimeoutMs: number;
}

/** What one proxy process counted and holds: summed over the workers by the master. */
export interface ProxyStats {
  counters: Record<string, RouteCounters>;
  series: ReturnType<RequestMetrics['snapshot']>;
  inflight: Record<string, number>;
  upgraded: Record<string, number>;
}

/** What one proxy process has open to each upstream instance: requests in flight, and upgraded connections. */
export interface UpstreamLoad {
  inflight: Record<string, number>;
  upgraded: Record<string, number>;
}

/**
 * The proxying side of the router in one process (the router itself with `workers: 0`, or each worker):
 * per environment, its client connections and its proxy; per upstream instance, a pool of keep-alive
 * connections; and what it counted.
 */
export class ProxyHost {
  readonly requests = new RequestMetrics();
  readonly counters: Record<string, RouteCounters> = {};
  private readonly upstreams = new Map<string, Upstream>();
  private readonly tables = new Map<string, ConnectionTable>();
  /** Bumped on every routing change; each environment caches its upstream list per version. */
  private version = 0;
  private waiters: Array<() => void> = [];
  private readonly certificates = new CertificateCache();

  constructor(private readonly view: () => RoutingView, private readonly options: ProxyHostOptions) {}

  /** The routing table changed: upstream lists are rebuilt, held requests wake up. */
  changed(): void {
    this.version++;
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** A client connection for a listener: an environment's HTTP one, or its HTTPS one (TLS is terminated here). */
  accept(listener: string, socket: net.Socket): void {
    const { env, secure } = listenerOf(listener);
    let table = this.tables.get(listener);
    if (!table) {
      table = new ConnectionTable(secure ? this.proxyFor(env) : httpFront(env, () => this.view().routes[env]?.tls, this.proxyFor(env)), this.options);
      this.tables.set(listener, table);
    }
    if (!secure) return table.accept(socket);
    const contexts = this.certificates.of(env, this.view().routes[env]?.tls);
    if (!contexts) return void socket.destroy();
    table.accept(new tls.TLSSocket(socket, { isServer: true, secureContext: contexts.fallback, SNICallback: (name, done) => done(null, contexts.pick(name)), ALPNProtocols: ['http/1.1'] }));
  }

  /** Closes the pooled connections to an instance that stopped. */
  forget(id: string): void {
    this.upstreams.get(id)?.pool.destroy();
    this.upstreams.delete(id);
  }

  /** Requests in flight and upgraded connections, per upstream instance. */
  load(): UpstreamLoad {
    const upstreams = [...this.upstreams];
    return { inflight: Object.fromEntries(upstreams.map(([id, u]) => [id, u.inflight])), upgraded: Object.fromEntries(upstreams.map(([id, u]) => [id, u.upgraded])) };
  }

  stats(): ProxyStats {
    return { counters: this.counters, series: this.requests.snapshot(), ...this.load() };
  }

  /** Ends the connections gracefully; resolves when none is left, or after timeoutMs (the rest are cut). */
  async drain(timeoutMs: number): Promise<void> {
    for (const table of this.tables.values()) table.drain(DRAIN_IDLE_GRACE_MS);
    const deadline = Date.now() + timeoutMs;
    while ([...this.tables.values()].some((table) => table.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    this.close();
  }

  /** Requests in flight, over all upstreams. */
  inflightTotal(): number {
    let total = 0;
    for (const upstream of this.upstreams.values()) total += upstream.inflight;
    return total;
  }

  close(): void {
    for (const table of this.tables.values()) table.close();
    for (const upstream of this.upstreams.values()) upstream.pool.destroy();
  }

  /** The upstream of a routed instance that may get traffic now (running; not starting, stopping or gone). */
  private upstream(id: string): Upstream | undefined {
    const record = this.view().instances[id];
    if (!record || record.state !== 'running') return undefined;
    let upstream = this.upstreams.get(id);
    const host = record.host ?? '127.0.0.1';
    if (!upstream || upstream.port !== record.port || upstream.host !== host) {
      upstream?.pool.destroy();
      upstream = { id, host, port: record.port, inflight: 0, upgraded: 0, pool: new UpstreamPool(record.port, undefined, host), release: record.release, failures: 0, ejectedUntil: 0 };
      this.upstreams.set(id, upstream);
    }
    return upstream;
  }

  private proxyFor(env: string) {
    const cached: { upstreams: Upstream[]; version: number } = { upstreams: [], version: -1 };
    return createProxy({
      pendingTimeoutMs: this.options.pendingTimeoutMs,
      timeouts: () => this.view().routes[env]?.timeouts ?? DEFAULT_UPSTREAM_TIMEOUTS,
      count: (outcome) => {
        const counters = (this.counters[env] ??= { upstreamTimeouts: 0, upstreamErrors: 0, unavailable: 0 });
        counters[outcome]++;
      },
      observe: (release, status, seconds) => this.requests.observe(env, release, status, seconds),
      routedRelease: () => this.view().routes[env]?.release ?? null,
      routeChanged: () => new Promise((resolve) => this.waiters.push(resolve)),
      upstreams: () => {
        if (cached.version !== this.version) {
          const ids = this.view().routes[env]?.upstreams ?? [];
          cached.upstreams = ids.map((id) => this.upstream(id)).filter((u): u is Upstream => u !== undefined);
          cached.version = this.version;
        }
        return cached.upstreams;
      },
    });
  }
}
