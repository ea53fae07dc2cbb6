import { createServer, type Server } from 'node:http';
import type { RouterClient, RouterSnapshot } from '../../src/router/client.js';
import type { InstanceRecord, InstanceSpec, Route } from '../../src/router/state.js';
import type { Runtimes } from '../../src/runtime/registry.js';
import type { InstanceInfo, Runtime, StopOutcome } from '../../src/runtime/runtime.js';

/**
 * Fakes for the deploy engine's unit tests: a runtime whose instances are HTTP servers in this process, and a
 * router whose data plane is one HTTP server on the environment's port that answers as the routed instance
 * would. Sockets are real (loopback); what is fake is who runs the app and how a request reaches it. The
 * engine's steps, lock, store (SQLite in a temp folder) and plan are the real ones.
 */

/** How a fake instance answers its health path: a status code, or it exits at start. */
export type AppBehaviour = { status: number } | 'exits';

interface FakeInstance {
  spec: InstanceSpec;
  server?: Server;
  state: InstanceInfo['state'];
  exitCode: number | null;
}

export interface FakeWorld {
  runtime: Runtime;
  runtimes: Runtimes;
  router: RouterClient;
  /** How each release's instances answer (default 200); may change while a deployment runs (a release that turns bad). */
  behaviour: Map<string, AppBehaviour>;
  /** Every call the engine made to the runtime and the router, in order: `start production-r1-d1-1`, `route production r1 [...]`. */
  calls: string[];
  instances: Map<string, FakeInstance>;
  routes: Record<string, Route>;
  /** Requests the data plane answered, per release. */
  served: Map<string, number>;
  close(): Promise<void>;
}

const listen = (server: Server, port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()).closeAllConnections() : resolve()));

export function fakeWorld(): FakeWorld {
  const behaviour = new Map<string, AppBehaviour>();
  const instances = new Map<string, FakeInstance>();
  const routes: Record<string, Route> = {};
  const planes = new Map<number, Server>();
  const served = new Map<string, number>();
  const calls: string[] = [];
  const answerOf = (release: string) => behaviour.get(release) ?? { status: 200 };
  let turn = 0;

  const info = (id: string): InstanceInfo => {
    const instance = instances.get(id);
    if (!instance) return { id, env: '', release: '', port: 0, state: 'missing', exitCode: null, signal: null };
    return { id, env: instance.spec.env, release: instance.spec.release, port: instance.spec.port, state: instance.state, exitCode: instance.exitCode, signal: null };
  };

  const runtime: Runtime = {
    name: 'process',
    needsPrepare: () => false,
    prepare: async () => 'nothing to build',
    async start(spec) {
      calls.push(`start ${spec.id}`);
      const answer = answerOf(spec.release);
      if (answer === 'exits') {
        instances.set(spec.id, { spec, state: 'exited', exitCode: 1 });
        return info(spec.id);
      }
      const server = createServer((request, response) => {
        const now = answerOf(spec.release);
        response.writeHead(now === 'exits' ? 500 : now.status, { 'content-type': 'text/plain' }).end(spec.release);
      });
      await listen(server, spec.port);
      instances.set(spec.id, { spec, server, state: 'running', exitCode: null });
      return info(spec.id);
    },
    async stop(id, options): Promise<StopOutcome> {
      calls.push(`stop ${id}`);
      const instance = instances.get(id);
      const started = Date.now();
      if (instance) {
        await close(instance.server);
        instance.state = 'exited';
        instance.exitCode = 0;
      }
      return { killed: false, drainMs: Math.min(options.drainTimeoutMs, 0), stopMs: Date.now() - started };
    },
    async stopAll() {},
    inspect: async (id) => info(id),
    logs: async (id) => [{ text: `log of ${id}`, at: null }],
    followLogs: async () => undefined,
    remove: async (id) => void calls.push(`remove ${id}`),
    removeRelease: async (_app, releaseId) => void calls.push(`remove release ${releaseId}`),
  };

  /** The data plane: round-robin over the route's upstreams, answered as the instance answers; 503 with none. */
  const plane = async (env: string, port: number) => {
    if (planes.has(port)) return;
    const server = createServer((request, response) => {
      const upstreams = (routes[env]?.upstreams ?? []).filter((id) => instances.get(id)?.state === 'running');
      const id = upstreams[turn++ % Math.max(upstreams.length, 1)];
      if (!id) return void response.writeHead(503).end('nothing routable');
      const release = instances.get(id)!.spec.release;
      served.set(release, (served.get(release) ?? 0) + 1);
      const answer = answerOf(release);
      response.writeHead(answer === 'exits' ? 502 : answer.status).end(release);
    });
    planes.set(port, server);
    await listen(server, port);
  };

  const snapshot = (): RouterSnapshot => ({
    pid: process.pid,
    build: 'fake',
    workers: [],
    routes: structuredClone(routes),
    counters: {},
    instances: Object.fromEntries(
      [...instances].map(([id, instance]): [string, InstanceRecord & { inflight: number; upgraded: number }] => [
        id,
        { ...instance.spec, pid: 0, state: instance.state === 'running' ? 'running' : 'exited', startedAt: 0, restarts: 0, exitCode: instance.exitCode, signal: null, inflight: 0, upgraded: 0 },
      ]),
    ),
  });

  const router = {
    state: async () => snapshot(),
    requests: async () => ({ enabled: true, since: 0, series: [] }),
    async setRoute(route: Route) {
      calls.push(`route ${route.env} ${route.release ?? 'none'} [${route.upstreams.join(' ')}]`);
      await plane(route.env, route.port);
      routes[route.env] = { ...route };
      return { ...route, propagatedMs: 0 };
    },
  } as unknown as RouterClient;

  return {
    runtime,
    runtimes: { get: () => runtime, of: () => runtime },
    router,
    behaviour,
    calls,
    instances,
    routes,
    served,
    async close() {
      await Promise.all([...instances.values()].map((instance) => close(instance.server)));
      await Promise.all([...planes.values()].map((server) => close(server)));
    },
  };
}
