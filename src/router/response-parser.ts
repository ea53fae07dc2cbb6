/**
 * An incremental HTTP/1.1 response parser for the router's upstream connections: status line and
 * headers, then a body framed by content-length, chunked encoding, or the end of the connection.
 *
 * It works on offsets into what it is given (no slice per step) and hands the header lines on as text,
 * minus the hop-by-hop ones, so the client's head is the upstream's with a new status line. A chunked body
 * goes to a client that speaks HTTP/1.1 as it came (`passChunks`): the parser checks each chunk-size line,
 * chunk end and trailer strictly, so the bytes it passes on are framed the one way it read them.
 */
export interface ResponseHead {
  status: number;
  statusMessage: string;
  /** The header lines to pass on, each ending in CRLF: hop-by-hop and framing fields removed. */
  headerText: string;
  contentLength: number | undefined;
  /** The body is chunked and its bytes are passed on as they came, chunk framing and trailers included. */
  chunksPassed: boolean;
  /** False when the upstream asked to close the connection after this response. */
  keepAlive: boolean;
}

export interface ParserEvents {
  onHead(head: ResponseHead): void;
  /** Body bytes: valid during the call only (they may be a read buffer that is reused). */
  onBody(chunk: Buffer): void;
  onEnd(): void;
  /** A `100 Continue` before the real head (the upstream asks for the body of an `Expect: 100-continue` request). */
  onContinue?(): void;
}

const MAX_HEAD_BYTES = 64 * 1024;
/** A chunk-size line or a trailer line longer than this is refused. */
const MAX_LINE_BYTES = 4096;
const HEAD_END = Buffer.from('\r\n\r\n');
const CR = 0x0d;
const LF = 0x0a;
/** Only names of these lengths are lowercased and looked at: the hop-by-hop fields, Content-Length and Trailer. */
const NOTED_LENGTHS = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'te', 'upgrade', 'content-length', 'trailer'].map((name) => name.length));
/** Connection tokens that name no field to drop (both directions). */
export const CONNECTION_OPTIONS = new Set(['close', 'keep-alive', 'upgrade']);

type State = 'head' | 'fixed' | 'chunk-size' | 'chunk-data' | 'chunk-data-end' | 'trailers' | 'until-close' | 'done';

export class ResponseParser {
  private state: State = 'head';
  private pending: Buffer | null = null;
  private remaining = 0;
  private passing = false;

  /**
   * noBody: the request was HEAD, so the response has no body whatever its headers say.
   * passChunks: a chunked body is passed on as it came (the client reads chunked); otherwise it is decoded.
   */
  constructor(private readonly events: ParserEvents, private readonly noBody: boolean, private readonly passChunks = false) {}

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
    let data = chunk;
    if (this.pending) {
      data = Buffer.concat([this.pending, chunk]);
      this.pending = null;
    }
    const length = data.length;
    let at = 0;
    // Passing chunks on: the start of the bytes read but not yet handed on.
    let from = this.passing ? 0 : -1;
    while (at < length && this.state !== 'done') {
      switch (this.state) {
        case 'head': {
          const next = this.parseHead(data, at);
          if (next < 0) return;
          at = next;
          if (this.passing) from = at;
          break;
        }
        case 'fixed':
        case 'chunk-data': {
          const take = Math.min(this.remaining, length - at);
          if (!this.passing) this.events.onBody(at === 0 && take === length ? data : data.subarray(at, at + take));
          at += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            if (this.state === 'fixed') this.end();
            else this.state = 'chunk-data-end';
          }
          break;
        }
        case 'chunk-data-end':
          if (length - at < 2) return this.wait(data, at, from);
          if (data[at] !== CR || data[at + 1] !== LF) throw new Error('chunk data not followed by CRLF');
          at += 2;
          this.state = 'chunk-size';
          break;
        case 'chunk-size': {
          const eol = lineEnd(data, at);
          if (eol < 0) return this.wait(data, at, from);
          this.remaining = chunkSize(data, at, eol);
          this.state = this.remaining === 0 ? 'trailers' : 'chunk-data';
          at = eol + 2;
          break;
        }
        case 'trailers': {
          const eol = lineEnd(data, at);
          if (eol < 0) return this.wait(data, at, from);
          const last = eol === at;
          if (!last) checkTrailer(data, at, eol);
          at = eol + 2;
          if (last) {
            this.hand(data, from, at);
            from = -1;
            this.end();
          }
          break;
        }
        case 'until-close':
          this.events.onBody(at === 0 ? data : data.subarray(at));
          at = length;
          break;
        default:
          at = length;
      }
    }
    if (from >= 0) this.hand(data, from, at);
  }

  /** The connection closed: fine only when the body was delimited by it. */
  close(): boolean {
    if (this.state === 'until-close') {
      this.end();
      return true;
    }
    return this.state === 'done';
  }

  /** Passes on the bytes read in [from, to) of a chunked body. */
  private hand(data: Buffer, from: number, to: number): void {
    if (from >= 0 && to > from) this.events.onBody(from === 0 && to === data.length ? data : data.subarray(from, to));
  }

  /** Needs more bytes: what is read up to `at` is handed on; the rest is kept (a copy: the buffer may be reused). */
  private wait(data: Buffer, at: number, from: number): void {
    if (from >= 0) this.hand(data, from, at);
    this.pending = Buffer.from(data.subarray(at));
  }

  private end(): void {
    this.state = 'done';
    this.events.onEnd();
  }

  /** The head at `at`: returns the offset after it, or -1 when it has not all arrived (kept in pending). */
  private parseHead(data: Buffer, at: number): number {
    const end = data.indexOf(HEAD_END, at);
    if (end < 0) {
      if (data.length - at > MAX_HEAD_BYTES) throw new Error('response head too large');
      this.wait(data, at, -1);
      return -1;
    }
    const text = data.toString('latin1', at, end);
    const firstEnd = text.indexOf('\r\n');
    const statusLine = firstEnd < 0 ? text : text.slice(0, firstEnd);
    const minor = statusLineVersion(statusLine);
    const status = minor < 0 ? NaN : Number(statusLine.slice(9, 12));
    if (!(status >= 100)) throw new Error(`malformed status line ${JSON.stringify(statusLine.slice(0, 40))}`);
    if (status < 200) {
      // 100 Continue and friends: the real head follows.
      if (status === 100) this.events.onContinue?.();
      return end + 4;
    }
    let contentLength: number | undefined;
    let chunked = false;
    let keepAlive = minor === 1;
    let named: string[] | undefined;
    /** [start, end) of the lines not passed on, in `text`. */
    const dropped: number[] = [];
    const contentLengthLines: number[] = [];
    const trailerLines: number[] = [];
    const start = firstEnd < 0 ? text.length : firstEnd + 2;
    for (let line = start; line < text.length; ) {
      let eol = text.indexOf('\r\n', line);
      if (eol < 0) eol = text.length;
      const colon = text.indexOf(':', line);
      if (colon <= line || colon > eol) {
        // Not a field line: not passed on.
        dropped.push(line, eol + 2);
      } else if (NOTED_LENGTHS.has(colon - line)) {
        const lower = text.slice(line, colon).toLowerCase();
        switch (lower) {
          case 'content-length': {
            const value = text.slice(colon + 1, eol).trim();
            if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) throw new Error(`invalid Content-Length ${JSON.stringify(value.slice(0, 20))}`);
            contentLength = Number(value);
            contentLengthLines.push(line, eol + 2);
            break;
          }
          case 'trailer':
            trailerLines.push(line, eol + 2);
            break;
          case 'transfer-encoding':
            dropped.push(line, eol + 2);
            chunked = text.slice(colon + 1, eol).toLowerCase().includes('chunked');
            break;
          case 'connection': {
            dropped.push(line, eol + 2);
            const value = text.slice(colon + 1, eol).toLowerCase();
            keepAlive = minor === 1 ? !value.includes('close') : value.includes('keep-alive');
            for (const token of value.split(',')) {
              const option = token.trim();
              if (option && !CONNECTION_OPTIONS.has(option)) (named ??= []).push(option);
            }
            break;
          }
          case 'keep-alive':
          case 'proxy-connection':
          case 'te':
          case 'upgrade':
            dropped.push(line, eol + 2);
        }
      }
      line = eol + 2;
    }
    // Chunked framing wins over a Content-Length (RFC 9112 6.3), and the fields Connection names are hop-by-hop.
    if (chunked) dropped.push(...contentLengthLines);
    if (named) {
      // Dropping Content-Length or Transfer-Encoding would leave the client to guess where this response ends.
      const framing = named.find((option) => option === 'content-length' || option === 'transfer-encoding');
      if (framing) throw new Error(`Connection names ${framing}, a field that frames the response`);
      dropNamed(text, start, named, dropped);
    }
    const chunksPassed = chunked && this.passChunks && !this.noBody && status !== 204 && status !== 304;
    if (!chunksPassed) dropped.push(...trailerLines);
    this.events.onHead({
      status,
      statusMessage: statusLine.length > 13 ? statusLine.slice(13) : '',
      headerText: keptLines(text, start, dropped),
      contentLength: chunked ? undefined : contentLength,
      chunksPassed,
      keepAlive,
    });
    if (this.noBody || status === 204 || status === 304) this.end();
    else if (chunked) {
      this.state = 'chunk-size';
      this.passing = this.passChunks;
    } else if (contentLength !== undefined) {
      this.remaining = contentLength;
      this.state = 'fixed';
      if (contentLength === 0) this.end();
    } else {
      this.state = 'until-close';
    }
    return end + 4;
  }
}

/** The minor version of `HTTP/1.x NNN[ reason]` (0 or 1), or -1 for anything else. */
function statusLineVersion(line: string): number {
  if (line.length < 12 || !line.startsWith('HTTP/1.') || line[8] !== ' ' || (line.length > 12 && line[12] !== ' ')) return -1;
  for (let i = 9; i < 12; i++) {
    const code = line.charCodeAt(i);
    if (code < 0x30 || code > 0x39) return -1;
  }
  const minor = line.charCodeAt(7) - 0x30;
  return minor === 0 || minor === 1 ? minor : -1;
}

/** The offset of the CRLF ending the line at `at`, or -1 when it has not arrived (a line too long, or a bare LF, is refused). */
function lineEnd(data: Buffer, at: number): number {
  const lf = data.indexOf(LF, at);
  if (lf < 0) {
    if (data.length - at > MAX_LINE_BYTES) throw new Error('chunk framing line too long');
    return -1;
  }
  if (lf === at || data[lf - 1] !== CR) throw new Error('a bare LF in the chunk framing');
  if (lf - at > MAX_LINE_BYTES) throw new Error('chunk framing line too long');
  return lf - 1;
}

/** A chunk-size line: up to 13 hex digits (exact in a double), then optionally whitespace and extensions (`;name[=value]`, visible characters). */
function chunkSize(data: Buffer, at: number, eol: number): number {
  let size = 0;
  let i = at;
  for (; i < eol && i - at < 13; i++) {
    const c = data[i];
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) break;
    size = size * 16 + digit;
  }
  if (i === at) throw new Error('malformed chunk size');
  for (; i < eol && (data[i] === 0x20 || data[i] === 0x09); i++);
  if (i < eol && data[i] !== 0x3b) throw new Error('malformed chunk size');
  for (; i < eol; i++) if (data[i] < 0x20 && data[i] !== 0x09) throw new Error('a control character in a chunk extension');
  return size;
}

/** A trailer field line: a token, a colon, a value without control characters. */
function checkTrailer(data: Buffer, at: number, eol: number): void {
  const colon = data.indexOf(0x3a, at);
  if (colon <= at || colon > eol) throw new Error('a malformed trailer field');
  for (let i = at; i < eol; i++) if (data[i] < 0x20 && data[i] !== 0x09) throw new Error('a control character in a trailer field');
}

/** Adds the lines whose field names Connection lists (rare: most responses name none). */
function dropNamed(text: string, start: number, named: string[], dropped: number[]): void {
  for (let line = start; line < text.length; ) {
    let eol = text.indexOf('\r\n', line);
    if (eol < 0) eol = text.length;
    const colon = text.indexOf(':', line);
    if (colon > line && colon < eol && named.includes(text.slice(line, colon).toLowerCase())) dropped.push(line, eol + 2);
    line = eol + 2;
  }
}

/** The header lines from `start` without the dropped ranges, each ending in CRLF. */
function keptLines(text: string, start: number, dropped: number[]): string {
  if (dropped.length === 0) return start < text.length ? `${text.slice(start)}\r\n` : '';
  const ranges: Array<[number, number]> = [];
  let sorted = true;
  for (let i = 0; i < dropped.length; i += 2) {
    ranges.push([dropped[i], dropped[i + 1]]);
    if (i > 0 && dropped[i] < dropped[i - 2]) sorted = false;
  }
  if (!sorted) ranges.sort((a, b) => a[0] - b[0]);
  let kept = '';
  let from = start;
  for (const [dropStart, dropEnd] of ranges) {
    if (dropStart > from) kept += text.slice(from, dropStart);
    from = Math.max(from, dropEnd);
  }
  if (from < text.length) kept += `${text.slice(from)}\r\n`;
  return kept;
}
