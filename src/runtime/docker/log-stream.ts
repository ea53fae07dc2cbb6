import type Docker from 'dockerode';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import type { LogLine } from '../runtime.js';

/**
 * Splits Docker's multiplexed log stream (containers without a TTY): frames of an 8-byte header
 * (stream type, 3 zero bytes, big-endian length) followed by the payload.
 */
export function demuxDockerLogs(buffer: Buffer): string {
  let out = '';
  let offset = 0;
  while (offset + 8 <= buffer.length) {
    const length = buffer.readUInt32BE(offset + 4);
    out += buffer.toString('utf8', offset + 8, Math.min(buffer.length, offset + 8 + length));
    offset += 8 + length;
  }
  return offset === 0 && buffer.length > 0 ? buffer.toString('utf8') : out;
}

/** A line the engine gave with `timestamps: true` ("2026-11-27T09:22:42.123456789Z text"): its text and its time, to the millisecond. */
export function timestampedLine(line: string): LogLine {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z (.*)$/s.exec(line);
  if (!match) return { text: line, at: null };
  const at = new Date(`${match[1]}${(match[2] ?? '.000').slice(0, 4).padEnd(4, '0')}Z`);
  return { text: match[3], at: Number.isNaN(at.getTime()) ? null : at.toISOString() };
}

/** Log lines of a multiplexed buffer read with `timestamps: true`, without the empty line after the last newline. */
export function logLines(buffer: Buffer): LogLine[] {
  const lines = demuxDockerLogs(buffer).split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.map(timestampedLine);
}

/** Reads a followed log stream of the engine (multiplexed, with timestamps) line by line until it ends or the signal aborts. */
export async function followEngineLogs(docker: Docker, stream: NodeJS.ReadableStream, signal: AbortSignal, onLine: (line: LogLine) => void): Promise<void> {
  const lines = new PassThrough();
  const stop = () => (stream as unknown as { destroy?: () => void }).destroy?.();
  signal.addEventListener('abort', stop, { once: true });
  docker.modem.demuxStream(stream, lines, lines);
  stream.on('end', () => lines.end());
  stream.on('close', () => lines.end());
  stream.on('error', () => lines.end());
  try {
    for await (const line of createInterface({ input: lines, crlfDelay: Infinity })) onLine(timestampedLine(line));
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

/** "512m" → bytes. */
export function parseMemoryBytes(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const match = /^(\d+(?:\.\d+)?)([kmg]?)$/i.exec(text);
  if (!match) return undefined;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match[2].toLowerCase() as '' | 'k' | 'm' | 'g'];
  return Math.round(Number(match[1]) * unit);
}
