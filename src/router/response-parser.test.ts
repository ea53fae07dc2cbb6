import { describe, expect, it } from 'vitest';
import { ResponseParser, type ResponseHead } from './response-parser.js';

function parse(chunks: string[], noBody = false, passChunks = false) {
  let head: ResponseHead | undefined;
  const body: string[] = [];
  let ended = false;
  const parser = new ResponseParser({ onHead: (h) => (head = h), onBody: (c) => body.push(c.toString()), onEnd: () => (ended = true) }, noBody, passChunks);
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  return { head, body: body.join(''), ended, parser };
}

describe('ResponseParser', () => {
  it('parses a content-length response split anywhere', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world';
    for (let cut = 1; cut < text.length; cut += 7) {
      const { head, body, ended } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(head).toMatchObject({ status: 200, statusMessage: 'OK', contentLength: 11, keepAlive: true, headerText: 'Content-Type: text/plain\r\nContent-Length: 11\r\n' });
      expect(body).toBe('hello world');
      expect(ended).toBe(true);
    }
  });

  it('decodes chunked bodies and drops transfer-encoding', () => {
    const { head, body, ended } = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Trailer\r\n\r\n5\r\nhel', 'lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n']);
    expect(head?.headerText).toBe('');
    expect(head?.contentLength).toBeUndefined();
    expect(body).toBe('hello world');
    expect(ended).toBe(true);
  });

  it('passes chunks on as they came, split anywhere, trailers included', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 99\r\nTrailer: X-Trailer\r\nX-A: 1\r\n\r\n5;x=y\r\nhello\r\n6 \r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n';
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    for (let cut = 1; cut < text.length; cut += 3) {
      const result = parse([text.slice(0, cut), text.slice(cut)], false, true);
      expect(result.head).toMatchObject({ headerText: 'Trailer: X-Trailer\r\nX-A: 1\r\n', chunksPassed: true, contentLength: undefined });
      expect(result.body).toBe(body);
      expect(result.ended).toBe(true);
    }
  });

  it('refuses chunk framing that could be read two ways', () => {
    const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
    for (const [passChunks, body] of [
      [true, '5\nhello\r\n0\r\n\r\n'],
      [true, '5x\r\nhello\r\n0\r\n\r\n'],
      [false, '5\r\nhelloXX0\r\n\r\n'],
      [true, '10000000000000\r\n'],
      [true, '0\r\nbad trailer\r\n\r\n'],
      [true, '5;a=\x01\r\nhello\r\n0\r\n\r\n'],
    ] as const) {
      expect(() => parse([head + body], false, passChunks), JSON.stringify(body)).toThrow();
    }
    expect(() => parse(['HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'])).toThrow(/Content-Length/);
    expect(() => parse(['HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n'])).toThrow(/Content-Length/);
  });

  it('drops the hop-by-hop fields and those Connection names, and keeps the rest as sent', () => {
    const { head } = parse(['HTTP/1.1 201 Created\r\nKeep-Alive: timeout=5\r\nX-Secret: s\r\nConnection: keep-alive, X-Secret\r\nset-cookie:  a=1 \r\nTE: x\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n']);
    expect(head).toMatchObject({ status: 201, statusMessage: 'Created', keepAlive: true, contentLength: 0, headerText: 'set-cookie:  a=1 \r\nContent-Length: 0\r\n' });
  });

  it('knows responses without a body: HEAD, 204, 304', () => {
    expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n'], true).ended).toBe(true);
    expect(parse(['HTTP/1.1 204 No Content\r\n\r\n']).ended).toBe(true);
    expect(parse(['HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n']).ended).toBe(true);
  });

  it('skips 100 Continue and reads the final response', () => {
    expect(parse(['HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok']).head?.status).toBe(201);
  });

  it('reads an unframed body until the connection closes, and honours Connection: close', () => {
    const { head, parser, body } = parse(['HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nabc', 'def']);
    expect(head?.keepAlive).toBe(false);
    expect(parser.untilClose).toBe(true);
    expect(parser.close()).toBe(true);
    expect(body).toBe('abcdef');
  });

  it('rejects a malformed status line, and a close in the middle of a body is not an end', () => {
    expect(() => parse(['SMTP ready\r\n\r\n'])).toThrow(/malformed status line/);
    expect(parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc']).parser.close()).toBe(false);
  });
});
