import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import { environmentOf } from '../config/load.js';
import type { FerryConfig } from '../config/schema.js';
import { servingOf } from '../deploy/serving.js';
import type { RouterClient } from '../router/client.js';
import type { InstanceRecord } from '../router/state.js';
import type { Runtimes } from '../runtime/registry.js';
import { usageError } from '../util/errors.js';

export interface LogSource {
  projectDir: string;
  router: RouterClient;
  runtimes: Runtimes;
}

export interface LogRequest {
  env: string;
  /** The release whose instances to show; by default the one serving (followed across deploys). */
  release?: string;
  lines: number;
}

/** An environment's instances of a release (the serving one unless named), and the router's whole instance table. */
async function instancesOf(source: LogSource, request: LogRequest): Promise<{ release: string | null; instances: InstanceRecord[]; all: Record<string, InstanceRecord> }> {
  const release = request.release ?? (await servingOf(source.router, request.env)).release;
  const all = (await source.router.state()).instances;
  return { release, instances: Object.values(all).filter((i) => i.env === request.env && (!release || i.release === release)), all };
}

export function logRequestOf(config: () => FerryConfig, url: URL, countParam: (name: string, fallback: number) => number): LogRequest {
  const env = url.searchParams.get('env');
  if (!env) throw usageError('USAGE', 'env is required');
  environmentOf(config(), env);
  return { env, release: url.searchParams.get('release') ?? undefined, lines: countParam('lines', 100) };
}

/** The last lines of each instance, with the time each was recorded where the runtime records it (docker, swarm). */
export async function logsOf(source: LogSource, request: LogRequest) {
  const { release, instances } = await instancesOf(source, request);
  return {
    env: request.env,
    release,
    instances: await Promise.all(
      instances.map(async (i) => {
        const lines = await source.runtimes.of(i).logs(i.id, request.lines);
        return { id: i.id, release: i.release, state: i.state, lines: lines.map((l) => l.text), at: lines.map((l) => l.at) };
      }),
    ),
  };
}

/**
 * Streams an environment's output as NDJSON until the client goes away: each line as `{instance, release, at,
 * line}`, and `{event: 'attached'|'detached', instance, release}` as instances come and go. Without a named
 * release it follows what serves: after a deploy switches, the new release's instances are attached (their last
 * lines first), and the old ones are detached once they have exited.
 */
export async function streamLogs(source: LogSource, request: LogRequest, req: IncomingMessage, res: ServerResponse, rescanMs = 1000): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const done = new AbortController();
  res.on('close', () => done.abort());
  req.on('close', () => done.abort());
  const write = (value: object) => {
    if (!res.destroyed && !res.writableEnded) res.write(JSON.stringify(value) + '\n');
  };
  const followed = new Map<string, AbortController>();
  while (!done.signal.aborted) {
    const { instances, all } = await instancesOf(source, request).catch(() => ({ instances: [] as InstanceRecord[], all: {} as Record<string, InstanceRecord> }));
    // New instances of the release are attached; one already followed stays until it exits or is removed,
    // so the old release's shutdown lines (SIGTERM, draining) are seen after a deploy switched away from it.
    const running = (id: string) => all[id] !== undefined && all[id].state !== 'exited';
    for (const instance of instances.filter((i) => i.state !== 'exited')) {
      if (followed.has(instance.id)) continue;
      const stop = new AbortController();
      followed.set(instance.id, stop);
      done.signal.addEventListener('abort', () => stop.abort(), { once: true });
      write({ event: 'attached', instance: instance.id, release: instance.release });
      void source.runtimes
        .of(instance)
        .followLogs(instance.id, request.lines, stop.signal, (line) => write({ instance: instance.id, release: instance.release, at: line.at, line: line.text }))
        .catch(() => undefined);
    }
    for (const [id, stop] of followed) {
      if (running(id)) continue;
      // One more look at its output before letting go: the last lines of an exiting instance come late.
      await delay(300);
      stop.abort();
      followed.delete(id);
      write({ event: 'detached', instance: id });
    }
    await delay(rescanMs, undefined, { signal: done.signal }).catch(() => undefined);
  }
  for (const stop of followed.values()) stop.abort();
  if (!res.writableEnded) res.end();
}
