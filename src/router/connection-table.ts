import type net from 'node:net';
import { ClientConnection, type ClientTimeouts, type ConnectionHandlers } from './client-connection.js';

export interface ConnectionLimits {
  timeouts: ClientTimeouts;
  /** A request head larger than this is answered 431. */
  maxHeadBytes: number;
}

/**
 * The client connections of one environment in one process: each accepted socket (here, or in the master
 * and handed over) becomes a ClientConnection. One sweep over them checks every deadline (idle, head, body,
 * upstream), so no request arms a timer of its own.
 */
export class ConnectionTable {
  private readonly connections = new Set<ClientConnection>();
  /** Every open socket, tunnels included, to close with the table. */
  private readonly sockets = new Set<net.Socket>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly handlers: ConnectionHandlers, private readonly limits: ConnectionLimits) {
    const { idleMs, headMs, bodyIdleMs } = limits.timeouts;
    const everyMs = Math.min(1000, Math.max(20, Math.floor(Math.min(idleMs, headMs, bodyIdleMs) / 5)));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const connection of this.connections) connection.sweep(now);
    }, everyMs);
    this.sweeper.unref();
  }

  accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    this.connections.add(new ClientConnection(socket, this.handlers, this.limits.timeouts, this.limits.maxHeadBytes, (connection) => this.connections.delete(connection)));
  }

  get size(): number {
    return this.sockets.size;
  }

  /** Ends every connection gracefully (see ClientConnection.drain). */
  drain(graceMs: number): void {
    for (const connection of this.connections) connection.drain(graceMs);
  }

  /** Cuts every open connection. */
  close(): void {
    clearInterval(this.sweeper);
    for (const socket of this.sockets) socket.destroy();
  }
}
