import { describe, expect, it } from 'vitest';
import { differential } from './request-fuzz.js';
import { RequestParseError, RequestParser, type RequestHead } from './request-parser.js';

/** The refusals docs/request-parser.md explains: where ferry is stricter than Node's llhttp. */
const DOCUMENTED_STRICTER = ['unsupported version "…"', 'Transfer-Encoding in an HTTP/1.0 request', 'the request line is not method SP target SP version', 'Connection names "…", a field that frames the request'];

function parse(text: string, split = 0) {
  const heads: RequestHead[] = [];
  const body: Buffer[] = [];
  let ends = 0;
  const parser = new RequestParser({ onHead: (h) => heads.push(h), onBody: (c) => body.push(Buffer.from(c)), onEnd: () => ends++ });
  const bytes = Buffer.from(text, 'latin1');
  let rest: Buffer;
  if (split) {
    rest = Buffer.alloc(0);
    for (let i = 0; i < bytes.length; i += split) rest = parser.push(bytes.subarray(i, i + split));
  } else rest = parser.push(bytes);
  return { head: heads[0], body: Buffer.concat(body).toString('latin1'), ends, rest: rest.toString('latin1') };
}
const refusal = (text: string) => {
  try {
    parse(text);
  } catch (error) {
    return error instanceof RequestParseError ? { reason: error.reason, status: error.status } : { reason: String(error), status: 0 };
  }
  return undefined;
};

describe('the request parser', () => {
  it('frames bodies by Content-Length and by chunks, byte by byte as well as whole, and hands back a pipelined request', () => {
    const chunked = 'POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /next HTTP/1.1\r\nHost: a\r\n\r\n';
    for (const split of [0, 1, 3, 7]) {
      const result = parse(chunked, split);
      expect(result.head).toMatchObject({ method: 'POST', target: '/up', version: '1.1', body: { kind: 'chunked' }, keepAlive: true });
      expect(result.body).toBe('hello world');
      expect(result.ends).toBe(1);
      if (!split) expect(result.rest).toBe('GET /next HTTP/1.1\r\nHost: a\r\n\r\n');
    }
    expect(parse('PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabc').head).toMatchObject({ body: { kind: 'length', length: 3 }, expectContinue: true });
    expect(parse('GET / HTTP/1.0\r\n\r\n').head).toMatchObject({ version: '1.0', keepAlive: false });
    expect(parse('GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n').head).toMatchObject({ upgrade: true });
  });

  it('refuses what could be read two ways: CL+TE, TE+CL, two lengths, an unknown coding, obs-fold, bare LF, a huge chunk', () => {
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toMatchObject({ reason: 'both Content-Length and Transfer-Encoding', status: 400 });
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n')).toMatchObject({ reason: 'both Content-Length and Transfer-Encoding' });
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc')).toMatchObject({ reason: 'more than one Content-Length' });
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n')).toMatchObject({ status: 400 });
    expect(refusal('GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n')).toMatchObject({ reason: 'obs-fold (a header line starting with whitespace)' });
    expect(refusal('GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n')).toMatchObject({ reason: 'a bare CR or LF in the request head' });
    // Before the head is complete: a bare LF (or CR) means it never will be.
    expect(() => new RequestParser({ onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined }).push(Buffer.from('GET / HTTP/1.1\nHost: a\n'))).toThrow('a bare CR or LF in the request head');
    expect(() => new RequestParser({ onHead: () => undefined, onBody: () => undefined, onEnd: () => undefined }).push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r'))).not.toThrow();
    expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n')).toMatchObject({ reason: expect.stringContaining('invalid chunk size') });
    expect(refusal('GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')).toMatchObject({ reason: 'more than one Host header' });
    expect(refusal(`GET / HTTP/1.1\r\nHost: a\r\nX: ${'x'.repeat(20_000)}\r\n\r\n`)).toMatchObject({ status: 431 });
  });

  it("agrees with Node's own parser (llhttp) on accept or refuse and on the framing of 3,000 generated requests and 1,000 whose Connection names every kind of field; where it refuses more, the reason is documented; the upstream reads the forwarded bytes as the same one request", async () => {
    const { tally, stricter, bad, forwarded } = await differential(3000, 20261127, 1000);
    console.log(`request parser differential: ${JSON.stringify(tally)}; forwarded bytes read back by llhttp: ${forwarded.checked} (${forwarded.withConnection} with a Connection header); stricter: ${[...stricter].map(([reason, { count }]) => `${reason} ×${count}`).join('; ')}`);
    expect(bad).toEqual([]);
    expect(tally['upstream reads another request']).toBe(0);
    expect(forwarded.withConnection).toBeGreaterThan(500);
    expect(stricter.get('Connection names "…", a field that frames the request')?.count).toBeGreaterThan(50);
    expect(tally['ferry looser']).toBe(0);
    expect(tally['framing differs']).toBe(0);
    expect(tally.agree).toBeGreaterThan(3500);
    for (const reason of stricter.keys()) expect(DOCUMENTED_STRICTER, reason).toContain(reason);
  });
});
