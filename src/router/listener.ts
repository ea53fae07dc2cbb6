import net from 'node:net';
import { ClientConnection, type ClientTimeouts, type ConnectionHandlers } from './client-connection.js';

export interface ListenerOptions {
  timeouts: ClientTimeouts;
  /** A request head larger than this is answered 431. */
  maxHeadBytes: number;
}

/**
 * One environment's listening socket: each accepted connection becomes a ClientConnection. One sweep over
 * the connections checks every deadline (idle, head, body, upstream), so no request arms a timer of its own.
 */
export class HttpListener {
  readonly server: net.Server;
  private readonly connections = new Set<ClientConnection>();
  /** Every open socket, tunnels included, to close with the listener. */
  private readonly sockets = new Set<net.Socket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(handlers: ConnectionHandlers, options: ListenerOptions) {
    this.server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
      this.connections.add(new ClientConnection(socket, handlers, options.timeouts, options.maxHeadBytes, (connection) => this.connections.delete(connection)));
    });
    const { idleMs, headMs, bodyIdleMs } = options.timeouts;
    const everyMs = Math.min(1000, Math.max(20, Math.floor(Math.min(idleMs, headMs, bodyIdleMs) / 5)));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connections) connection.sweep(now);
    }, everyMs);
    this.sweeper.unref();
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting; with `closeConnections`, cuts every open connection too. */
  close(closeConnections: boolean): Promise<void> {
    clearInterval(this.sweeper);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (closeConnections) for (const socket of this.sockets) socket.destroy();
    return closed;
  }
}
