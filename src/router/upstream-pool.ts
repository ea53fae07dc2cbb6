import net from 'node:net';

/** The one buffer every upstream read of this process lands in (reads are handled one at a time). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** The request/response exchange currently using a connection. */
export interface Exchange {
  startedAt: number;
  /** Bytes read: valid during the call only (the buffer is reused). */
  onData(chunk: Buffer): void;
  onError(code: string): void;
  onClose(): void;
}

/** One keep-alive TCP connection to an upstream; its listeners are set once and delegate to the current exchange. */
export class UpstreamConnection {
  exchange: Exchange | undefined;
  /** When it went back to the pool (Date.now() milliseconds). */
  idleSince = 0;

  constructor(readonly socket: net.Socket, private readonly pool: UpstreamPool) {
    // Reads arrive through the socket's onread callback (see UpstreamPool.acquire), not as 'data' events.
    socket.on('error', (error: NodeJS.ErrnoException) => this.exchange?.onError(error.code ?? 'UPSTREAM_ERROR'));
    socket.on('close', () => {
      pool.forget(this);
      this.exchange?.onClose();
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
  /** Closes connections idle longer than idleTimeoutMs (one timer per pool, not one per socket re-armed on every read). */
  private sweeper: NodeJS.Timeout | undefined;

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
    let connection: UpstreamConnection | undefined = undefined;
    // Each read lands in one shared buffer and goes straight to the exchange, without the stream machinery
    // ('data' events): whoever keeps bytes beyond the call copies them (the response parser, the client writes).
    const socket = net.connect({ port: this.port, host: this.host, noDelay: true, onread: { buffer: READ_BUFFER, callback: (bytes: number) => {
      connection!.exchange?.onData(READ_BUFFER.subarray(0, bytes));
      return true;
    } } });
    connection = new UpstreamConnection(socket, this);
    connection.exchange = exchange;
    return { connection, fresh: true };
  }

  /** Takes back a connection whose exchange finished cleanly. */
  release(connection: UpstreamConnection): void {
    connection.exchange = undefined;
    if (this.closed || connection.socket.destroyed) return void connection.socket.destroy();
    if (connection.socket.isPaused()) connection.socket.resume();
    connection.idleSince = Date.now();
    this.idle.push(connection);
    this.sweeper ??= setInterval(() => this.sweep(), Math.max(50, Math.min(1000, this.idleTimeoutMs / 4))).unref();
  }

  /** Closes the connections idle for idleTimeoutMs; an exchange's own timeouts (connect, response head) are the proxy's. */
  private sweep(): void {
    const oldest = Date.now() - this.idleTimeoutMs;
    for (const connection of [...this.idle]) if (connection.idleSince <= oldest) connection.socket.destroy();
  }

  forget(connection: UpstreamConnection): void {
    const index = this.idle.indexOf(connection);
    if (index >= 0) this.idle.splice(index, 1);
  }

  destroy(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    for (const connection of this.idle.splice(0)) connection.socket.destroy();
  }
}
