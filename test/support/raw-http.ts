import net from 'node:net';

/** What came back on one raw connection: the bytes as text (latin1), and whether the server closed it. */
export interface RawReply {
  text: string;
  closed: boolean;
}

/**
 * Sends exact bytes to a loopback port and collects what comes back until `done(text)` says enough, the
 * server closes, or timeoutMs passes. For what a well-behaved client cannot send: smuggling attempts,
 * pipelined requests, slow heads.
 */
export function rawRequest(port: number, bytes: string | Buffer | Array<string | Buffer>, options: { done?: (text: string) => boolean; timeoutMs?: number; gapMs?: number; /** End the sending side after the bytes (a half-close). */ halfClose?: boolean } = {}): Promise<RawReply> {
  const parts = Array.isArray(bytes) ? bytes : [bytes];
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    let settled = false;
    const finish = (closed: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed });
    };
    const timer = setTimeout(() => finish(false), options.timeoutMs ?? 5000);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (options.done?.(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', async () => {
      for (const [index, part] of parts.entries()) {
        if (index > 0 && options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
        if (!socket.destroyed) socket.write(part);
      }
      if (options.halfClose && !socket.destroyed) socket.end();
    });
  });
}

/** The status codes of the responses in a raw reply, in order (bodies here never hold a status line). */
export function statuses(text: string): number[] {
  return [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
}

/** Whole responses in a raw reply framed by Content-Length: [head, body] pairs. */
export function responses(text: string): Array<{ status: number; head: string; body: string }> {
  const out: Array<{ status: number; head: string; body: string }> = [];
  let rest = text;
  while (rest.startsWith('HTTP/1.1 ')) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) break;
    const head = rest.slice(0, end);
    const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
    out.push({ status: Number(head.slice(9, 12)), head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
  return out;
}

/** A chunked body taken apart: its data and its trailer section. Chunk boundaries carry no meaning (a proxy may re-chunk), so they are not returned. */
export function dechunk(body: string): { data: string; trailers: string } {
  let data = '';
  let at = 0;
  for (;;) {
    const lineEnd = body.indexOf('\r\n', at);
    if (lineEnd < 0) throw new Error(`chunked body ends inside a size line at ${at}: ${JSON.stringify(body.slice(at))}`);
    const size = parseInt(body.slice(at, lineEnd).split(';')[0], 16);
    if (Number.isNaN(size)) throw new Error(`bad chunk size line at ${at}: ${JSON.stringify(body.slice(at, lineEnd))}`);
    at = lineEnd + 2;
    if (size === 0) return { data, trailers: body.slice(at) };
    data += body.slice(at, at + size);
    if (body.slice(at + size, at + size + 2) !== '\r\n') throw new Error(`chunk of ${size} bytes at ${at} is not followed by CRLF`);
    at += size + 2;
  }
}
