import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import net from 'node:net';

/** One upstream instance as the proxy sees it: where it listens and how busy it is. */
export interface Upstream {
  id: string;
  port: number;
  inflight: number;
  agent: http.Agent;
}

export interface ProxyOptions {
  /** The current upstreams of this listener; read on every request so a switch is atomic. */
  upstreams: () => Upstream[];
  /** How long a request waits for an upstream when none is routed (a recreate deploy, a restart). */
  pendingTimeoutMs: number;
  /** Resolves when the routing table changes. */
  routeChanged: () => Promise<void>;
}

const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade'];
const RETRYABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE']);
const MAX_ATTEMPTS = 3;

function forwardHeaders(headers: http.IncomingHttpHeaders | http.OutgoingHttpHeaders, extra?: Record<string, string>) {
  const out: http.OutgoingHttpHeaders = { ...headers, ...extra };
  for (const name of HOP_BY_HOP) delete out[name];
  return out;
}

function hasNoBody(req: IncomingMessage): boolean {
  return !req.headers['transfer-encoding'] && (req.headers['content-length'] === undefined || req.headers['content-length'] === '0');
}

/** Builds the request handler of one environment's listener: a keep-alive reverse proxy. */
export function createProxyHandler(options: ProxyOptions) {
  let next = 0;

  async function pick(): Promise<Upstream | undefined> {
    const deadline = Date.now() + options.pendingTimeoutMs;
    let list = options.upstreams();
    while (list.length === 0 && Date.now() < deadline) {
      await Promise.race([options.routeChanged(), new Promise((r) => setTimeout(r, Math.max(1, deadline - Date.now())))]);
      list = options.upstreams();
    }
    if (list.length === 0) return undefined;
    next = (next + 1) % list.length;
    return list[next];
  }

  function forward(req: IncomingMessage, res: ServerResponse, upstream: Upstream, attempt: number): void {
    upstream.inflight++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        upstream.inflight--;
      }
    };
    const outgoing = http.request({
      host: '127.0.0.1',
      port: upstream.port,
      method: req.method,
      path: req.url,
      agent: upstream.agent,
      headers: forwardHeaders(req.headers, { 'x-forwarded-for': req.socket.remoteAddress ?? '', 'x-forwarded-proto': 'http' }),
    });
    outgoing.on('response', (incoming) => {
      res.writeHead(incoming.statusCode ?? 502, incoming.statusMessage, forwardHeaders(incoming.headers));
      incoming.pipe(res);
      incoming.on('end', release);
      incoming.on('error', () => {
        release();
        res.destroy();
      });
    });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      release();
      if (res.headersSent) return void res.destroy();
      const retryable = RETRYABLE_CODES.has(error.code ?? '') && hasNoBody(req) && attempt < MAX_ATTEMPTS;
      if (retryable) return void route(req, res, attempt + 1);
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`ferry router: upstream ${upstream.id} failed: ${error.code ?? error.message}\n`);
    });
    res.on('close', () => {
      release();
      if (!outgoing.writableFinished || !res.writableFinished) outgoing.destroy();
    });
    if (attempt === 1) req.pipe(outgoing);
    else outgoing.end();
  }

  function route(req: IncomingMessage, res: ServerResponse, attempt: number): void {
    const list = options.upstreams();
    if (list.length > 0) {
      next = (next + 1) % list.length;
      return forward(req, res, list[next], attempt);
    }
    void pick().then((upstream) => {
      if (upstream) forward(req, res, upstream, attempt);
      else res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('ferry router: no release is serving this environment\n');
    });
  }

  const handler = (req: IncomingMessage, res: ServerResponse) => route(req, res, 1);

  /** WebSocket and other upgrades: a raw byte tunnel to one upstream. */
  const upgrade = (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void pick().then((upstream) => {
      if (!upstream) return void socket.destroy();
      upstream.inflight++;
      const target = net.connect(upstream.port, '127.0.0.1', () => {
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
