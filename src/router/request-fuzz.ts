import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { upstreamRequestHead } from './forward-head.js';
import { RequestParseError, RequestParser, type RequestHead } from './request-parser.js';

/** A small seeded PRNG (mulberry32): the same seed makes the same cases. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a generated Connection header lists: options, framing fields, hop-by-hop fields and ordinary ones, in several cases. */
const CONNECTION_VALUES = ['close', 'keep-alive', 'Keep-Alive', 'upgrade', 'Content-Length', 'content-length', 'Transfer-Encoding', 'transfer-encoding', 'Host', 'TE', 'Trailer', 'Upgrade', 'Proxy-Connection', 'X-A', 'Accept', 'Cookie', 'X-Forwarded-For'];

/** One request, valid or hostile, built from parts each drawn at random. */
export function generateRequest(next: () => number): Buffer {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const eol = () => (next() < 0.03 ? '\n' : '\r\n');
  const method = pick(['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'get', 'FOO', 'G(T']);
  const target = pick(['/', '/a/b?c=d&e=f', '/%20x', '*', 'http://example.test/x', '/a b', '/\u00ff', '/\t', '/x#frag']);
  const version = pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1.1 ']);
  const sep = next() < 0.05 ? pick(['  ', '\t', ' \t']) : ' ';
  let head = `${method}${sep}${target} ${version}${eol()}`;
  const headers: string[] = [];
  if (next() < 0.9) headers.push(`Host: ${pick(['example.test', 'a:80', '', 'x y'])}`);
  const extra = Math.floor(next() * 4);
  for (let i = 0; i < extra; i++) {
    const name = pick(['X-A', 'Accept', 'User-Agent', 'X_B', 'X(B)', 'X B', '', 'Cookie', 'X-\u00e9']);
    const value = pick(['a', 'a b', ' padded ', 'tab\there', 'ctl\u0001x', 'high\u00e9', 'del\u007f', '', 'q=1, r=2']);
    const colon = next() < 0.05 ? pick([' :', ':\t', '::']) : ':';
    headers.push(`${name}${colon}${value}`);
    if (next() < 0.03) headers.push(` folded continuation`);
  }
  const body = pick(['', 'hello', 'x'.repeat(37), '{"a":1}']);
  const framing = pick(['none', 'length', 'length', 'chunked', 'chunked', 'both', 'dup-length', 'bad-length', 'te-odd', 'te-twice']);
  let payload = '';
  const chunked = () => {
    const sizeText = (n: number) => pick([n.toString(16), n.toString(16).toUpperCase(), `0${n.toString(16)}`, `${n.toString(16)};ext=1`, `${n.toString(16)} `, 'fffffffffffffffff']);
    const parts = body ? [body.slice(0, Math.ceil(body.length / 2)), body.slice(Math.ceil(body.length / 2))].filter(Boolean) : [];
    let out = parts.map((p) => `${sizeText(p.length)}${eol()}${p}\r\n`).join('');
    out += `0${eol()}`;
    if (next() < 0.1) out += `X-Trailer: t\r\n`;
    return out + '\r\n';
  };
  switch (framing) {
    case 'length':
      headers.push(`Content-Length: ${body.length}`);
      payload = body;
      break;
    case 'chunked':
      headers.push(`Transfer-Encoding: ${pick(['chunked', 'chunked', 'Chunked', 'gzip, chunked', ' chunked'])}`);
      payload = chunked();
      break;
    case 'both':
      headers.push(`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked');
      payload = chunked();
      break;
    case 'dup-length':
      headers.push(`Content-Length: ${body.length}`, `Content-Length: ${pick([body.length, body.length + 1])}`);
      payload = body;
      break;
    case 'bad-length':
      headers.push(`Content-Length: ${pick([`+${body.length}`, `${body.length} 1`, '-1', `0x${body.length.toString(16)}`, `${body.length},${body.length}`])}`);
      payload = body;
      break;
    case 'te-odd':
      headers.push(`Transfer-Encoding: ${pick(['gzip', 'chunked, gzip', 'identity', 'chunked;q=1'])}`);
      payload = chunked();
      break;
    case 'te-twice':
      headers.push('Transfer-Encoding: chunked', 'Transfer-Encoding: chunked');
      payload = chunked();
      break;
  }
  for (const h of headers) head += `${h}${eol()}`;
  return Buffer.from(`${head}\r\n${payload}`, 'latin1');
}

/**
 * The Connection family: a well-formed request whose Connection lists one or two of every kind of field (framing,
 * hop-by-hop, end-to-end), with each framing, and a body that is itself a request (what a dropped length smuggles).
 */
export function generateConnectionRequest(next: () => number): Buffer {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)];
  const body = pick(['', 'hello', 'GET /smuggled HTTP/1.1\r\nHost: smug\r\n\r\n']);
  const headers = [`Host: ${pick(['a', 'example.test'])}`, `Connection: ${pick(CONNECTION_VALUES)}${next() < 0.4 ? `, ${pick(CONNECTION_VALUES)}` : ''}`, ...(next() < 0.5 ? ['X-A: 1', 'Accept: */*'] : [])];
  const framing = pick(['none', 'length', 'chunked']);
  if (framing === 'length') headers.push(`Content-Length: ${body.length}`);
  if (framing === 'chunked') headers.push('Transfer-Encoding: chunked');
  const payload = framing === 'length' ? body : framing === 'chunked' ? `${body ? `${body.length.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n` : '';
  const ordered = next() < 0.5 ? headers : [...headers].reverse();
  return Buffer.from(`${pick(['GET', 'POST', 'PUT'])} /c HTTP/1.1\r\n${ordered.map((h) => `${h}\r\n`).join('')}\r\n${payload}`, 'latin1');
}

export interface Framing {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: string;
}

export type Verdict = { accepted: true; framing: Framing; head?: RequestHead } | { accepted: false; reason: string };

/** ferry's parser on a whole request: what it would forward, or why it refuses. */
export function ferryVerdict(bytes: Buffer): Verdict {
  let head: RequestHead | undefined;
  const body: Buffer[] = [];
  let ended = false;
  const parser = new RequestParser({ onHead: (h) => (head = h), onBody: (c) => body.push(Buffer.from(c)), onEnd: () => (ended = true) });
  try {
    // Fed in two pieces, at a point the generator did not choose: the parser must not depend on where reads split.
    const cut = Math.floor(bytes.length / 3);
    parser.push(bytes.subarray(0, cut));
    parser.push(bytes.subarray(cut));
  } catch (error) {
    return { accepted: false, reason: error instanceof RequestParseError ? error.reason : String(error) };
  }
  if (!head || !ended) return { accepted: false, reason: 'incomplete' };
  return { accepted: true, head, framing: { method: head.method, target: head.target, version: head.version, headers: head.headers, body: Buffer.concat(body).toString('latin1') } };
}

/**
 * What the router sends the upstream for an accepted request: its forwarded head, then the body as the proxy
 * frames it (the same bytes for a length, one chunk and the last chunk for chunked).
 */
export function forwardedBytes(head: RequestHead, body: string): Buffer {
  const text = upstreamRequestHead(head, { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', localPort: 80 }, 'http');
  const framed = head.body.kind === 'chunked' ? `${body ? `${body.length.toString(16)}\r\n${body}\r\n` : ''}0\r\n\r\n` : head.body.kind === 'length' ? body : '';
  return Buffer.from(text + framed, 'latin1');
}

/** Node's http server (llhttp), on a loopback socket: what it handed the application, or that it refused. */
export async function startNodeOracle(): Promise<{ verdict: (bytes: Buffer) => Promise<Verdict>; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Array<[string, string]> = [];
      for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
      const framing: Framing = { method: req.method ?? '', target: req.url ?? '', version: req.httpVersion, headers, body: Buffer.concat(chunks).toString('latin1') };
      // In a header, not the body: a HEAD request's answer has none.
      res.writeHead(200, { connection: 'close', 'x-framing': Buffer.from(JSON.stringify(framing)).toString('base64') }).end();
    });
  });
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => socket.end(`HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n${error.code ?? 'error'}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const verdict = (bytes: Buffer) =>
    new Promise<Verdict>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
      const chunks: Buffer[] = [];
      socket.on('data', (c) => chunks.push(c));
      socket.on('error', () => undefined);
      socket.on('close', () => {
        const text = Buffer.concat(chunks).toString('latin1');
        const split = text.indexOf('\r\n\r\n');
        const framing = /\r\nx-framing: ([A-Za-z0-9+/=]+)\r\n/i.exec(text)?.[1];
        if (text.startsWith('HTTP/1.1 200') && framing) return resolve({ accepted: true, framing: JSON.parse(Buffer.from(framing, 'base64').toString('utf8')) as Framing });
        resolve({ accepted: false, reason: split === -1 ? 'closed' : text.slice(split + 4) || text.split('\r\n')[0] });
      });
    });
  return { verdict, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export type Comparison = 'agree' | 'ferry stricter' | 'ferry looser' | 'framing differs' | 'upstream reads another request';

export function compare(ferry: Verdict, node: Verdict): Comparison {
  if (!ferry.accepted) return node.accepted ? 'ferry stricter' : 'agree';
  if (!node.accepted) return 'ferry looser';
  return JSON.stringify(ferry.framing) === JSON.stringify(node.framing) ? 'agree' : 'framing differs';
}

/** Runs `count` generated cases, and `connectionCases` of the Connection family, through both parsers, `concurrency` at a time. */
export async function differential(count: number, seed: number, connectionCases = 0, concurrency = 32) {
  const next = random(seed);
  const oracle = await startNodeOracle();
  const tally: Record<Comparison, number> = { agree: 0, 'ferry stricter': 0, 'ferry looser': 0, 'framing differs': 0, 'upstream reads another request': 0 };
  /** Accepted requests whose forwarded bytes the upstream (llhttp) read: as one request of the same method, target and body, or not. */
  const forwarded = { checked: 0, withConnection: 0 };
  const stricter = new Map<string, { count: number; example: string; node: string }>();
  const bad: Array<{ comparison: Comparison; request: string; ferry: Verdict; node: Verdict }> = [];
  const cases = [...Array.from({ length: count }, () => generateRequest(next)), ...Array.from({ length: connectionCases }, () => generateConnectionRequest(next))];
  try {
    for (let i = 0; i < cases.length; i += concurrency) {
      await Promise.all(
        cases.slice(i, i + concurrency).map(async (bytes) => {
          const [ferry, node] = [ferryVerdict(bytes), await oracle.verdict(bytes)];
          let comparison = compare(ferry, node);
          if (comparison === 'agree' && ferry.accepted && ferry.head) {
            // The upstream must read exactly what ferry read: a body that turns into a request is smuggling.
            const upstream = await oracle.verdict(forwardedBytes(ferry.head, ferry.framing.body));
            forwarded.checked++;
            if (ferry.head.headers.some(([name]) => name.toLowerCase() === 'connection')) forwarded.withConnection++;
            const same = upstream.accepted && upstream.framing.method === ferry.framing.method && upstream.framing.target === ferry.framing.target && upstream.framing.body === ferry.framing.body;
            if (!same) comparison = 'upstream reads another request';
          }
          tally[comparison]++;
          if (comparison === 'ferry stricter') {
            const key = (ferry as { reason: string }).reason.replace(/"[^"]*"/g, '"…"');
            const entry = stricter.get(key) ?? { count: 0, example: bytes.toString('latin1'), node: JSON.stringify((node as { framing: Framing }).framing).slice(0, 120) };
            entry.count++;
            stricter.set(key, entry);
          } else if (comparison !== 'agree' && bad.length < 20) bad.push({ comparison, request: bytes.toString('latin1'), ferry, node });
        }),
      );
    }
  } finally {
    await oracle.close();
  }
  return { tally, stricter, bad, forwarded };
}
