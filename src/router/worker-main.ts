import net from 'node:net';
import { ProxyHost, type RoutingView } from './proxy-host.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

/**
 * Entry point of a router worker: `node dist/router/worker-main.js <settings JSON>`, forked by the master
 * with an IPC channel. It accepts client connections on the listening sockets the master binds and sends it
 * (or, on a Node that cannot share them, gets each connection from the master), and proxies them with its own
 * copy of the routing table (sent on every change, acknowledged) and its own counters.
 */
const settings = JSON.parse(process.argv[2] ?? '{}') as WorkerSettings;
let view: RoutingView = { routes: {}, instances: {} };
const host = new ProxyHost(() => view, settings);
host.requests.enabled = settings.counting;

// A reply the master can no longer take (it is stopping, or was killed) is dropped: the 'disconnect' handler below decides.
const reply = (message: FromWorker) => process.send?.(message, undefined, {}, () => undefined);

/** The listening sockets this worker accepts on, by listener. */
const servers = new Map<string, net.Server>();

/** Accepts on a listener's new socket; only once it listens does it replace the one before (a failed move keeps it). */
function listen(listener: string, port: number, handle: unknown, seq: number): void {
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => host.accept(listener, socket));
  server.once('error', (error: NodeJS.ErrnoException) => reply({ type: 'ack', seq, error: error.code ?? error.message }));
  server.listen(handle as net.Server, () => {
    // A port another socket listens on fails the master's bind late (libuv reports it at listen, and only to the
    // master): this copy then listened unbound, on a port of the kernel's choosing.
    if ((server.address() as net.AddressInfo).port !== port) {
      server.close();
      return reply({ type: 'ack', seq, error: 'EADDRINUSE' });
    }
    servers.get(listener)?.close();
    servers.set(listener, server);
    reply({ type: 'ack', seq });
  });
}

/** Stops accepting here; the connections accepted stay (the socket stays open in the master and the other workers). */
function stopListening(): void {
  for (const server of servers.values()) server.close();
  servers.clear();
}

process.on('message', (message: ToWorker, handle?: unknown) => {
  switch (message.type) {
    case 'connection':
      // The master keeps its copy of the socket until this arrives, so a worker that dies first loses nothing.
      reply({ type: 'accepted', id: message.id });
      if (handle) host.accept(message.env, handle as net.Socket);
      return;
    case 'listen':
      return listen(message.listener, message.port, handle, message.seq);
    case 'unlisten':
      servers.get(message.listener)?.close();
      servers.delete(message.listener);
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
      stopListening();
      return void host.drain(message.timeoutMs).then(() => process.exit(0));
  }
});

// The master is gone (stopped, or killed): finish the requests in flight (up to 2 s), then exit.
process.on('disconnect', () => {
  stopListening();
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
