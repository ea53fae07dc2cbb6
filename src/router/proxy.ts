import net from 'node:net';
import type { BodySink, ClientRequest, ConnectionHandlers } from './client-connection.js';
import { upstreamRequestHead } from './forward-head.js';
import { ResponseParser, type ResponseHead } from './response-parser.js';
import type { UpstreamPool } from './upstream-pool.js';
import type { UpstreamTimeouts } from './state.js';

/** One upstream instance as the proxy sees it: where it listens, its connections, and how busy it is. */
export interface Upstream {
  id: string;
  host: string;
  port: number;
  inflight: number;
  pool: UpstreamPool;
  /** The release the instance runs (the request metrics' label). */
  release: string;
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

interface Retry {
  /** Until when a request may wait for an upstream (held, or retried after a refused connection). */
  deadline: number;
  /** Times it was sent again after its connection failed before an answer. */
  repeats: number;
}

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
    const list = options.upstreams();
    if (list.length > 0) {
      next = (next + 1) % list.length;
      return forward(request, list[next], retry);
    }
    // Nothing may get traffic now (a recreate, an instance restarting): hold the request until something may.
    void pick(retry.deadline).then((upstream) => {
      if (upstream) return route(request, retry);
      if (!request.isCurrent) return;
      options.count('unavailable');
      options.observe('none', 503, seconds(request));
      request.answer(503, 'ferry router: no healthy instance is serving this environment\n', 'retry-after: 1\r\n');
    });
  }

  /** One attempt at one upstream; a failure before any answer may send the request again (see fail). */
  function forward(request: ClientRequest, upstream: Upstream, retry: Retry): void {
    upstream.inflight++;
    const head = request.head;
    const chunkedBody = head.body.kind === 'chunked';
    const timeouts = options.timeouts();
    const noBody = head.method === 'HEAD';
    let settled = false;
    let requestSent = head.body.kind === 'none';
    let phase: 'connect' | 'response' | 'body' = 'connect';
    let pendingHead: ResponseHead | undefined;
    let batch: Buffer[] = [];

    const settle = () => {
      if (settled) return false;
      settled = true;
      upstream.inflight--;
      request.deadline = Infinity;
      request.onDeadline = undefined;
      request.onAbort = undefined;
      return true;
    };
    const drop = () => {
      connection.exchange = undefined;
      socket.destroy();
    };
    const fail = (code: string) => {
      if (!settle()) return;
      drop();
      if (!request.isCurrent) return;
      if (request.responseStarted) return request.abort();
      // Refused on a new connection: nothing was sent (the body waits for the connection to open).
      const neverSent = code === 'ECONNREFUSED' && fresh && !request.bodyForwarded;
      if (neverSent && Date.now() < retry.deadline) {
        request.unpipeBody();
        return void setTimeout(() => route(request, retry), REFUSED_RETRY_DELAY_MS);
      }
      // The connection failed before any answer: a stale pooled connection (the upstream closed it), or an
      // instance that died holding the request. One whose body did not start, on a stale connection, or an
      // idempotent one anywhere, is sent again (RFC 9110 9.2.2), a bounded number of times.
      const repeatable = RETRYABLE_CODES.has(code) && !request.bodyForwarded && !parser.headSeen && (!fresh || IDEMPOTENT.has(head.method));
      if (repeatable && retry.repeats < MAX_REPEATS && Date.now() < retry.deadline) {
        request.unpipeBody();
        return void setTimeout(() => route(request, { ...retry, repeats: retry.repeats + 1 }), fresh ? REFUSED_RETRY_DELAY_MS : 0);
      }
      const timedOut = code === 'CONNECT_TIMEOUT' || code === 'RESPONSE_TIMEOUT';
      options.count(timedOut ? 'upstreamTimeouts' : 'upstreamErrors');
      options.observe(upstream.release, timedOut ? 504 : 502, seconds(request));
      const what = code === 'CONNECT_TIMEOUT' ? `did not accept a connection within ${timeouts.connectMs}ms` : code === 'RESPONSE_TIMEOUT' ? `sent no response head within ${timeouts.responseHeaderMs}ms` : `failed: ${code}`;
      request.answer(timedOut ? 504 : 502, `ferry router: upstream ${upstream.id} ${what}\n`);
    };
    const parser = new ResponseParser(
      {
        onHead: (responseHead) => {
          pendingHead = responseHead;
          phase = 'body';
          request.deadline = Infinity;
        },
        onBody: (chunk) => batch.push(chunk),
        onEnd: () => undefined,
        onContinue: () => {
          if (head.expectContinue && head.version === '1.1' && !request.responseStarted && request.isCurrent) request.connection.write(CONTINUE);
        },
      },
      noBody,
    );
    let lastHead: ResponseHead | undefined;
    /** The whole response is in: the connection goes back to the pool (before the response is written, so a pipelined request can take it), or is closed. */
    const release = (keepAlive: boolean) => {
      if (!settle()) return;
      if (keepAlive && requestSent) upstream.pool.release(connection);
      else drop();
      // A body still arriving from the client has nowhere to go now; the client connection closes after this response.
      request.unpipeBody();
    };
    // Body bytes of one read go out in one write; a response that arrives whole costs one write to the client.
    const flush = () => {
      const body = batch.length === 1 ? batch[0] : batch.length ? Buffer.concat(batch) : undefined;
      batch = [];
      const complete = parser.done;
      if (pendingHead) lastHead = pendingHead;
      if (complete) release(lastHead!.keepAlive);
      let ok = true;
      if (pendingHead) {
        pendingHead = undefined;
        const status = lastHead!.status;
        ok = request.writeHead(lastHead!, body, noBody || status === 204 || status === 304, complete);
      } else if (complete) request.end(body);
      else if (body) ok = request.writeBody(body);
      if (complete) options.observe(upstream.release, lastHead!.status, seconds(request));
      else if (!ok) {
        socket.pause();
        request.connection.onDrain(() => socket.resume());
      }
    };
    const { connection, fresh } = upstream.pool.acquire({
      startedAt: Date.now(),
      onData: (chunk) => {
        try {
          parser.push(chunk);
        } catch {
          return fail('MALFORMED_RESPONSE');
        }
        if (pendingHead || parser.done || batch.length > 0) flush();
      },
      onError: fail,
      onClose: () => {
        if (parser.close()) flush();
        else fail('UPSTREAM_CLOSED');
      },
    });
    const socket = connection.socket;
    request.onAbort = () => {
      if (settle()) drop();
    };
    request.onDeadline = () => fail(phase === 'connect' ? 'CONNECT_TIMEOUT' : 'RESPONSE_TIMEOUT');

    const sink: BodySink = {
      write: (chunk) => {
        const ok = chunkedBody ? socket.write(Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`, 'latin1'), chunk, CRLF])) : socket.write(chunk);
        if (!ok) socket.once('drain', () => request.resumeBody());
        return ok;
      },
      end: () => {
        if (settled) return;
        if (chunkedBody) socket.write(LAST_CHUNK);
        requestSent = true;
        if (!parser.headSeen) awaitHead();
      },
    };
    const awaitHead = () => {
      phase = 'response';
      request.deadline = Date.now() + timeouts.responseHeaderMs;
    };
    const send = () => (head.body.kind === 'none' ? awaitHead() : request.pipeBody(sink));

    socket.write(upstreamRequestHead(head, request.connection.socket, 'http'), 'latin1');
    if (fresh) {
      request.deadline = Date.now() + timeouts.connectMs;
      socket.once('connect', () => {
        if (!settled) send();
      });
    } else send();
  }

  /** WebSocket and other upgrades: after the head, a raw byte pipe to one upstream. */
  function tunnel(request: ClientRequest, client: net.Socket, leftover: Buffer): void {
    void pick(Date.now() + options.pendingTimeoutMs).then((upstream) => {
      if (!upstream) {
        options.count('unavailable');
        return void client.end('HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      }
      upstream.inflight++;
      const { connectMs } = options.timeouts();
      const target = net.connect({ port: upstream.port, host: upstream.host, noDelay: true });
      const connectTimer = setTimeout(() => close(), connectMs);
      target.once('connect', () => clearTimeout(connectTimer));
      target.write(upstreamRequestHead(request.head, client, 'http'), 'latin1');
      if (leftover.length > 0) target.write(leftover);
      target.pipe(client);
      client.pipe(target);
      let closed = false;
      function close() {
        if (closed) return;
        closed = true;
        clearTimeout(connectTimer);
        upstream!.inflight--;
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
