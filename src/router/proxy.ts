import net from 'node:net';
import type { BodySink, ClientRequest, ConnectionHandlers, RequestWatcher } from './client-connection.js';
import { upstreamRequestHead } from './forward-head.js';
import { ResponseParser, type ParserEvents, type ResponseHead } from './response-parser.js';
import type { Exchange, UpstreamConnection, UpstreamPool } from './upstream-pool.js';
import type { UpstreamTimeouts } from './state.js';

/** One upstream instance as the proxy sees it: where it listens, its connections, and how busy it is. */
export interface Upstream {
  id: string;
  host: string;
  port: number;
  /** Requests in flight (not upgraded connections: those are `upgraded`). */
  inflight: number;
  /** Upgraded connections (WebSocket) piped to the instance now. */
  upgraded: number;
  pool: UpstreamPool;
  /** The release the instance runs (the request metrics' label). */
  release: string;
  /** Timeouts and connection failures in a row (an answer resets it): passive health. */
  failures: number;
  /** Until when it gets no new requests while another upstream may (ejected after EJECT_AFTER_FAILURES). */
  ejectedUntil: number;
}

export interface ProxyOptions {
  /** The current upstreams of this listener; read on every request so a switch is atomic. */
  upstreams: () => Upstream[];
  /** How long a request waits for an upstream when none is routed (a recreate deploy, a restart). */
  pendingTimeoutMs: number;
  /** Resolves when the routing table changes (or an upstream starts or stops getting traffic). */
  routeChanged: () => Promise<void>;
  /** This environment's upstream timeouts, read per request. */
  timeouts: () => UpstreamTimeouts;
  /** Counts what the proxy answered itself: 504, 502, 503. */
  count: (outcome: 'upstreamTimeouts' | 'upstreamErrors' | 'unavailable') => void;
  /** Every answered request: the release that answered (`none`: nothing to route to), its status, its time to the last byte written. */
  observe: (release: string, status: number, seconds: number) => void;
  /** The release the routing table names for this listener (null: none yet): a 503 because none of its instances may get traffic is its error. */
  routedRelease: () => string | null;
}

const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UPSTREAM_CLOSED']);
/** Times a request whose connection failed before any answer (and before any body byte left) is sent again. */
const MAX_REPEATS = 3;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Between retries of a refused connection (an instance that just died, not yet seen as gone). */
const REFUSED_RETRY_DELAY_MS = 20;
const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n');
const LAST_CHUNK = Buffer.from('0\r\n\r\n');
const CRLF = Buffer.from('\r\n');

/**
 * Passive health, as nginx's max_fails and Envoy's outlier detection: an upstream that timed out or failed
 * this many times in a row gets no new requests for EJECT_MS while another upstream of the route may (a hung
 * instance, SIGSTOPped or stuck in a loop, still accepts connections, so only its silence tells).
 */
const EJECT_AFTER_FAILURES = 3;
const EJECT_MS = 5000;

interface Retry {
  /** Until when a request may wait for an upstream (held, or retried after a refused connection). */
  deadline: number;
  /** Times it was sent again after its connection failed before an answer. */
  repeats: number;
  /** An upstream that failed this request: the next attempt goes to another one where there is one. */
  avoid?: Upstream;
}

/** The upstreams to choose from: those not ejected (and not the one to avoid), or all of them when that leaves none. */
function candidates(list: Upstream[], avoid: Upstream | undefined): Upstream[] {
  const now = Date.now();
  // The common case (all healthy, nothing to avoid) allocates nothing.
  if (!avoid && list.every((upstream) => upstream.ejectedUntil <= now)) return list;
  const usable = list.filter((upstream) => upstream.ejectedUntil <= now && upstream !== avoid);
  return usable.length > 0 ? usable : list;
}

/** What the client spoke: X-Forwarded-Proto for the app (a TLS socket is https). */
const schemeOf = (request: ClientRequest): 'http' | 'https' => ((request.connection.socket as net.Socket & { encrypted?: boolean }).encrypted ? 'https' : 'http');

const seconds = (request: ClientRequest) => (performance.now() - request.arrivedAt) / 1000;

/**
 * The reverse proxy of one environment's listener: each request goes round-robin to a routed upstream over
 * a pooled keep-alive connection; its body streams as it arrives, with backpressure both ways; an upgrade
 * becomes a byte pipe. A request with nothing to route to is held until something is (or pendingTimeoutMs).
 */
export function createProxy(options: ProxyOptions): ConnectionHandlers {
  let next = 0;

  async function pick(deadline: number): Promise<Upstream | undefined> {
    let list = options.upstreams();
    while (list.length === 0 && Date.now() < deadline) {
      await Promise.race([options.routeChanged(), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
      list = options.upstreams();
    }
    if (list.length === 0) return undefined;
    next = (next + 1) % list.length;
    return list[next];
  }

  function route(request: ClientRequest, retry: Retry): void {
    if (!request.isCurrent) return;
    const all = options.upstreams();
    if (all.length > 0) {
      const list = all.length === 1 ? all : candidates(all, retry.avoid);
      next = (next + 1) % list.length;
      return forward(request, list[next], retry);
    }
    // Nothing may get traffic now (a recreate, an instance restarting): hold the request until something may.
    void pick(retry.deadline).then((upstream) => {
      if (upstream) return route(request, retry);
      if (!request.isCurrent) return;
      options.count('unavailable');
      // The routed release's instances were all down (or restarting): that is the release's error, not nobody's.
      options.observe(options.routedRelease() ?? 'none', 503, seconds(request));
      request.answer(503, 'ferry router: no healthy instance is serving this environment\n', 'retry-after: 1\r\n');
    });
  }

  function forward(request: ClientRequest, upstream: Upstream, retry: Retry): void {
    new Attempt(options, route, request, upstream, retry).start();
  }

  /** WebSocket and other upgrades: after the head, a raw byte pipe to one upstream. */
  function tunnel(request: ClientRequest, client: net.Socket, leftover: Buffer): void {
    void pick(Date.now() + options.pendingTimeoutMs).then((upstream) => {
      if (!upstream) {
        options.count('unavailable');
        return void client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      }
      upstream.upgraded++;
      const { connectMs } = options.timeouts();
      const target = net.connect({ port: upstream.port, host: upstream.host, noDelay: true });
      const connectTimer = setTimeout(() => close(), connectMs);
      target.once('connect', () => clearTimeout(connectTimer));
      target.write(upstreamRequestHead(request.head, client, schemeOf(request)), 'latin1');
      if (leftover.length > 0) target.write(leftover);
      target.pipe(client);
      client.pipe(target);
      let closed = false;
      function close() {
        if (closed) return;
        closed = true;
        clearTimeout(connectTimer);
        upstream!.upgraded--;
        target.destroy();
        client.destroy();
      }
      target.on('error', close);
      target.on('close', close);
      client.on('error', close);
      client.on('close', close);
    });
  }

  return {
    request: (request) => route(request, { deadline: Date.now() + options.pendingTimeoutMs, repeats: 0 }),
    tunnel,
  };
}

/**
 * One attempt at one upstream over one pooled connection: it is the connection's exchange, the response
 * parser's listener, the request body's sink and the request's watcher, all in one object per request (the
 * hot path allocates little). A failure before any answer may send the request again (see fail).
 */
class Attempt implements Exchange, ParserEvents, BodySink, RequestWatcher {
  readonly startedAt = Date.now();
  private settled = false;
  private requestSent: boolean;
  private phase: 'connect' | 'response' | 'body' = 'connect';
  /** A head parsed in this read, not yet written to the client. */
  private pendingHead: ResponseHead | undefined;
  private head: ResponseHead | undefined;
  /** Body bytes of this read: they go out in one write. */
  private readonly batch: Buffer[] = [];
  private readonly parser: ResponseParser;
  private readonly timeouts: UpstreamTimeouts;
  private readonly noBody: boolean;
  private connection!: UpstreamConnection;
  private fresh = false;

  constructor(
    private readonly options: ProxyOptions,
    private readonly route: (request: ClientRequest, retry: Retry) => void,
    private readonly request: ClientRequest,
    private readonly upstream: Upstream,
    private readonly retry: Retry,
  ) {
    const head = request.head;
    this.requestSent = head.body.kind === 'none';
    this.noBody = head.method === 'HEAD';
    this.timeouts = options.timeouts();
    // An HTTP/1.1 client reads chunked: the upstream's chunks go to it as they came.
    this.parser = new ResponseParser(this, this.noBody, head.version === '1.1');
  }

  start(): void {
    const { request, upstream } = this;
    upstream.inflight++;
    const { connection, fresh } = upstream.pool.acquire(this);
    this.connection = connection;
    this.fresh = fresh;
    request.watcher = this;
    connection.socket.write(upstreamRequestHead(request.head, request.connection.socket, schemeOf(request)), 'latin1');
    if (fresh) {
      request.deadline = Date.now() + this.timeouts.connectMs;
      connection.socket.once('connect', () => {
        if (!this.settled) this.send();
      });
    } else this.send();
  }

  private send(): void {
    if (this.request.head.body.kind === 'none') this.awaitHead();
    else this.request.pipeBody(this);
  }

  private awaitHead(): void {
    this.phase = 'response';
    this.request.deadline = Date.now() + this.timeouts.responseHeaderMs;
  }

  // The request body's sink.
  write(chunk: Buffer): boolean {
    const socket = this.connection.socket;
    const ok = this.request.head.body.kind === 'chunked' ? socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF])) : socket.write(chunk);
    if (!ok) socket.once('drain', () => this.request.resumeBody());
    return ok;
  }

  end(): void {
    if (this.settled) return;
    if (this.request.head.body.kind === 'chunked') this.connection.socket.write(LAST_CHUNK);
    this.requestSent = true;
    if (!this.parser.headSeen) this.awaitHead();
  }

  // The response parser's listener.
  onHead(head: ResponseHead): void {
    this.pendingHead = head;
    this.phase = 'body';
    this.request.deadline = Infinity;
  }

  onBody(chunk: Buffer): void {
    this.batch.push(chunk);
  }

  onEnd(): void {}

  onContinue(): void {
    const { request } = this;
    if (request.head.expectContinue && request.head.version === '1.1' && !request.responseStarted && request.isCurrent) request.connection.write(CONTINUE);
  }

  // The upstream connection's exchange.
  onData(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
    } catch {
      return this.fail('MALFORMED_RESPONSE');
    }
    if (this.pendingHead || this.parser.done || this.batch.length > 0) this.flush();
  }

  onError(code: string): void {
    this.fail(code);
  }

  onClose(): void {
    if (this.parser.close()) this.flush();
    else this.fail('UPSTREAM_CLOSED');
  }

  // The request's watcher.
  aborted(): void {
    if (this.settle()) this.drop();
  }

  deadlinePassed(): void {
    this.fail(this.phase === 'connect' ? 'CONNECT_TIMEOUT' : 'RESPONSE_TIMEOUT');
  }

  private settle(): boolean {
    if (this.settled) return false;
    this.settled = true;
    this.upstream.inflight--;
    this.request.deadline = Infinity;
    this.request.watcher = undefined;
    return true;
  }

  private drop(): void {
    this.connection.exchange = undefined;
    this.connection.socket.destroy();
  }

  /** The whole response is in: the connection goes back to the pool (before the response is written, so a pipelined request can take it), or is closed. */
  private release(keepAlive: boolean): void {
    if (!this.settle()) return;
    if (keepAlive && this.requestSent) this.upstream.pool.release(this.connection);
    else this.drop();
    // A body still arriving from the client has nowhere to go now; the client connection closes after this response.
    this.request.unpipeBody();
  }

  /** Writes what this read brought: a response that arrives whole costs one write to the client. */
  private flush(): void {
    const { batch, request } = this;
    const body = batch.length === 1 ? batch[0] : batch.length ? Buffer.concat(batch) : undefined;
    batch.length = 0;
    const complete = this.parser.done;
    const fresh = this.pendingHead;
    if (fresh) {
      this.head = fresh;
      // It answered: whatever failed before, it is healthy again.
      this.upstream.failures = 0;
    }
    const head = this.head!;
    if (complete) this.release(head.keepAlive);
    let ok = true;
    if (fresh) {
      this.pendingHead = undefined;
      ok = request.writeHead(head, body, this.noBody || head.status === 204 || head.status === 304, complete);
    } else if (complete) request.end(body);
    else if (body) ok = request.writeBody(body);
    if (complete) this.options.observe(this.upstream.release, head.status, seconds(request));
    else if (!ok) {
      const socket = this.connection.socket;
      socket.pause();
      request.connection.onDrain(() => socket.resume());
    }
  }

  private fail(code: string): void {
    if (!this.settle()) return;
    this.drop();
    const { request, retry, fresh, upstream, timeouts } = this;
    if (!request.isCurrent) return;
    if (request.responseStarted) return request.abort();
    const timedOut = code === 'CONNECT_TIMEOUT' || code === 'RESPONSE_TIMEOUT';
    // A pooled connection the upstream had closed is routine (keep-alive races); a timeout or a new connection that fails is not.
    if ((timedOut || fresh) && ++upstream.failures >= EJECT_AFTER_FAILURES) upstream.ejectedUntil = Date.now() + EJECT_MS;
    // Refused on a new connection: nothing was sent (the body waits for the connection to open).
    const neverSent = code === 'ECONNREFUSED' && fresh && !request.bodyForwarded;
    if (neverSent && Date.now() < retry.deadline) {
      request.unpipeBody();
      return void setTimeout(() => this.route(request, retry), REFUSED_RETRY_DELAY_MS);
    }
    // The connection failed before any answer: a stale pooled connection (the upstream closed it), or an
    // instance that died holding the request. One whose body did not start, on a stale connection, or an
    // idempotent one anywhere, is sent again (RFC 9110 9.2.2), a bounded number of times.
    const repeatable = RETRYABLE_CODES.has(code) && !request.bodyForwarded && !this.parser.headSeen && (!fresh || IDEMPOTENT.has(request.head.method));
    if (repeatable && retry.repeats < MAX_REPEATS && Date.now() < retry.deadline) {
      request.unpipeBody();
      return void setTimeout(() => this.route(request, { ...retry, repeats: retry.repeats + 1 }), fresh ? REFUSED_RETRY_DELAY_MS : 0);
    }
    // A timeout is sent again to another upstream when that is safe: nothing reached the app (no connection), or
    // the request is idempotent and bodyless and no answer began (RFC 9110 9.2.2), as nginx's proxy_next_upstream.
    const resendable = !request.bodyForwarded && !this.parser.headSeen && (code === 'CONNECT_TIMEOUT' || (IDEMPOTENT.has(request.head.method) && request.head.body.kind === 'none'));
    if (timedOut && resendable && retry.repeats < MAX_REPEATS && this.options.upstreams().some((other) => other !== upstream && other.ejectedUntil <= Date.now())) {
      request.unpipeBody();
      return this.route(request, { ...retry, repeats: retry.repeats + 1, avoid: upstream });
    }
    this.options.count(timedOut ? 'upstreamTimeouts' : 'upstreamErrors');
    this.options.observe(upstream.release, timedOut ? 504 : 502, seconds(request));
    const what = code === 'CONNECT_TIMEOUT' ? `did not accept a connection within ${timeouts.connectMs}ms` : code === 'RESPONSE_TIMEOUT' ? `sent no response head within ${timeouts.responseHeaderMs}ms` : `failed: ${code}`;
    request.answer(timedOut ? 504 : 502, `ferry router: upstream ${upstream.id} ${what}\n`);
  }
}
