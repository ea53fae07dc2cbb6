/**
 * An incremental HTTP/1.1 response parser for the router's upstream connections: status line and
 * headers, then a body framed by content-length, chunked encoding, or the end of the connection.
 * Node's own http client costs ~4x more CPU per request than this on the hot path (see bench:router).
 */
export interface ResponseHead {
  status: number;
  statusMessage: string;
  /** Flat [name, value, name, value, ...], hop-by-hop and framing headers removed. */
  headers: string[];
  contentLength: number | undefined;
  /** False when the upstream asked to close the connection after this response. */
  keepAlive: boolean;
}

export interface ParserEvents {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  onEnd(): void;
  /** A `100 Continue` before the real head (the upstream asks for the body of an `Expect: 100-continue` request). */
  onContinue?(): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
const CRLF = Buffer.from('\r\n');
const HEAD_END = Buffer.from('\r\n\r\n');
const DROPPED = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'trailer', 'upgrade']);

type State = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailers' | 'until-close' | 'done';

export class ResponseParser {
  private state: State = 'head';
  private pending: Buffer | null = null;
  private remaining = 0;

  /** noBody: the request was HEAD, so the response has no body whatever its headers say. */
  constructor(private readonly events: ParserEvents, private readonly noBody: boolean) {}

  /** The response head has been parsed (the upstream answered). */
  get headSeen(): boolean {
    return this.state !== 'head';
  }

  get done(): boolean {
    return this.state === 'done';
  }

  /** True when the body runs until the connection closes (no framing). */
  get untilClose(): boolean {
    return this.state === 'until-close';
  }

  /** Feeds bytes; throws on a malformed response. */
  push(chunk: Buffer): void {
    let data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    while (data.length > 0 && this.state !== 'done') {
      const rest = this.step(data);
      if (rest === null) return;
      data = rest;
    }
  }

  /** The connection closed: fine only when the body was delimited by it. */
  close(): boolean {
    if (this.state === 'until-close') {
      this.state = 'done';
      this.events.onEnd();
      return true;
    }
    return this.state === 'done';
  }

  /** Consumes from data; returns what is left, or null when more bytes are needed (kept in pending). */
  private step(data: Buffer): Buffer | null {
    switch (this.state) {
      case 'head':
        return this.parseHead(data);
      case 'fixed':
      case 'chunk-data': {
        const take = Math.min(this.remaining, data.length);
        this.events.onBody(take === data.length ? data : data.subarray(0, take));
        this.remaining -= take;
        if (this.remaining === 0) this.finishPart();
        return data.subarray(take);
      }
      case 'until-close':
        this.events.onBody(data);
        return Buffer.alloc(0);
      case 'chunk-size': {
        const eol = data.indexOf(CRLF);
        if (eol < 0) return this.wait(data);
        const size = parseInt(data.toString('latin1', 0, eol).split(';')[0].trim(), 16);
        if (Number.isNaN(size)) throw new Error('malformed chunk size');
        this.remaining = size;
        this.state = size === 0 ? 'trailers' : 'chunk-data';
        return data.subarray(eol + 2);
      }
      case 'chunk-data-end':
        if (data.length < 2) return this.wait(data);
        this.state = 'chunk-size';
        return data.subarray(2);
      case 'trailers': {
        const eol = data.indexOf(CRLF);
        if (eol < 0) return this.wait(data);
        if (eol === 0) this.end();
        return data.subarray(eol + 2);
      }
      default:
        return Buffer.alloc(0);
    }
  }

  private wait(data: Buffer): null {
    // A copy: what was pushed may be a read buffer that is reused.
    this.pending = Buffer.from(data);
    return null;
  }

  private finishPart(): void {
    if (this.state === 'fixed') this.end();
    else this.state = 'chunk-data-end';
  }

  private end(): void {
    this.state = 'done';
    this.events.onEnd();
  }

  private parseHead(data: Buffer): Buffer | null {
    const end = data.indexOf(HEAD_END);
    if (end < 0) {
      if (data.length > MAX_HEAD_BYTES) throw new Error('response head too large');
      return this.wait(data);
    }
    const lines = data.toString('latin1', 0, end).split('\r\n');
    const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0]);
    if (!statusLine) throw new Error(`malformed status line ${JSON.stringify(lines[0].slice(0, 40))}`);
    const status = Number(statusLine[2]);
    if (status >= 100 && status < 200) {
      // 100 Continue and friends: the real head follows.
      if (status === 100) this.events.onContinue?.();
      return data.subarray(end + 4);
    }
    const headers: string[] = [];
    let contentLength: number | undefined;
    let chunked = false;
    let keepAlive = statusLine[1] === '1';
    let named: string[] | undefined;
    for (let i = 1; i < lines.length; i++) {
      const colon = lines[i].indexOf(':');
      if (colon <= 0) continue;
      const name = lines[i].slice(0, colon);
      const value = lines[i].slice(colon + 1).trim();
      const lower = name.toLowerCase();
      if (lower === 'content-length') contentLength = Number(value);
      else if (lower === 'transfer-encoding') chunked = value.toLowerCase().includes('chunked');
      else if (lower === 'connection') {
        keepAlive = statusLine[1] === '1' ? !/close/i.test(value) : /keep-alive/i.test(value);
        named = (named ?? []).concat(value.toLowerCase().split(',').map((token) => token.trim()));
      }
      if (!DROPPED.has(lower)) headers.push(name, value);
    }
    // Chunked framing wins over a Content-Length (RFC 9112 6.3), and the fields Connection names are hop-by-hop.
    if (chunked || named) {
      for (let i = headers.length - 2; i >= 0; i -= 2) {
        const lower = headers[i].toLowerCase();
        if ((chunked && lower === 'content-length') || named?.includes(lower)) headers.splice(i, 2);
      }
    }
    this.events.onHead({ status, statusMessage: statusLine[3] ?? '', headers, contentLength: chunked ? undefined : contentLength, keepAlive });
    if (this.noBody || status === 204 || status === 304) this.end();
    else if (chunked) this.state = 'chunk-size';
    else if (contentLength !== undefined) {
      this.remaining = contentLength;
      this.state = 'fixed';
      if (contentLength === 0) this.end();
    } else {
      this.state = 'until-close';
    }
    return data.subarray(end + 4);
  }
}
