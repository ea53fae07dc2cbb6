// A small Redis client (RESP2 over one connection): enough for a cache, without a dependency. Commands wait in
// order for their replies; a command that gets none within timeoutMs fails and the connection starts again.
import net from 'node:net';

export class Redis {
  constructor(url, { timeoutMs = 1000 } = {}) {
    const parsed = new URL(url);
    this.host = parsed.hostname || '127.0.0.1';
    this.port = Number(parsed.port || 6379);
    this.password = parsed.password ? decodeURIComponent(parsed.password) : undefined;
    this.db = Number(parsed.pathname.slice(1) || 0);
    this.timeoutMs = timeoutMs;
    this.socket = undefined;
    this.pending = [];
    this.buffer = Buffer.alloc(0);
  }

  /** Sends a command (an array of words) and resolves with its reply; a Redis error rejects. */
  command(words) {
    if (!this.socket) this.connect();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => this.reset(new Error(`redis did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.pending.push({ resolve: (v) => (clearTimeout(timer), resolve(v)), reject: (e) => (clearTimeout(timer), reject(e)) });
      this.socket.write(`*${words.length}\r\n${words.map((w) => `$${Buffer.byteLength(String(w))}\r\n${w}\r\n`).join('')}`);
    });
  }

  connect() {
    this.socket = net.connect(this.port, this.host);
    this.socket.on('data', (chunk) => this.read(chunk));
    this.socket.on('error', (error) => this.reset(error));
    this.socket.on('close', () => this.reset(new Error('redis closed the connection')));
    // AUTH and SELECT go first, ahead of whatever was asked.
    const setup = [...(this.password ? [['AUTH', this.password]] : []), ...(this.db ? [['SELECT', this.db]] : [])];
    for (const words of setup) this.command(words).catch(() => undefined);
  }

  reset(error) {
    const pending = this.pending;
    this.pending = [];
    this.buffer = Buffer.alloc(0);
    this.socket?.destroy();
    this.socket = undefined;
    for (const waiter of pending) waiter.reject(error);
  }

  read(chunk) {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const parsed = parse(this.buffer, 0);
      if (!parsed) return;
      this.buffer = this.buffer.subarray(parsed.end);
      const waiter = this.pending.shift();
      if (parsed.value instanceof Error) waiter?.reject(parsed.value);
      else waiter?.resolve(parsed.value);
    }
  }

  close() {
    this.socket?.end();
    this.socket = undefined;
  }
}

/** One RESP2 reply from offset, or undefined when more bytes are needed. */
function parse(buffer, offset) {
  const lineEnd = buffer.indexOf('\r\n', offset);
  if (lineEnd < 0) return undefined;
  const type = String.fromCharCode(buffer[offset]);
  const line = buffer.toString('utf8', offset + 1, lineEnd);
  const next = lineEnd + 2;
  if (type === '+') return { value: line, end: next };
  if (type === '-') return { value: new Error(line), end: next };
  if (type === ':') return { value: Number(line), end: next };
  if (type === '$') {
    const length = Number(line);
    if (length < 0) return { value: null, end: next };
    if (buffer.length < next + length + 2) return undefined;
    return { value: buffer.toString('utf8', next, next + length), end: next + length + 2 };
  }
  if (type === '*') {
    const count = Number(line);
    const values = [];
    let at = next;
    for (let i = 0; i < count; i++) {
      const item = parse(buffer, at);
      if (!item) return undefined;
      values.push(item.value);
      at = item.end;
    }
    return { value: count < 0 ? null : values, end: at };
  }
  return { value: new Error(`unexpected reply from redis: ${line}`), end: next };
}
