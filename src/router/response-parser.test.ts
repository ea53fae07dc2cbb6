import { describe, expect, it } from 'vitest';
import { ResponseParser, type ResponseHead } from './response-parser.js';

function parse(chunks: string[], noBody = false) {
  let head: ResponseHead | undefined;
  const body: string[] = [];
  let ended = false;
  const parser = new ResponseParser({ onHead: (h) => (head = h), onBody: (c) => body.push(c.toString()), onEnd: () => (ended = true) }, noBody);
  for (const chunk of chunks) parser.push(Buffer.from(chunk));
  return { head, body: body.join(''), ended, parser };
}

describe('ResponseParser', () => {
  it('parses a content-length response split anywhere', () => {
    const text = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: keep-alive\r\n\r\nhello world';
    for (let cut = 1; cut < text.length; cut += 7) {
      const { head, body, ended } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(head).toMatchObject({ status: 200, statusMessage: 'OK', contentLength: 11, keepAlive: true, headers: ['Content-Type', 'text/plain', 'Content-Length', '11'] });
      expect(body).toBe('hello world');
      expect(ended).toBe(true);
    }
  });

  it('decodes chunked bodies and drops transfer-encoding', () => {
    const { head, body, ended } = parse(['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel', 'lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n']);
    expect(head?.headers).toEqual([]);
    expect(head?.contentLength).toBeUndefined();
    expect(body).toBe('hello world');
    expect(ended).toBe(true);
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
