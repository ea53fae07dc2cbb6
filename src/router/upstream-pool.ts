import net from 'node:net';

/** The request/response exchange currently using a connection. */
export interface Exchange {
  startedAt: number;
  onData(chunk: Buffer): void;
  onError(code: string): void;
  onClose(): void;
}

/** One keep-alive TCP connection to an upstream; its listeners are set once and delegate to the current exchange. */
export class UpstreamConnection {
  exchange: Exchange | undefined;

  constructor(readonly socket: net.Socket, private readonly pool: UpstreamPool) {
    socket.on('data', (chunk: Buffer) => this.exchange?.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => this.exchange?.onError(error.code ?? 'UPSTREAM_ERROR'));
    socket.on('close', () => {
      pool.forget(this);
      this.exchange?.onClose();
    });
    // Idle pooled connections close; an exchange's own timeouts (connect, response head) are the proxy's.
    socket.setTimeout(pool.idleTimeoutMs, () => {
      if (!this.exchange) socket.destroy();
    });
  }
}

/**
 * Keep-alive connections to one upstream instance. Idle connections close after idleTimeoutMs, which
 * should stay below the upstream's own keep-alive timeout (Node's default is 5 s).
 */
export class UpstreamPool {
  private readonly idle: UpstreamConnection[] = [];
  private closed = false;

  constructor(
    readonly port: number,
    readonly idleTimeoutMs = 4000,
    private readonly host = '127.0.0.1',
  ) {}

  /** An idle connection if there is one (it may turn out stale), else a new one. */
  acquire(exchange: Exchange): { connection: UpstreamConnection; fresh: boolean } {
    while (this.idle.length > 0) {
      const connection = this.idle.pop()!;
      if (!connection.socket.destroyed) {
        connection.exchange = exchange;
        return { connection, fresh: false };
      }
    }
    const connection = new UpstreamConnection(net.connect({ port: this.port, host: this.host, noDelay: true }), this);
    connection.exchange = exchange;
    return { connection, fresh: true };
  }

  /** Takes back a connection whose exchange finished cleanly. */
  release(connection: UpstreamConnection): void {
    connection.exchange = undefined;
    if (this.closed || connection.socket.destroyed) return void connection.socket.destroy();
    if (connection.socket.isPaused()) connection.socket.resume();
    this.idle.push(connection);
  }

  forget(connection: UpstreamConnection): void {
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
  }

  destroy(): void {
    this.closed = true;
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
  }
}
