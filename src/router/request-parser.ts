/**
 * A strict, incremental HTTP/1.1 request parser: the request head (request line and header fields), then a
 * body framed by Content-Length or chunked transfer coding. It refuses, rather than guesses, whatever could be
 * read two ways by two parsers (request smuggling): bare LF, obs-fold, whitespace before a colon, duplicate or
 * malformed Content-Length, Content-Length with Transfer-Encoding, a Transfer-Encoding that does not end in
 * chunked, oversized chunk sizes. Its verdicts are checked against Node's own parser (llhttp) by the
 * differential test and `npm run bench:parser`; where it is stricter, docs/request-parser.md says so.
 */

export interface RequestHead {
  method: string;
  target: string;
  version: '1.0' | '1.1';
  /** Field names and values as sent (values trimmed of surrounding whitespace), in order. */
  headers: Array<[string, string]>;
  body: { kind: 'none' } | { kind: 'length'; length: number } | { kind: 'chunked' };
  keepAlive: boolean;
  expectContinue: boolean;
  upgrade: boolean;
}

export class RequestParseError extends Error {
  constructor(
    readonly reason: string,
    /** The status to answer with: 400, 431 (head too large), 505 (version). An unknown transfer coding is 400, as Node's server answers it. */
    readonly status: 400 | 431 | 505 = 400,
  ) {
    super(reason);
  }
}

export interface RequestParserEvents {
  onHead(head: RequestHead): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
}

/** RFC 9110 tchar: the characters of a method or a field name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** The methods llhttp knows and that make sense to proxy (others are refused, as Node does). */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'SEARCH', 'REPORT', 'MKACTIVITY', 'CHECKOUT', 'MERGE', 'M-SEARCH', 'NOTIFY', 'SUBSCRIBE', 'UNSUBSCRIBE', 'PURGE', 'MKCALENDAR', 'LINK', 'UNLINK', 'SOURCE', 'QUERY']);
/** A request target: visible ASCII, no whitespace (origin-form, absolute-form, authority-form or `*`). */
const TARGET = /^[\x21-\x7e]+$/;
/** A field value: visible ASCII, obs-text, space and tab; no other control characters. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const CHUNK_SIZE = /^([0-9A-Fa-f]{1,15})(;[\t\x20-\x7e\x80-\xff]*)?$/;

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailers' | 'done';

export class RequestParser {
  private state: State = 'head';
  private pending: Buffer | null = null;
  private remaining = 0;

  constructor(private readonly events: RequestParserEvents, private readonly maxHeadBytes = 16 * 1024) {}

  get done(): boolean {
    return this.state === 'done';
  }

  /** Ready for the next request on the same connection. */
  reset(): void {
    this.state = 'head';
    this.pending = null;
    this.remaining = 0;
  }

  /** Feeds bytes; throws RequestParseError on a request it refuses. Bytes after the message end are returned (a pipelined request). */
  push(chunk: Buffer): Buffer {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    while (data.length > 0 && this.state !== 'done') {
      const rest = this.step(data);
      if (rest === null) return Buffer.alloc(0);
      data = rest;
    }
    return data;
  }

  /** One step of the state machine; null when it needs more bytes (kept in `pending`). */
  private step(data: Buffer): Buffer | null {
    switch (this.state) {
      case 'head': {
        const end = data.indexOf('\r\n\r\n');
        if (end === -1) {
          if (data.length > this.maxHeadBytes) throw new RequestParseError(`request head over ${this.maxHeadBytes} bytes`, 431);
          // A head with a bare CR or LF never ends in CRLF CRLF: refused now, not after the head timeout.
          if (hasBareCrOrLf(data)) throw new RequestParseError('a bare CR or LF in the request head');
          this.pending = data;
          return null;
        }
        if (end + 4 > this.maxHeadBytes) throw new RequestParseError(`request head over ${this.maxHeadBytes} bytes`, 431);
        const head = parseHead(data.toString('latin1', 0, end));
        this.events.onHead(head);
        if (head.body.kind === 'none') return this.finish(data.subarray(end + 4));
        if (head.body.kind === 'length') {
          this.remaining = head.body.length;
          this.state = this.remaining === 0 ? 'done' : 'length';
          if (this.state === 'done') this.events.onEnd();
        } else this.state = 'chunk-size';
        return data.subarray(end + 4);
      }
      case 'length': {
        const take = Math.min(this.remaining, data.length);
        this.events.onBody(data.subarray(0, take));
        this.remaining -= take;
        if (this.remaining === 0) return this.finish(data.subarray(take));
        return data.subarray(take);
      }
      case 'chunk-size': {
        const line = this.line(data, 1024);
        if (line === null) return null;
        const match = CHUNK_SIZE.exec(line.text);
        if (!match) throw new RequestParseError(`invalid chunk size line ${JSON.stringify(line.text.slice(0, 40))}`);
        this.remaining = parseInt(match[1], 16);
        this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
        return line.rest;
      }
      case 'chunk-data': {
        const take = Math.min(this.remaining, data.length);
        this.events.onBody(data.subarray(0, take));
        this.remaining -= take;
        if (this.remaining === 0) this.state = 'chunk-data-end';
        return data.subarray(take);
      }
      case 'chunk-data-end': {
        if (data.length < 2) {
          this.pending = data;
          return null;
        }
        if (data[0] !== 0x0d || data[1] !== 0x0a) throw new RequestParseError('chunk data not followed by CRLF');
        this.state = 'chunk-size';
        return data.subarray(2);
      }
      case 'trailers': {
        const line = this.line(data, this.maxHeadBytes);
        if (line === null) return null;
        if (line.text === '') return this.finish(line.rest);
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+:/.test(line.text)) throw new RequestParseError('invalid trailer field');
        return line.rest;
      }
      default:
        return data;
    }
  }

  private finish(rest: Buffer): Buffer {
    this.state = 'done';
    this.events.onEnd();
    return rest;
  }

  /** A CRLF-terminated line, or null (bytes kept) when it has not all arrived. A bare LF is refused. */
  private line(data: Buffer, max: number): { text: string; rest: Buffer } | null {
    const end = data.indexOf('\r\n');
    const lf = data.indexOf(0x0a);
    if (lf !== -1 && (end === -1 || lf < end + 1)) {
      if (lf === 0 || data[lf - 1] !== 0x0d) throw new RequestParseError('a bare LF where CRLF must end a line');
    }
    if (end === -1) {
      if (data.length > max) throw new RequestParseError('line too long');
      this.pending = data;
      return null;
    }
    return { text: data.toString('latin1', 0, end), rest: data.subarray(end + 2) };
  }
}

/** Names of the fields the parser looks at; only names of these lengths are lowercased. */
const NOTED_LENGTHS = new Set(['content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'host'].map((name) => name.length));
/** Fields that say where a request ends or where it goes: never hop-by-hop, whatever Connection says. */
const FRAMING_FIELDS = new Set(['content-length', 'transfer-encoding', 'host']);

/** A CR not followed by LF, or an LF not preceded by CR. */
const BARE_CR_OR_LF = /\r(?!\n)|(?<!\r)\n/;

/** The same, on a head still arriving: a CR at its very end may yet be followed by its LF. */
function hasBareCrOrLf(data: Buffer): boolean {
  return BARE_CR_OR_LF.test(data.toString('latin1', 0, data[data.length - 1] === 0x0d ? data.length - 1 : data.length));
}

function isBlank(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

function parseHead(text: string): RequestHead {
  if (BARE_CR_OR_LF.test(text)) throw new RequestParseError('a bare CR or LF in the request head');
  let lineEnd = text.indexOf('\r\n');
  if (lineEnd < 0) lineEnd = text.length;
  const firstSpace = text.indexOf(' ');
  const secondSpace = firstSpace < 0 ? -1 : text.indexOf(' ', firstSpace + 1);
  const thirdSpace = secondSpace < 0 ? -1 : text.indexOf(' ', secondSpace + 1);
  if (secondSpace < 0 || secondSpace >= lineEnd || (thirdSpace >= 0 && thirdSpace < lineEnd)) {
    throw new RequestParseError('the request line is not method SP target SP version');
  }
  const method = text.slice(0, firstSpace);
  const target = text.slice(firstSpace + 1, secondSpace);
  const versionText = text.slice(secondSpace + 1, lineEnd);
  if (!METHODS.has(method)) throw new RequestParseError(`unknown method ${JSON.stringify(method.slice(0, 20))}`);
  if (!TARGET.test(target)) throw new RequestParseError('invalid request target');
  const minor = versionText === 'HTTP/1.1' ? '1' : versionText === 'HTTP/1.0' ? '0' : undefined;
  if (!minor) throw new RequestParseError(`unsupported version ${JSON.stringify(versionText.slice(0, 20))}`, /^HTTP\/\d\.\d$/.test(versionText) ? 505 : 400);
  const headers: Array<[string, string]> = [];
  let contentLength: number | undefined;
  let transferEncoding: string | undefined;
  let connection = '';
  let expect = '';
  let upgrade = false;
  let hosts = 0;
  for (let line = lineEnd + 2; line < text.length; ) {
    let eol = text.indexOf('\r\n', line);
    if (eol < 0) eol = text.length;
    if (isBlank(text.charCodeAt(line))) throw new RequestParseError('obs-fold (a header line starting with whitespace)');
    const colon = text.indexOf(':', line);
    if (colon <= line || colon >= eol) throw new RequestParseError('a header line without a name and colon');
    const name = text.slice(line, colon);
    if (!TOKEN.test(name)) throw new RequestParseError(`invalid header name ${JSON.stringify(name.slice(0, 40))}`);
    let from = colon + 1;
    let to = eol;
    while (from < to && isBlank(text.charCodeAt(from))) from++;
    while (to > from && isBlank(text.charCodeAt(to - 1))) to--;
    const value = text.slice(from, to);
    if (!FIELD_VALUE.test(value)) throw new RequestParseError(`a control character in the value of ${name}`);
    headers.push([name, value]);
    line = eol + 2;
    if (!NOTED_LENGTHS.has(name.length)) continue;
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      if (contentLength !== undefined) throw new RequestParseError('more than one Content-Length');
      if (!/^\d{1,15}$/.test(value)) throw new RequestParseError('Content-Length is not a number');
      contentLength = Number(value);
    } else if (lower === 'transfer-encoding') {
      if (transferEncoding !== undefined) throw new RequestParseError('more than one Transfer-Encoding');
      transferEncoding = value;
    } else if (lower === 'connection') connection += `,${value.toLowerCase()}`;
    else if (lower === 'expect') expect = value.toLowerCase();
    else if (lower === 'upgrade') upgrade = true;
    else if (lower === 'host') hosts++;
  }
  // RFC 9112 3.2: an HTTP/1.1 request names exactly one Host (Node's server refuses one without, too).
  if (minor === '1' && hosts !== 1) throw new RequestParseError(hosts ? 'more than one Host header' : 'an HTTP/1.1 request without a Host header');
  let body: RequestHead['body'] = { kind: 'none' };
  if (transferEncoding !== undefined) {
    if (contentLength !== undefined) throw new RequestParseError('both Content-Length and Transfer-Encoding');
    const codings = transferEncoding.split(',').map((c) => c.trim().toLowerCase());
    if (codings.at(-1) !== 'chunked' || codings.slice(0, -1).includes('chunked')) throw new RequestParseError(`Transfer-Encoding ${JSON.stringify(transferEncoding.slice(0, 40))} does not end in chunked (once)`);
    if (minor === '0') throw new RequestParseError('Transfer-Encoding in an HTTP/1.0 request');
    body = { kind: 'chunked' };
  } else if (contentLength !== undefined && contentLength > 0) body = { kind: 'length', length: contentLength };
  const tokens = connection === '' ? [] : connection.split(',').map((t) => t.trim());
  // A field Connection names is dropped on the way to the upstream; dropping one that frames the request would
  // let the upstream read its body as a second request the router never saw (request smuggling). Refused, as
  // the strictest servers do.
  const framingField = tokens.find((token) => FRAMING_FIELDS.has(token));
  if (framingField) throw new RequestParseError(`Connection names ${JSON.stringify(framingField)}, a field that frames the request`);
  const keepAlive = minor === '1' ? !tokens.includes('close') : tokens.includes('keep-alive');
  return { method, target, version: minor === '1' ? '1.1' : '1.0', headers, body, keepAlive, expectContinue: expect === '100-continue', upgrade: upgrade && tokens.includes('upgrade') };
}
