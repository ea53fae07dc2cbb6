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

export interface EventStreamOptions {
  bus: EventBus;
  /** The environments' status (as `/api/status` answers it), sent when it changes. */
  status: () => Promise<unknown>;
  statusIntervalMs: number;
  /** A comment line this often keeps proxies and the browser from timing the stream out. */
  heartbeatMs: number;
}

/**
 * Server-sent events for the dashboard: `status` when the environments' status changes (checked every
 * statusIntervalMs), and `deploy` for every step, probe and result of a deployment as it happens.
 */
export async function streamEvents(res: ServerResponse, options: EventStreamOptions): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
  const send = (event: string, data: unknown) => {
    if (!res.destroyed) res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  };
  let last = '';
  let checking = false;
  const checkStatus = async () => {
    if (checking) return;
    checking = true;
    try {
      const status = await options.status();
      const text = JSON.stringify(status);
      if (text !== last) {
        last = text;
        send('status', status);
      }
    } catch (error) {
      send('problem', { message: error instanceof Error ? error.message : String(error) });
    } finally {
      checking = false;
    }
  };
  const onDeploy = (published: PublishedDeployEvent) => {
    send('deploy', published);
    // A finished deployment changes what the status says: send it now, not at the next tick (steps show through their own events).
    if (published.event.type === 'result') void checkStatus();
  };
  options.bus.on('deploy', onDeploy);
  const statusTimer = setInterval(() => void checkStatus(), options.statusIntervalMs);
  const heartbeat = setInterval(() => !res.destroyed && res.write(': still here\n\n'), options.heartbeatMs);
  await checkStatus();
  // The response closes when the dashboard goes away (the request itself ended long ago).
  await new Promise<void>((resolve) => res.once('close', resolve));
  clearInterval(statusTimer);
  clearInterval(heartbeat);
  options.bus.off('deploy', onDeploy);
}
