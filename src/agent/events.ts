import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import type { DeployEvent } from '../deploy/events.js';

/** A deploy event as the dashboard gets it: which deployment of which environment said it. */
export interface PublishedDeployEvent {
  deploymentId: number | null;
  env: string;
  event: DeployEvent;
}

/** What the agent tells the dashboards watching (`/api/events`): deploy events as they happen. */
export class EventBus extends EventEmitter<{ deploy: [PublishedDeployEvent] }> {}

type StatusMessage = { event: 'status'; data: unknown } | { event: 'problem'; data: { message: string } };

/**
 * The environments' status for every dashboard at once: read every intervalMs while anyone watches (one
 * probe of each instance per tick, however many pages are open), and at once when a deployment ends.
 * Watchers get it when it changes, and the latest as they join.
 */
export class StatusFeed {
  private readonly watchers = new Set<(message: StatusMessage) => void>();
  private latest: { text: string; message: StatusMessage } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;

  constructor(private readonly read: () => Promise<unknown>, private readonly intervalMs: number, bus: EventBus) {
    // A finished deployment changes what the status says: read it now, not at the next tick (steps show through their own events).
    bus.on('deploy', (published) => {
      if (published.event.type === 'result' && this.watchers.size) void this.refresh();
    });
  }

  /** Starts sending to `watcher` (the latest status first); the function returned stops it. */
  async watch(watcher: (message: StatusMessage) => void): Promise<() => void> {
    this.watchers.add(watcher);
    this.timer ??= setInterval(() => void this.refresh(), this.intervalMs);
    if (this.latest) watcher(this.latest.message);
    else await this.refresh();
    return () => {
      this.watchers.delete(watcher);
      if (this.watchers.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        this.latest = undefined;
      }
    };
  }

  /** Reads the status (once, however many ask at the same time) and sends it where it changed. */
  refresh(): Promise<void> {
    this.reading ??= (async () => {
      let message: StatusMessage;
      try {
        message = { event: 'status', data: await this.read() };
      } catch (error) {
        message = { event: 'problem', data: { message: error instanceof Error ? error.message : String(error) } };
      }
      const text = JSON.stringify(message);
      if (text === this.latest?.text) return;
      this.latest = { text, message };
      for (const watcher of this.watchers) watcher(message);
    })().finally(() => (this.reading = undefined));
    return this.reading;
  }
}

export interface EventStreamOptions {
  bus: EventBus;
  feed: StatusFeed;
  /** A comment line this often keeps proxies and the browser from timing the stream out. */
  heartbeatMs: number;
}

/**
 * Server-sent events for the dashboard: `status` when the environments' status changes (from the shared
 * feed), and `deploy` for every step, probe and result of a deployment as it happens.
 */
export async function streamEvents(res: ServerResponse, options: EventStreamOptions): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown) => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  const onDeploy = (published: PublishedDeployEvent) => send('deploy', published);
  options.bus.on('deploy', onDeploy);
  const heartbeat = setInterval(() => !res.destroyed && res.write(': still here\n\n'), options.heartbeatMs);
  const closed = new Promise<void>((resolve) => res.once('close', resolve));
  const unwatch = await options.feed.watch((message) => send(message.event, message.data));
  // The response closes when the dashboard goes away (the request itself ended long ago).
  await closed;
  unwatch();
  clearInterval(heartbeat);
  options.bus.off('deploy', onDeploy);
}
