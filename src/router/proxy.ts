import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import net from 'node:net';
import { ResponseParser } from './response-parser.js';
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

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto']);
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'UPSTREAM_CLOSED']);
/** Times a bodyless request whose connection failed before any answer is sent again. */
const MAX_REPEATS = 3;
const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
/** Between retries of a refused connection (an instance that just died, not yet seen as gone). */
const REFUSED_RETRY_DELAY_MS = 20;

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
}

/** The request head as the upstream gets it: hop-by-hop headers dropped, X-Forwarded-* set, body re-framed. */
function requestHead(req: IncomingMessage, chunked: boolean): string {
  let head = `${req.method} ${req.url} HTTP/1.1\r\n`;
  const raw = req.rawHeaders;
  let hasHost = false;
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i].toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (lower === 'host') hasHost = true;
    head += `${raw[i]}: ${raw[i + 1]}\r\n`;
  }
  if (!hasHost) head += `host: ${req.socket.localAddress}:${req.socket.localPort}\r\n`;
  const forwardedFor = req.headers['x-forwarded-for'];
  head += `x-forwarded-for: ${forwardedFor ? `${forwardedFor}, ` : ''}${req.socket.remoteAddress ?? ''}\r\nx-forwarded-proto: http\r\n`;
  if (chunked) head += 'transfer-encoding: chunked\r\n';
  return head + '\r\n';
}

interface Retry {
  /** When the request arrived (performance.now()): its latency runs from here, across waits and retries. */
  arrivedAt: number;
  /** Until when a request may wait for an upstream (held, or retried after a refused connection). */
  deadline: number;
  /** Times it was sent again after its connection failed before an answer. */
  repeats: number;
}

/** Builds the request handler of one environment's listener: a keep-alive reverse proxy. */
export function createProxyHandler(options: ProxyOptions) {
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

  /** One attempt at one upstream; a failure before any answer may send the request again (see fail). */
  function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, retry: Retry): void {
    upstream.inflight++;
    const withBody = hasBody(req);
    const chunkedBody = withBody && req.headers['transfer-encoding'] !== undefined;
    const timeouts = options.timeouts();
    let settled = false;
    let requestSent = !withBody;
    let bodyStarted = false;
    let keepAlive = false;
    let batch: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    let status = 0;

    const arm = (ms: number, code: string) => {
      clearTimeout(timer);
      timer = setTimeout(() => fail(code), ms);
    };
    const settle = () => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      upstream.inflight--;
      return true;
    };
    const fail = (code: string) => {
      if (!settle()) return;
      connection.exchange = undefined;
      socket.destroy();
      if (res.headersSent) return void res.destroy();
      // Refused on a new connection: nothing was sent (the body is not read before the connection opens).
      const neverSent = code === 'ECONNREFUSED' && fresh && !bodyStarted;
      if (neverSent && Date.now() < retry.deadline) return void setTimeout(() => route(req, res, retry), REFUSED_RETRY_DELAY_MS);
      // The connection failed before any answer: a stale pooled connection (the upstream closed it), or an
      // instance that died holding the request. A bodyless request on a stale connection, or a bodyless
      // idempotent one anywhere, is sent again (RFC 9110 9.2.2), a bounded number of times.
      const repeatable = RETRYABLE_CODES.has(code) && !withBody && !parser.headSeen && (!fresh || IDEMPOTENT.has(req.method ?? ''));
      if (repeatable && retry.repeats < MAX_REPEATS && Date.now() < retry.deadline) return void setTimeout(() => route(req, res, { ...retry, repeats: retry.repeats + 1 }), fresh ? REFUSED_RETRY_DELAY_MS : 0);
      const timedOut = code === 'CONNECT_TIMEOUT' || code === 'RESPONSE_TIMEOUT';
      options.count(timedOut ? 'upstreamTimeouts' : 'upstreamErrors');
      options.observe(upstream.release, timedOut ? 504 : 502, (performance.now() - retry.arrivedAt) / 1000);
      const what = code === 'CONNECT_TIMEOUT' ? `did not accept a connection within ${timeouts.connectMs}ms` : code === 'RESPONSE_TIMEOUT' ? `sent no response head within ${timeouts.responseHeaderMs}ms` : `failed: ${code}`;
      res.writeHead(timedOut ? 504 : 502, { 'content-type': 'text/plain' }).end(`ferry router: upstream ${upstream.id} ${what}\n`);
    };
    const parser = new ResponseParser(
      {
        onHead: (head) => {
          clearTimeout(timer);
          keepAlive = head.keepAlive;
          status = head.status;
          res.writeHead(head.status, head.statusMessage, head.headers);
        },
        onBody: (chunk) => batch.push(chunk),
        onEnd: () => undefined,
      },
      req.method === 'HEAD',
    );
    // Body bytes of one read go out in one write; a response that arrives whole costs one write to the client.
    const flush = () => {
      const body = batch.length === 1 ? batch[0] : batch.length ? Buffer.concat(batch) : undefined;
      batch = [];
      if (parser.done) {
        if (!settle()) return;
        res.end(body);
        options.observe(upstream.release, status, (performance.now() - retry.arrivedAt) / 1000);
        if (keepAlive && requestSent) upstream.pool.release(connection);
        else {
          connection.exchange = undefined;
          socket.destroy();
        }
      } else if (body && !res.write(body)) {
        socket.pause();
        res.once('drain', () => socket.resume());
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
        flush();
      },
      onError: fail,
      onClose: () => {
        if (parser.close()) flush();
        else fail('UPSTREAM_CLOSED');
      },
    });
    const socket = connection.socket;
    res.on('close', () => {
      if (settle()) {
        connection.exchange = undefined;
        socket.destroy();
      }
    });

    socket.write(requestHead(req, chunkedBody));
    const awaitHead = () => arm(timeouts.responseHeaderMs, 'RESPONSE_TIMEOUT');
    if (fresh) {
      arm(timeouts.connectMs, 'CONNECT_TIMEOUT');
      socket.once('connect', () => (withBody ? sendBody() : awaitHead()));
    } else if (withBody) sendBody();
    else awaitHead();

    function sendBody(): void {
      if (settled) return;
      clearTimeout(timer);
      bodyStarted = true;
      req.on('data', (chunk: Buffer) => {
      const ok = chunkedBody ? socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write('\r\n') : socket.write(chunk);
      if (!ok) {
        req.pause();
        socket.once('drain', () => req.resume());
      }
    });
      req.on('end', () => {
        if (chunkedBody) socket.write('0\r\n\r\n');
        requestSent = true;
        if (!settled && !parser.headSeen) awaitHead();
      });
    }
  }

  function route(req: IncomingMessage, res: ServerResponse, retry: Retry): void {
    const list = options.upstreams();
    if (list.length > 0) {
      next = (next + 1) % list.length;
      return forward(req, res, list[next], retry);
    }
    // Nothing may get traffic now (a recreate, an instance restarting): hold the request until something may.
    void pick(retry.deadline).then((upstream) => {
      if (upstream) return forward(req, res, upstream, retry);
      options.count('unavailable');
      options.observe('none', 503, (performance.now() - retry.arrivedAt) / 1000);
      if (!res.headersSent && !res.destroyed) res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('ferry router: no healthy instance is serving this environment\n');
    });
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => route(req, res, { arrivedAt: performance.now(), deadline: Date.now() + options.pendingTimeoutMs, repeats: 0 });

  /** WebSocket and other upgrades: a raw byte tunnel to one upstream. */
  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void pick(Date.now() + options.pendingTimeoutMs).then((upstream) => {
      if (!upstream) return void socket.destroy();
      upstream.inflight++;
      const target = net.connect(upstream.port, upstream.host, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        target.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length > 0) target.write(head);
        target.pipe(socket).pipe(target);
      });
      const close = () => {
        target.destroy();
        socket.destroy();
      };
      target.once('close', () => upstream.inflight--);
      target.on('error', close);
      socket.on('error', close);
    });
  };

  return { handler, upgrade };
}
