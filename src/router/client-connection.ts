import type net from 'node:net';
import { RequestParseError, RequestParser, type RequestHead } from './request-parser.js';
import type { ResponseHead } from './response-parser.js';

/** How long the router waits on a client, in milliseconds. */
export interface ClientTimeouts {
  /** A keep-alive connection with no request in progress is closed after this long. */
  idleMs: number;
  /** From the first byte of a request head to its end; slower (a slowloris client) is answered 408 and closed. */
  headMs: number;
  /** Between two reads of a request body; slower is answered 408 (or cut, if the response began). */
  bodyIdleMs: number;
}

export const DEFAULT_CLIENT_TIMEOUTS: ClientTimeouts = { idleMs: 65_000, headMs: 30_000, bodyIdleMs: 60_000 };

/** Where a request's body goes once the proxy has an upstream connection for it. */
export interface BodySink {
  /** False: the upstream is slow; the client is not read until `resumeBody`. */
  write(chunk: Buffer): boolean;
  end(): void;
}

/** `idle`: between requests; `head`: part of a request head read; `request`: a request in progress; `tunnel`: an upgraded byte pipe. */
export type ConnectionState = 'idle' | 'head' | 'request' | 'tunnel' | 'closed';

/**
 * How the response body reaches the client: with the upstream's Content-Length, in the upstream's own chunks
 * (`passed`), chunked by the router (an unframed upstream body), or until the connection closes (HTTP/1.0).
 */
type Framing = 'none' | 'length' | 'passed' | 'chunked' | 'close';

export interface ConnectionHandlers {
  /** A request head arrived; its body (if any) follows through `pipeBody`. */
  request(request: ClientRequest): void;
  /** An `Upgrade` request: the socket is the caller's from here; `leftover` is what the client sent after the head. */
  tunnel(request: ClientRequest, socket: net.Socket, leftover: Buffer): void;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 308: 'Permanent Redirect', 404: 'Not Found', 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large', 501: 'Not Implemented', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout', 505: 'HTTP Version Not Supported' };
/** Pipelined bytes read ahead of the current response; beyond this the client is not read until the response ends. */
const MAX_READ_AHEAD_BYTES = 64 * 1024;
/** Bodies up to this size go out in one write with their head; larger ones in a second write. */
const COALESCE_BYTES = 16 * 1024;
const CRLF = Buffer.from('\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
/** The end of a chunk and the last chunk. */
const CHUNK_END_LAST = Buffer.from('\r\n0\r\n\r\n');

/** The proxy's attempt at a request, told what happens on the client's side. */
export interface RequestWatcher {
  /** The client went away (or was refused) before the response ended. */
  aborted(): void;
  /** The request's deadline passed. */
  deadlinePassed(): void;
}

/** One request on a client connection: its head, its body on the way in, its response on the way out. */
export class ClientRequest {
  readonly arrivedAt = performance.now();
  bodyComplete: boolean;
  /** Some body bytes went to a sink (the request cannot be sent again elsewhere). */
  bodyForwarded = false;
  responseStarted = false;
  finished = false;
  /** Who is told when the client goes away before the response ended, or when `deadline` passes. */
  watcher: RequestWatcher | undefined;
  /** The proxy's own deadline for this request (upstream connect or response head), checked by the sweep. */
  deadline = Infinity;
  private held: Buffer[] = [];
  private sink: BodySink | undefined;
  private framing: Framing = 'none';

  constructor(readonly connection: ClientConnection, readonly head: RequestHead) {
    this.bodyComplete = head.body.kind === 'none';
  }

  get isCurrent(): boolean {
    return this.connection.current === this && !this.finished;
  }

  /** Sends the body (what arrived already, then the rest as it comes) to a sink. */
  pipeBody(sink: BodySink): void {
    this.sink = sink;
    const held = this.held;
    this.held = [];
    for (const chunk of held) this.deliver(chunk);
    if (this.bodyComplete) sink.end();
    else if (held.length > 0 || this.connection.readingPaused) this.connection.resumeReading();
  }

  /** Takes the body back from a sink that never got a byte (the request goes to another upstream). */
  unpipeBody(): void {
    this.sink = undefined;
  }

  resumeBody(): void {
    if (this.isCurrent) this.connection.resumeReading();
  }

  /** @internal A body chunk from the parser. */
  deliver(chunk: Buffer): void {
    if (!this.sink) {
      // No upstream yet (held, or connecting): keep this read, read no more until there is one.
      this.held.push(Buffer.from(chunk));
      this.connection.pauseReading();
      return;
    }
    this.bodyForwarded = true;
    if (!this.sink.write(chunk)) this.connection.pauseReading();
  }

  /** @internal The parser saw the end of the body. */
  complete(): void {
    this.bodyComplete = true;
    this.sink?.end();
  }

  /**
   * Writes the response head with the body bytes that came with it; `complete`: that is the whole response.
   * Returns false when the client is slow (wait for `onDrain`). Body bytes are copied (or decoded) before a
   * write keeps them: they may be an upstream read buffer that is reused.
   */
  writeHead(head: ResponseHead, body: Buffer | undefined, noBody: boolean, complete: boolean): boolean {
    if (!this.isCurrent) return true;
    this.responseStarted = true;
    const client = this.head;
    this.framing = noBody ? 'none' : head.contentLength !== undefined ? 'length' : head.chunksPassed ? 'passed' : client.version === '1.1' ? 'chunked' : 'close';
    const keepAlive = this.connection.mayKeepAlive(this) && this.framing !== 'close';
    let text = `HTTP/1.1 ${head.status} ${head.statusMessage}\r\n${head.headerText}`;
    if (this.framing === 'chunked' || this.framing === 'passed') text += 'transfer-encoding: chunked\r\n';
    if (!keepAlive) text += 'connection: close\r\n';
    else if (client.version === '1.0') text += 'connection: keep-alive\r\n';
    this.connection.keepAlive = keepAlive;
    text += '\r\n';
    let ok: boolean;
    const length = body?.length ?? 0;
    if (length <= COALESCE_BYTES) {
      // A small response goes out as one latin1 string: cheaper than building and joining buffers.
      const bytes = length > 0 ? body!.toString('latin1') : '';
      if (this.framing === 'chunked') text += `${length > 0 ? `${length.toString(16)}\r\n${bytes}\r\n` : ''}${complete ? '0\r\n\r\n' : ''}`;
      else text += bytes;
      ok = this.connection.write(text);
    } else if (this.framing === 'chunked') {
      ok = this.connection.write(Buffer.concat([Buffer.from(`${text}${length.toString(16)}\r\n`, 'latin1'), body!, complete ? CHUNK_END_LAST : CRLF]));
    } else {
      this.connection.write(text);
      ok = this.connection.write(Buffer.from(body!));
    }
    if (complete) this.done();
    return ok;
  }

  writeBody(chunk: Buffer): boolean {
    if (!this.isCurrent || chunk.length === 0) return true;
    if (this.framing === 'chunked') return this.connection.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF]));
    // A copy: the chunk may be a read buffer that is reused, and a write the client is slow to take keeps it.
    return this.connection.write(Buffer.from(chunk));
  }

  /** The rest of the response arrived: the next pipelined request (or the idle wait) follows, or the connection closes. */
  end(last?: Buffer): void {
    if (!this.isCurrent) return;
    if (this.framing === 'chunked') {
      this.connection.write(last && last.length > 0 ? Buffer.concat([Buffer.from(`${last.length.toString(16)}\r\n`, 'latin1'), last, CRLF, LAST_CHUNK]) : LAST_CHUNK);
    } else if (last && last.length > 0) this.connection.write(Buffer.from(last));
    this.done();
  }

  private done(): void {
    this.finished = true;
    this.connection.responseEnded(this);
  }

  /** A response the router writes itself (502, 503, 504) when none was started. */
  answer(status: number, text: string, extra = ''): void {
    if (!this.isCurrent) return;
    if (this.responseStarted) return this.connection.destroy();
    this.responseStarted = true;
    this.finished = true;
    this.connection.answerAndMaybeClose(status, text, extra, this);
  }

  /** The response cannot be completed (the upstream failed after its head): the client sees the connection cut. */
  abort(): void {
    if (this.connection.current === this) this.connection.destroy();
  }
}

/**
 * One client connection on a listener: reads request heads with the strict parser, hands each request to
 * the proxy, writes responses in order (a pipelined request waits for the one before), and times out idle,
 * slow-head and slow-body clients. The proxy's per-request work stays on the hot path; timers do not: a
 * sweep over all connections checks the deadlines.
 */
export class ClientConnection {
  state: ConnectionState = 'idle';
  current: ClientRequest | undefined;
  /** Whether the connection stays open after the current response (decided when its head is written). */
  keepAlive = true;
  readingPaused = false;
  /** When the current wait (idle, head or body) runs out, in Date.now() milliseconds. */
  deadline: number;
  /** One parser per connection, reset between requests. */
  private readonly parser: RequestParser;
  private readAhead: Buffer | undefined;
  private clientEnded = false;
  /** The router is handing over or stopping: no response keeps the connection open. */
  private draining = false;
  private drainWaiter: (() => void) | undefined;

  constructor(
    readonly socket: net.Socket,
    private readonly handlers: ConnectionHandlers,
    private readonly timeouts: ClientTimeouts,
    private readonly maxHeadBytes: number,
    private readonly onClosed: (connection: ClientConnection) => void,
  ) {
    this.deadline = Date.now() + timeouts.idleMs;
    this.parser = new RequestParser(
      {
        onHead: (head) => this.headArrived(head),
        onBody: (body) => this.current?.deliver(body),
        onEnd: () => this.current?.complete(),
      },
      maxHeadBytes,
    );
    socket.setNoDelay(true);
    // A client that half-closes after its request still gets the answer (a socket handed over from the master lacks the server's setting).
    socket.allowHalfOpen = true;
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => this.ended());
    socket.on('drain', () => {
      const waiter = this.drainWaiter;
      this.drainWaiter = undefined;
      waiter?.();
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => this.closed());
  }

  /** Calls back once the client has taken what was written (after a write returned false). */
  onDrain(callback: () => void): void {
    this.drainWaiter = callback;
  }

  /** Bytes, or text whose characters are bytes (latin1). */
  write(data: Buffer | string): boolean {
    return this.state !== 'closed' && (typeof data === 'string' ? this.socket.write(data, 'latin1') : this.socket.write(data));
  }

  pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket.pause();
  }

  resumeReading(): void {
    if (!this.readingPaused || this.state === 'closed') return;
    this.readingPaused = false;
    this.socket.resume();
  }

  /** Whether this request's response may leave the connection open. */
  mayKeepAlive(request: ClientRequest): boolean {
    return request.head.keepAlive && request.bodyComplete && !this.clientEnded && !this.draining;
  }

  /**
   * Lets the connection end gracefully: the response in progress says `connection: close`; an idle one is
   * closed if no request starts within graceMs (a busy client gets its next answer, with the close, first).
   */
  drain(graceMs: number): void {
    this.draining = true;
    if (this.state === 'idle') this.deadline = Math.min(this.deadline, Date.now() + graceMs);
  }

  /** Checks the connection's deadlines (called by the listener's sweep). */
  sweep(now: number): void {
    const request = this.current;
    if (request && request.deadline <= now) {
      request.deadline = Infinity;
      request.watcher?.deadlinePassed();
    }
    if (now < this.deadline) return;
    this.deadline = Infinity;
    if (this.state === 'idle') return this.close();
    if (this.state === 'head') return this.refuse(408, `the request head did not arrive within ${this.timeouts.headMs}ms`);
    if (this.state === 'request' && request && !request.bodyComplete) {
      if (request.responseStarted) return this.destroy();
      request.watcher?.aborted();
      return this.refuse(408, `the request body stalled for ${this.timeouts.bodyIdleMs}ms`);
    }
  }

  private read(chunk: Buffer): void {
    if (this.state === 'closed' || this.state === 'tunnel') return;
    const request = this.current;
    if (request && request.bodyComplete) {
      // The next pipelined request: kept until this response ends.
      this.readAhead = this.readAhead ? Buffer.concat([this.readAhead, chunk]) : chunk;
      if (this.readAhead.length > MAX_READ_AHEAD_BYTES) this.pauseReading();
      return;
    }
    if (request) this.deadline = Date.now() + this.timeouts.bodyIdleMs;
    else if (this.state === 'idle') {
      this.state = 'head';
      this.deadline = Date.now() + this.timeouts.headMs;
    }
    this.parse(chunk);
  }

  private parse(chunk: Buffer): void {
    const parser = this.parser;
    let rest: Buffer;
    try {
      rest = parser.push(chunk);
    } catch (error) {
      if (!(error instanceof RequestParseError)) throw error;
      this.current?.watcher?.aborted();
      return this.refuse(error.status, error.reason);
    }
    if (!parser.done) return;
    parser.reset();
    const request = this.current;
    if (request && this.state === 'request' && request.head.upgrade) return this.upgrade(request, rest);
    if (rest.length === 0) return;
    if (request) this.readAhead = this.readAhead ? Buffer.concat([this.readAhead, rest]) : rest;
    // Answered already (while its head was parsed): the next request is read now.
    else if (this.state === 'idle') this.read(rest);
  }

  private headArrived(head: RequestHead): void {
    const request = new ClientRequest(this, head);
    this.current = request;
    this.state = 'request';
    this.deadline = request.bodyComplete ? Infinity : Date.now() + this.timeouts.bodyIdleMs;
    if (head.method === 'CONNECT') {
      request.finished = true;
      return this.answerAndMaybeClose(405, 'ferry router: CONNECT is not proxied\n', '', request, true);
    }
    if (!head.upgrade) this.handlers.request(request);
  }

  private upgrade(request: ClientRequest, leftover: Buffer): void {
    this.state = 'tunnel';
    this.deadline = Infinity;
    this.socket.removeAllListeners('data');
    this.socket.removeAllListeners('end');
    // Not read until the tunnel pipes it (the upstream may still be connecting).
    this.socket.pause();
    this.onClosed(this);
    this.handlers.tunnel(request, this.socket, this.readAhead ? Buffer.concat([leftover, this.readAhead]) : leftover);
  }

  /** @internal The current response ended: the next request, or the close. */
  responseEnded(request: ClientRequest): void {
    if (this.current !== request) return;
    this.current = undefined;
    if (!this.keepAlive) return this.close();
    this.state = 'idle';
    this.deadline = Date.now() + (this.draining ? 0 : this.timeouts.idleMs);
    this.resumeReading();
    const ahead = this.readAhead;
    this.readAhead = undefined;
    if (ahead) this.read(ahead);
    else if (this.clientEnded) this.close();
  }

  /** @internal A response of the router's own, then the next request or the close. */
  answerAndMaybeClose(status: number, text: string, extra: string, request: ClientRequest, forceClose = false): void {
    const keepAlive = !forceClose && this.mayKeepAlive(request);
    this.keepAlive = keepAlive;
    const body = Buffer.from(text);
    this.write(Buffer.from(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n${extra}${keepAlive ? '' : 'connection: close\r\n'}\r\n${text}`, 'latin1'));
    this.responseEnded(request);
  }

  /** Refuses what was read (a malformed or too-slow request) and closes: nothing after it on this connection is read. */
  private refuse(status: number, reason: string): void {
    if (this.state === 'closed') return;
    const text = `ferry router: ${reason}\n`;
    this.socket.removeAllListeners('data');
    this.current = undefined;
    this.readAhead = undefined;
    this.write(Buffer.from(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? ''}\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\nconnection: close\r\n\r\n${text}`, 'latin1'));
    this.close();
  }

  private ended(): void {
    this.clientEnded = true;
    // A half-closed client still gets the response to what it sent.
    if (this.state === 'idle') this.close();
    else if (this.state === 'head') this.destroy();
  }

  /** Ends the connection after what was written. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.end();
    // A client that never reads what is left would otherwise hold the socket.
    this.socket.setTimeout(this.timeouts.idleMs, () => this.socket.destroy());
  }

  destroy(): void {
    this.socket.destroy();
  }

  private closed(): void {
    this.state = 'closed';
    const request = this.current;
    this.current = undefined;
    if (request && !request.finished) request.watcher?.aborted();
    this.drainWaiter = undefined;
    this.onClosed(this);
  }
}
