import type net from 'node:net';
import { ProxyHost, type RoutingView } from './proxy-host.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

/**
 * Entry point of a router worker: `node dist/router/worker-main.js <settings JSON>`, forked by the master
 * with an IPC channel. The master accepts client connections and hands each one over; the worker proxies
 * it with its own copy of the routing table (sent on every change, acknowledged) and its own counters.
 */
const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
let view: RoutingView = { routes: {}, instances: {} };
const host = new ProxyHost(() => view, settings);
host.requests.enabled = settings.counting;

// A reply the master can no longer take (it is stopping, or was killed) is dropped: the 'disconnect' handler below decides.
const reply = (message: FromWorker) => process.send?.(message, undefined, {}, () => undefined);

process.on('message', (message: ToWorker, handle?: net.Socket) => {
  switch (message.type) {
    case 'connection':
      // The master keeps its copy of the socket until this arrives, so a worker that dies first loses nothing.
      reply({ type: 'accepted', id: message.id });
      if (handle) host.accept(message.env, handle);
      return;
    case 'table':
      view = message.view;
      host.changed();
      return reply({ type: 'ack', seq: message.seq });
    case 'stats':
      return reply({ type: 'stats', seq: message.seq, stats: host.stats() });
    case 'inflight':
      return reply({ type: 'inflight', seq: message.seq, load: host.load() });
    case 'counting':
      host.requests.enabled = message.enabled;
      return reply({ type: 'ack', seq: message.seq });
    case 'forget':
      return host.forget(message.id);
    case 'drain':
      return void host.drain(message.timeoutMs).then(() => process.exit(0));
  }
});

// The master is gone (stopped, or killed): finish the requests in flight (up to 2 s), then exit.
process.on('disconnect', () => {
  const deadline = Date.now() + 2000;
  const check = setInterval(() => {
    if (host.inflightTotal() === 0 || Date.now() > deadline) {
      clearInterval(check);
      host.close();
      process.exit(0);
    }
  }, 20);
});
// A signal to the router's process group: the master decides (it stops the workers through the channel).
process.on('SIGTERM', () => process.disconnect?.());
process.on('SIGINT', () => undefined);
